"""The one error a scenario file can raise: every problem as `file: field.path: reason`."""

from __future__ import annotations

from pathlib import Path


class ScenarioError(Exception):
    """A scenario file that cannot be used; `problems` holds (field path, message) pairs."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.path}: {field}: {message}" if field else f"{self.path}: {message}"
            for field, message in self.problems
        ]
