"""The sandbox's nodes as a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from campus.sandbox.cluster import NodeState


def nodes_view(states: Sequence[NodeState]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("NODE", "ZONE", "STATUS", "HEARTBEAT", "PODS"):
        table.add_column(column)
    for node in states:
        table.add_row(
            node.name,
            node.zone,
            "Ready" if node.ready else "NotReady",
            "kubelet (real node)"
            if node.real
            else "simulated"
            if node.simulated
            else "stopped (failed)",
            str(node.pods),
        )
    return table
