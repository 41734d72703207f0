"""The node-rotation drill on a sandbox: what an OS upgrade or a node group's image update
does, one node at a time. For each node: add a replacement of the same size and zone,
cordon and drain the old node through the Eviction API (PodDisruptionBudgets honoured),
wait until the fleet is whole again, delete the old node."""

from __future__ import annotations

import time
from collections.abc import Sequence

from lightkube import Client

from campus.drill.drain import DrainRefused, drain
from campus.drill.drain_plan import StuckBudget
from campus.drill.rotation import RotatedNode, RotationReport, analyse_rotation
from campus.drill.sampler import (
    DrillError,
    FleetView,
    desired_replicas,
    read_fleet,
    serving,
    short_of,
)
from campus.drill.scenario import Moments, Progress, Scenario, run_scenario
from campus.fleet.model import Environment
from campus.kube.drain import uncordon
from campus.sandbox import cluster


class NodeRotation(Scenario):
    def __init__(
        self,
        sandbox: str,
        environments: Sequence[Environment],
        nodes: Sequence[str] = (),
        node_timeout: float = 300,
    ) -> None:
        self.sandbox = sandbox
        self.environments = list(environments)
        self.wanted = list(nodes)
        self.node_timeout = node_timeout
        self.planned: list[str] = []
        self.rotated: list[RotatedNode] = []
        self.stuck: list[StuckBudget] = []
        self.refusals: list[str] = []
        self.blocked_evictions = 0
        self._left_cordoned: list[str] = []

    def prepare(self, client: Client, before: FleetView, progress: Progress) -> None:
        unknown = [n for n in self.wanted if n not in before.ready_nodes]
        if unknown:
            known = ", ".join(sorted(before.ready_nodes))
            raise DrillError(
                f"not a Ready node of sandbox {self.sandbox}: {', '.join(unknown)}; Ready: {known}"
            )
        self.planned = self.wanted or sorted(before.ready_nodes)

    def act(self, client: Client, moments: Moments, progress: Progress) -> None:
        for old in self.planned:
            if moments.stop.is_set():
                return
            started = time.monotonic()
            replacement = cluster.add_node(self.sandbox, like=old)
            moments.mark(f"{replacement} added")
            progress(f"added {replacement} to replace {old}; draining {old}")
            try:
                result = drain(
                    client,
                    old,
                    self.environments,
                    timeout=self.node_timeout,
                    progress=progress,
                    stop=moments.stop.is_set,
                )
            except DrainRefused as refused:
                self.refusals += refused.plan.refusals
                moments.mark(f"{old} drain refused")
                return
            moments.mark(f"{old} drained")
            self.blocked_evictions += result.blocked_evictions
            if not result.complete:
                self.stuck += result.stuck
                self._left_cordoned.append(old)
                self.rotated.append(
                    RotatedNode(old, replacement, len(result.evicted), result.seconds, False)
                )
                return
            self._wait_whole(client, moments, progress)
            cluster.delete_node(self.sandbox, old)
            moments.mark(f"{old} deleted")
            self.rotated.append(
                RotatedNode(old, replacement, len(result.evicted), time.monotonic() - started, True)
            )

    def _wait_whole(self, client: Client, moments: Moments, progress: Progress) -> None:
        """Every evicted pod rescheduled and Ready before the old node goes."""
        namespaces = {e.namespace for e in self.environments}
        deadline = time.monotonic() + self.node_timeout
        while not moments.stop.is_set() and time.monotonic() < deadline:
            view = read_fleet(client, namespaces)
            desired = desired_replicas(view, self.environments)
            if not short_of(serving(view, self.environments, set()), desired):
                return
            time.sleep(1)

    def undo(self, client: Client, progress: Progress) -> None:
        """A node whose drain stopped is uncordoned: the sandbox keeps serving from it."""
        for node in self._left_cordoned:
            progress(f"uncordoning {node}: its drain could not finish")
            uncordon(client, node)


def run_node_rotation(
    sandbox: str,
    environments: Sequence[Environment],
    nodes: Sequence[str] = (),
    timeout: float = 900,
    node_timeout: float = 300,
    interval: float = 1.0,
    progress: Progress = lambda message: None,
) -> RotationReport:
    client = cluster.client_for(sandbox, timeout=30)
    scenario = NodeRotation(sandbox, environments, nodes, node_timeout)
    run = run_scenario(client, environments, scenario, timeout, interval, progress)
    return analyse_rotation(
        scenario.planned,
        scenario.rotated,
        run.samples,
        run.desired,
        run.production,
        run.moments,
        scenario.blocked_evictions,
        scenario.stuck,
        scenario.refusals,
        run.unschedulable,
        run.facts,
    )
