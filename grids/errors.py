"""Typed errors of the grid package: each one says what the user must change.

All of them subclass ``GridError`` and ``ValueError``: a pydantic validator that calls into this
package turns them into a validation error with the message intact, and a caller that already
guards bad input with ``except ValueError`` keeps working.
"""

from __future__ import annotations


class GridError(ValueError):
    """Base class of every error raised for bad grid input."""


class UnknownGridError(GridError):
    """The grid name (or SimBench code) is not one ``build_grid`` knows."""


class GridParameterError(GridError):
    """A grid builder was given a parameter it does not accept, or a value out of range."""


class InvalidBusError(GridError):
    """A bus id given by the user does not exist in the net or is out of service."""


class UnsupportedGridError(GridError):
    """The net holds an element the fast power-flow backend cannot model (use backend="pandapower")."""


class ProfileError(GridError):
    """Base-load / PV profiles cannot be built from the given start, step or net."""


class PowerFlowInputError(GridError):
    """Arrays passed to ``PowerFlow.solve`` do not match the net's element counts."""
