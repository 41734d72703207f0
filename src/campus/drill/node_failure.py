"""The node-failure drill on a sandbox: fail a node, sample every environment's ready
replicas each second until the fleet is whole again, restore the node, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod

from campus.drill.availability import DrillReport, Sample, ServiceKey, analyse, busiest_node
from campus.errors import CampusError
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject, is_ready
from campus.kube.workloads import unschedulable
from campus.labels import NAME
from campus.sandbox import cluster


class DrillError(CampusError):
    pass


# How long pods may stay unschedulable after the eviction before the drill concludes
# that the remaining nodes lack room (the scheduler retries on every cluster change).
UNSCHEDULABLE_PATIENCE = 30.0


@dataclass(frozen=True)
class FleetView:
    """What one sample reads: the fleet's Deployments and pods, and the nodes."""

    deployments: list[KubeObject]
    pods: list[KubeObject]
    ready_nodes: set[str]


def read_fleet(client: Client, namespaces: set[str]) -> FleetView:
    """Three list calls, whatever the fleet's size."""
    deployments = [
        d.to_dict()
        for d in client.list(Deployment, namespace="*")
        if d.metadata and d.metadata.namespace in namespaces
    ]
    pods = [
        p.to_dict()
        for p in client.list(Pod, namespace="*")
        if p.metadata and p.metadata.namespace in namespaces
    ]
    ready_nodes = {
        n.metadata.name for n in client.list(Node) if n.metadata and is_ready(n.to_dict())
    }
    return FleetView(deployments, pods, {n for n in ready_nodes if n})


def _environment_of(environments: Sequence[Environment]) -> dict[str, str]:
    return {e.namespace: e.name for e in environments}


def desired_replicas(view: FleetView, environments: Sequence[Environment]) -> dict[ServiceKey, int]:
    by_namespace = _environment_of(environments)
    return {
        (by_namespace[d["metadata"]["namespace"]], d["metadata"]["name"]): d["spec"].get(
            "replicas", 1
        )
        for d in view.deployments
    }


def serving(
    view: FleetView, environments: Sequence[Environment], dead_nodes: set[str]
) -> dict[ServiceKey, int]:
    """Ready, not terminating pods per service, on nodes that are still alive."""
    by_namespace = _environment_of(environments)
    counts: dict[ServiceKey, int] = {}
    for pod in view.pods:
        metadata = pod["metadata"]
        service = (metadata.get("labels") or {}).get(NAME)
        node = pod.get("spec", {}).get("nodeName")
        if not service or not node or node in dead_nodes or metadata.get("deletionTimestamp"):
            continue
        if is_ready(pod):
            key = (by_namespace[metadata["namespace"]], service)
            counts[key] = counts.get(key, 0) + 1
    return counts


def _short_of(serving_now: dict[ServiceKey, int], desired: dict[ServiceKey, int]) -> list[str]:
    return [
        f"{environment}/{service} {serving_now.get((environment, service), 0)}/{count}"
        for (environment, service), count in sorted(desired.items())
        if serving_now.get((environment, service), 0) < count
    ]


def _unschedulable(view: FleetView, environments: Sequence[Environment]) -> list[str]:
    by_namespace = _environment_of(environments)
    found = []
    for pod in view.pods:
        failure = unschedulable(pod)
        if failure is not None:
            metadata = pod["metadata"]
            found.append(f"{by_namespace[metadata['namespace']]}/{metadata['name']}: {failure}")
    return sorted(found)


def _wait_whole(
    client: Client,
    environments: Sequence[Environment],
    namespaces: set[str],
    timeout: float,
    progress: Callable[[str], None],
) -> FleetView:
    """The drill measures a healthy fleet losing a node, so it starts from a whole one."""
    deadline = time.monotonic() + timeout
    while True:
        view = read_fleet(client, namespaces)
        if not view.deployments:
            raise DrillError(
                "no Deployment of the fleet runs on this sandbox: `campus deploy` it first"
            )
        desired = desired_replicas(view, environments)
        short = _short_of(serving(view, environments, set()), desired)
        if not short:
            return view
        if time.monotonic() > deadline:
            raise DrillError(
                "the fleet is not whole before the drill (" + ", ".join(short[:5]) + "); "
                "wait for `campus status` to show every environment ok, or deploy again"
            )
        progress(f"waiting for the fleet to be whole before failing a node: {', '.join(short[:3])}")
        time.sleep(1)


def run_node_failure(
    sandbox: str,
    environments: Sequence[Environment],
    node: str | None = None,
    timeout: float = 300,
    interval: float = 1.0,
    restore: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> DrillReport:
    client = cluster.client_for(sandbox, timeout=30)
    namespaces = {e.namespace for e in environments}
    before = _wait_whole(client, environments, namespaces, 60, progress)
    desired = desired_replicas(before, environments)
    pods_per_node: dict[str, int] = {}
    for pod in before.pods:
        name = pod.get("spec", {}).get("nodeName")
        if name and pod.get("status", {}).get("phase") == "Running":
            pods_per_node[name] = pods_per_node.get(name, 0) + 1
    if node is None:
        node = busiest_node(pods_per_node)
    elif node not in before.ready_nodes:
        known = ", ".join(sorted(before.ready_nodes))
        raise DrillError(f"node {node!r} is not a Ready node of sandbox {sandbox}; Ready: {known}")
    if len(before.ready_nodes) < 2:
        raise DrillError(f"sandbox {sandbox} has one Ready node: losing it loses everything")
    production = {e.name: e.production for e in environments}

    progress(f"failing {node} ({pods_per_node.get(node, 0)} fleet pods on it)")
    cluster.fail_node(sandbox, node)
    started = time.monotonic()
    samples: list[Sample] = []
    view = before
    stuck_since: float | None = None
    try:
        while True:
            at = time.monotonic() - started
            view = read_fleet(client, namespaces)
            sample = Sample(at, serving(view, environments, {node}), node in view.ready_nodes)
            samples.append(sample)
            short = _short_of(sample.serving, desired)
            detected = any(not s.node_ready for s in samples)
            if not short and (detected or not pods_per_node.get(node)):
                break
            if at > timeout:
                progress(f"gave up after {timeout:.0f}s: still short: {', '.join(short[:5])}")
                break
            # Pods the scheduler keeps refusing will not fit by waiting: one node fewer is
            # not enough room (see `campus plan`). Report that instead of running out the clock.
            stuck = short and _unschedulable(view, environments)
            stuck_since = (stuck_since or at) if stuck else None
            if stuck_since is not None and at - stuck_since > UNSCHEDULABLE_PATIENCE:
                progress(f"{len(short)} services short and their pods cannot be scheduled")
                break
            if not detected:
                progress(
                    f"{at:4.0f}s  {node} lost; waiting for the node controller to mark it "
                    f"NotReady; {len(short)} services short"
                )
            else:
                progress(f"{at:4.0f}s  {len(short)} services short: {', '.join(short[:4])}")
            time.sleep(max(0.0, interval - (time.monotonic() - started - at)))
    finally:
        if restore:
            progress(f"restoring {node}")
            cluster.restore_node(sandbox, node)
    return analyse(
        node,
        pods_per_node.get(node, 0),
        samples,
        desired,
        production,
        _unschedulable(view, environments),
    )
