"""Which sandbox a drill may fail nodes of. Pure."""

from __future__ import annotations

from campus.errors import CampusError
from campus.fleet.model import Fleet


def drill_sandbox(fleet: Fleet, override: str | None = None) -> str:
    """The sandbox named on the command line, else the fleet's own; a fleet on a real
    cluster is refused: a drill fails nodes on purpose."""
    target = override or fleet.cluster.sandbox
    if not target:
        where = f"context {fleet.cluster.context}" if fleet.cluster.context else "a cluster"
        raise CampusError(
            f"{fleet.source} deploys to {where}, not a sandbox: a drill fails nodes on "
            "purpose, so it runs only on a sandbox (give --sandbox NAME to drill a copy)"
        )
    return target
