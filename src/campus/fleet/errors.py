"""Fleet-file errors that say where: file, line, column and the dotted key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from campus.errors import CampusError


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    key: str
    message: str

    def render(self, path: Path) -> str:
        """One line, whatever the key or message holds (a key may be "\r")."""
        where = f"{path}:{self.line}:{self.column}" if self.line else str(path)
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class FleetFileError(CampusError):
    """One or more problems in a fleet file, each with its position."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problem.render(path) for problem in problems))


class FleetWarning(UserWarning):
    """Something the fleet file sets that campus deliberately overrides: said, not refused."""
