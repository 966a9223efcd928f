"""Typed errors of signal generation and signal files; each says what the user must fix."""

from __future__ import annotations

from pathlib import Path


class SignalConfigError(ValueError):
    """Bad signal parameters in a scenario (unknown kind or source, unknown/invalid parameter).

    Attributes:
        field: Where the problem is, as a dotted path (e.g. "frequency.events[0].kind").
        problem: What is wrong and how to fix it.
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class SignalFileError(ValueError):
    """A signal CSV file that cannot be used.

    Attributes:
        path: The file.
        problem: What is wrong with it (with line numbers where they help).
    """

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
