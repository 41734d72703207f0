"""What a failed deploy leaves behind and how to get out of it, in words for the operator.
Pure: built from what the engine recorded, no cluster access.

The honest answer depends on whether a revision was serving before: on an upgrade the
phases stop before the applications switch, so the previous revision keeps serving; on a
first install nothing serves yet and the namespace holds whatever was applied so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from campus.deploy.phases import Phase
from campus.kube.objects import ObjectKey

# Once these phases have started, the applications run what this deploy applied.
_SWITCHED = frozenset({Phase.APPLICATIONS.value, Phase.AVAILABILITY.value})


def left_behind(applied: Sequence[ObjectKey]) -> str:
    """'1 Namespace, 4 Secrets, 2 Jobs': what was applied, counted by kind, in apply order."""
    counts = Counter(key.kind for key in applied)
    return ", ".join(f"{count} {_plural(kind, count)}" for kind, count in counts.items())


def _plural(kind: str, count: int) -> str:
    if count == 1:
        return kind
    if kind.endswith("y"):
        return kind[:-1] + "ies"  # NetworkPolicies
    return kind + ("es" if kind.endswith("s") else "s")  # Ingresses, Secrets


def failure_advice(
    environment: str,
    namespace: str,
    *,
    history_read: bool,
    previous_revision: int | None,
    failed_phase: str,
    applied: Sequence[ObjectKey],
) -> list[str]:
    """Lines saying what serves now, what this deploy left in the namespace, how to retry."""
    retry = f"Fix the cause and run `campus deploy {environment}` again"
    if not applied:
        return [f"This deploy changed nothing in namespace {namespace}. {retry}."]
    lines: list[str] = []
    if history_read and previous_revision is None:
        lines.append(
            f"This was the first install of {environment}: no earlier revision serves, "
            "and no revision was recorded."
        )
    elif previous_revision is not None and failed_phase in _SWITCHED:
        lines.append(
            f"The applications were switching from revision {previous_revision}: its pods "
            "that are Ready keep serving until the new ones are Ready (rolling update); "
            f"`campus rollback {environment} {previous_revision}` returns to it."
        )
    elif previous_revision is not None:
        lines.append(
            f"Revision {previous_revision} of {environment} keeps serving: the applications "
            "were not switched."
        )
    lines.append(f"Applied by this deploy in namespace {namespace}: {left_behind(applied)}.")
    if history_read and previous_revision is None:
        lines.append(
            f"{retry}: it applies the same objects and skips the init jobs that completed. "
            f"To remove everything instead, volumes included: "
            f"`campus destroy {environment} --delete-data`."
        )
    else:
        lines.append(f"{retry}.")
    return lines
