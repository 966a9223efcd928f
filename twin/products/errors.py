"""The error a product rule raises when it is used with values it does not define."""

from __future__ import annotations


class ProductRuleError(ValueError):
    """A product key or value a product's rules do not define.

    Attributes:
        field: The parameter that is wrong (e.g. "product").
        problem: What is wrong and what is allowed.
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)
