"""The node-failure and zone-failure drills on a sandbox: fail one node (the busiest, or
the one named) or every node of a zone at once, sample every service's ready replicas
each second until the fleet is whole again, restore the nodes, report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lightkube import Client

from campus.drill.availability import DrillReport, analyse, busiest_node
from campus.drill.sampler import DrillError, FleetView, pods_per_node
from campus.drill.scenario import Moments, Progress, Scenario, run_scenario
from campus.fleet.model import Environment
from campus.labels import ZONE
from campus.sandbox import cluster

__all__ = ["DrillError", "run_node_failure"]


class NodeFailure(Scenario):
    """Stop the heartbeats of one or more nodes at once: their machines are gone. The real
    node controller marks them NotReady after the grace period, taints them and evicts
    their pods after the toleration; Deployments replace the pods elsewhere."""

    def __init__(
        self, sandbox: str, node: str | None = None, zone: str | None = None, restore: bool = True
    ) -> None:
        self.sandbox = sandbox
        self.wanted = node
        self.zone = zone
        self.restore = restore
        self.nodes: list[str] = []
        self.pods_on_nodes = 0

    def prepare(self, client: Client, before: FleetView, progress: Progress) -> None:
        per_node = pods_per_node(before)
        if self.zone is not None:
            zones = {
                n["metadata"]["name"]: n["metadata"].get("labels", {}).get(ZONE)
                for n in before.nodes
            }
            self.nodes = sorted(
                n for n, z in zones.items() if z == self.zone and n in before.ready_nodes
            )
            if not self.nodes:
                known = ", ".join(sorted({z for z in zones.values() if z}))
                raise DrillError(
                    f"zone {self.zone!r} has no Ready node in sandbox {self.sandbox}; "
                    f"zones: {known}"
                )
            if set(self.nodes) >= before.ready_nodes:
                raise DrillError(
                    f"every Ready node of sandbox {self.sandbox} is in zone {self.zone}: "
                    "losing it loses everything"
                )
        elif self.wanted is None:
            self.nodes = [busiest_node(per_node)]
        elif self.wanted not in before.ready_nodes:
            known = ", ".join(sorted(before.ready_nodes))
            raise DrillError(
                f"node {self.wanted!r} is not a Ready node of sandbox {self.sandbox}; "
                f"Ready: {known}"
            )
        else:
            self.nodes = [self.wanted]
        if len(before.ready_nodes) < 2:
            raise DrillError(
                f"sandbox {self.sandbox} has one Ready node: losing it loses everything"
            )
        self.pods_on_nodes = sum(per_node.get(node, 0) for node in self.nodes)

    def act(self, client: Client, moments: Moments, progress: Progress) -> None:
        what = f"zone {self.zone} ({', '.join(self.nodes)})" if self.zone else self.nodes[0]
        progress(f"failing {what} ({self.pods_on_nodes} fleet pods)")
        for node in self.nodes:
            cluster.fail_node(self.sandbox, node)
        moments.mark("failed")

    def dead_nodes(self) -> set[str]:
        return set(self.nodes)

    def noticed(self, view: FleetView) -> bool:
        return not set(self.nodes) <= view.ready_nodes

    def awaits_notice(self) -> bool:
        return self.pods_on_nodes > 0

    def undo(self, client: Client, progress: Progress) -> None:
        if self.restore:
            for node in self.nodes:
                progress(f"restoring {node}")
                cluster.restore_node(self.sandbox, node)


def run_node_failure(
    sandbox: str,
    environments: Sequence[Environment],
    node: str | None = None,
    timeout: float = 300,
    interval: float = 1.0,
    restore: bool = True,
    progress: Progress = lambda message: None,
    zone: str | None = None,
) -> DrillReport:
    """Fail `node` (default: the busiest), or with `zone` every node of that zone."""
    client = cluster.client_for(sandbox, timeout=30)
    scenario = NodeFailure(sandbox, node=node, zone=zone, restore=restore)
    run = run_scenario(client, environments, scenario, timeout, interval, progress)
    report = analyse(
        scenario.nodes[0],
        scenario.pods_on_nodes,
        run.samples,
        run.desired,
        run.production,
        run.unschedulable,
        run.moments,
        run.facts,
    )
    if zone is None:
        return report
    return replace(report, zone=zone, nodes=list(scenario.nodes))
