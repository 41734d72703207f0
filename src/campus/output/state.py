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
