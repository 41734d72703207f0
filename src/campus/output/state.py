"""How `campus secrets list` shows an environment's Tutor settings: names and ages only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

from campus.output.tables import console, print_structured
from campus.render.model import RenderedEnvironment
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


@dataclass(frozen=True)
class StateOrigin:
    """Which Tutor state an environment was rendered from, as a command says it."""

    environment: str
    origin: str  # "new (first install: no cluster at hand: ...)"
    unasked: str = ""  # why the cluster was not asked; "" when it was
    alone: str = ""  # `origin` less `unasked`: "new (first install)"


def of_rendered(name: str, rendered: RenderedEnvironment) -> StateOrigin:
    return StateOrigin(name, rendered.state_origin, rendered.state_unasked, rendered.state_alone)


def state_report(origins: Sequence[StateOrigin]) -> tuple[str | None, dict[str, str]]:
    """What to say of the Tutor state each environment rendered from: one line for the
    whole command (None: none), and what is left to say of each environment ("": nothing).
    What every environment shares is said once: the whole origin, or why the cluster was
    not asked (it did not answer, say), then each origin without it."""
    if len(origins) > 1:
        count = len(origins)
        if len({o.origin for o in origins}) == 1:
            return f"Tutor state of all {count} environments: {origins[0].origin}", {
                o.environment: "" for o in origins
            }
        reasons = {o.unasked for o in origins}
        if len(reasons) == 1 and "" not in reasons:
            line = f"Tutor state of all {count} environments: {reasons.pop()}"
            return line, {o.environment: o.alone for o in origins}
    return None, {o.environment: o.origin for o in origins}


def state_lines(origins: Sequence[StateOrigin]) -> list[str]:
    """The line for the whole command, if any, then `name: Tutor state: origin` for what is
    left to say of each environment."""
    shared, each = state_report(origins)
    named = [f"{name}: Tutor state: {origin}" for name, origin in each.items() if origin]
    return ([shared] if shared else []) + named
