"""How `campus secrets list` shows an environment's Tutor settings: names and ages only."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from campus.output.tables import console, print_structured
from campus.state.rotation import SecretAge


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def print_secret_ages(environment: str, found: Sequence[SecretAge], output: str) -> None:
    if output != "table":
        rows = [{"name": a.name, "ageSeconds": a.seconds, "rotation": a.rotation} for a in found]
        print_structured({"environment": environment, "settings": rows}, output)
        return
    table = Table(title=f"Tutor state of {environment}")
    for column in ("NAME", "AGE", "ROTATE"):
        table.add_column(column, overflow="fold")
    for age in found:
        table.add_row(age.name, _age(age.seconds), age.rotation)
    console().print(table)


def shared_origin(origins: Sequence[str]) -> str | None:
    """The one Tutor state origin every environment of a command shares (say, no cluster at
    hand), so that it is said once rather than once per environment; None when they differ
    or there is one environment."""
    return origins[0] if len(origins) > 1 and len(set(origins)) == 1 else None


def shared_line(count: int, origin: str) -> str:
    return f"Tutor state of all {count} environments: {origin}"


def state_lines(named: Sequence[tuple[str, str]]) -> list[str]:
    """`name: Tutor state: origin` a line each, or one line for an origin all share."""
    shared = shared_origin([origin for _, origin in named])
    if shared is not None:
        return [shared_line(len(named), shared)]
    return [f"{name}: Tutor state: {origin}" for name, origin in named]
