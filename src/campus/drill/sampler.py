"""What a drill looks at each second: the fleet's Deployments and pods and the nodes,
read in three list calls whatever the fleet's size, and counted per service."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod

from campus.drill.availability import ServiceKey
from campus.errors import CampusError
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject, is_ready
from campus.kube.workloads import unschedulable
from campus.labels import NAME
from campus.services import Facts, read


class DrillError(CampusError):
    pass


@dataclass(frozen=True)
class FleetView:
    """What one sample reads: the fleet's Deployments and pods, and the nodes."""

    deployments: list[KubeObject]
    pods: list[KubeObject]
    ready_nodes: set[str]
    nodes: list[KubeObject]


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
    nodes = [n.to_dict() for n in client.list(Node)]
    ready_nodes = {n["metadata"]["name"] for n in nodes if is_ready(n)}
    return FleetView(deployments, pods, ready_nodes, nodes)


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


def facts(view: FleetView, environments: Sequence[Environment]) -> dict[ServiceKey, Facts]:
    """What each service is, as hardening annotated its Deployment for its environment."""
    by_namespace = _environment_of(environments)
    return {
        (by_namespace[d["metadata"]["namespace"]], d["metadata"]["name"]): read(d)
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


def pods_per_node(view: FleetView) -> dict[str, int]:
    """Running fleet pods on each node."""
    counts: dict[str, int] = {}
    for pod in view.pods:
        name = pod.get("spec", {}).get("nodeName")
        if name and pod.get("status", {}).get("phase") == "Running":
            counts[name] = counts.get(name, 0) + 1
    return counts


def short_of(serving_now: dict[ServiceKey, int], desired: dict[ServiceKey, int]) -> list[str]:
    return [
        f"{environment}/{service} {serving_now.get((environment, service), 0)}/{count}"
        for (environment, service), count in sorted(desired.items())
        if serving_now.get((environment, service), 0) < count
    ]


def unschedulable_pods(view: FleetView, environments: Sequence[Environment]) -> list[str]:
    by_namespace = _environment_of(environments)
    found = []
    for pod in view.pods:
        failure = unschedulable(pod)
        if failure is not None:
            metadata = pod["metadata"]
            found.append(f"{by_namespace[metadata['namespace']]}/{metadata['name']}: {failure}")
    return sorted(found)


def wait_whole(
    client: Client,
    environments: Sequence[Environment],
    timeout: float,
    progress: Callable[[str], None],
) -> FleetView:
    """A drill measures a healthy fleet under a failure, so it starts from a whole one."""
    namespaces = {e.namespace for e in environments}
    deadline = time.monotonic() + timeout
    while True:
        view = read_fleet(client, namespaces)
        if not view.deployments:
            raise DrillError(
                "no Deployment of the fleet runs on this sandbox: `campus deploy` it first"
            )
        desired = desired_replicas(view, environments)
        short = short_of(serving(view, environments, set()), desired)
        if not short:
            return view
        if time.monotonic() > deadline:
            raise DrillError(
                "the fleet is not whole before the drill (" + ", ".join(short[:5]) + "); "
                "wait for `campus status` to show every environment ok, or deploy again"
            )
        progress(f"waiting for the fleet to be whole before the drill: {', '.join(short[:3])}")
        time.sleep(1)
