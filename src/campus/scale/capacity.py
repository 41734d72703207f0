"""Does an environment still fit in the cluster after a change? Pure arithmetic over the
objects campus renders and the nodes and pods the API server lists.

Only a sum: requests against allocatable, as a scheduler would need at the least. Packing
pods onto nodes (and spreading them) can still fail where the sum fits; the deploy's
health gate then stops with the scheduler's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campus.fleet.quantity import parse_cpu, parse_memory
from campus.harden.rule import pod_spec
from campus.kube.objects import KubeObject, is_ready

GIBI = Decimal(1024**3)


@dataclass(frozen=True)
class Resources:
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)  # bytes

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory)

    def times(self, count: int) -> Resources:
        return Resources(self.cpu * count, self.memory * count)

    def fits_in(self, other: Resources) -> bool:
        return self.cpu <= other.cpu and self.memory <= other.memory

    def exceeds(self, other: Resources) -> bool:
        return self.cpu > other.cpu or self.memory > other.memory

    def __str__(self) -> str:
        return f"{self.cpu.normalize():f} CPU, {(self.memory / GIBI):.1f} GiB"


def _requests(container: dict[str, Any]) -> Resources:
    requests = (container.get("resources") or {}).get("requests") or {}
    return Resources(
        parse_cpu(str(requests.get("cpu", "0"))), parse_memory(str(requests.get("memory", "0")))
    )


def pod_requests(spec: dict[str, Any]) -> Resources:
    """What the scheduler reserves for a pod: its containers together, or its largest init
    container if that is more (init containers run one at a time, before the rest)."""
    running = sum((_requests(c) for c in spec.get("containers") or []), Resources())
    total = running
    for container in spec.get("initContainers") or []:
        init = _requests(container)
        total = Resources(max(total.cpu, init.cpu), max(total.memory, init.memory))
    overhead = spec.get("overhead") or {}
    return total + Resources(
        parse_cpu(str(overhead.get("cpu", "0"))), parse_memory(str(overhead.get("memory", "0")))
    )


def environment_requests(objects: list[KubeObject], at_most: bool = False) -> Resources:
    """Requests of an environment's Deployments at their floor (replicas, or the HPA's
    minimum), or with `at_most` at the HPA's maximum."""
    scalers = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    total = Resources()
    for obj in objects:
        spec = pod_spec(obj)
        if obj["kind"] != "Deployment" or spec is None:
            continue
        scaler = scalers.get(obj["metadata"]["name"])
        if scaler:
            count = int(scaler["maxReplicas"] if at_most else scaler.get("minReplicas", 1))
        else:
            count = int(obj["spec"].get("replicas", 1))
        total += pod_requests(spec).times(count)
    return total


@dataclass(frozen=True)
class Room:
    """What the cluster offers one namespace: allocatable of schedulable ready nodes, less
    what pods of every other namespace request."""

    nodes: int
    allocatable: Resources
    requested_elsewhere: Resources

    @property
    def free(self) -> Resources:
        return self.allocatable - self.requested_elsewhere

    def __str__(self) -> str:
        return (
            f"{self.free} free for it ({self.allocatable} allocatable on {self.nodes} "
            f"nodes, {self.requested_elsewhere} requested by other namespaces)"
        )


def _schedulable(node: dict[str, Any]) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    return is_ready(node)


def room_for(namespace: str, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> Room:
    usable = [n for n in nodes if _schedulable(n)]
    allocatable = Resources()
    for node in usable:
        values = (node.get("status") or {}).get("allocatable") or {}
        allocatable += Resources(
            parse_cpu(str(values.get("cpu", "0"))), parse_memory(str(values.get("memory", "0")))
        )
    elsewhere = Resources()
    for pod in pods:
        if pod["metadata"].get("namespace") == namespace:
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        elsewhere += pod_requests(pod.get("spec") or {})
    return Room(len(usable), allocatable, elsewhere)


def capacity_refusal(
    environment: str, before: list[KubeObject], after: list[KubeObject], room: Room, what: str
) -> str | None:
    """A change that asks for more than the cluster has free; shrinking never is refused."""
    needed, previously = environment_requests(after), environment_requests(before)
    if not needed.exceeds(previously) or needed.fits_in(room.free):
        return None
    return (
        f"{environment} with {what} requests {needed} at its floor; the cluster has "
        f"{room}. Add nodes or free room first"
    )


def ceiling_note(environment: str, after: list[KubeObject], room: Room) -> str | None:
    """Autoscaling past the free room leaves pods Pending under load, which is fine with a
    cluster autoscaler and worth knowing without one."""
    ceiling = environment_requests(after, at_most=True)
    if ceiling.fits_in(room.free):
        return None
    return (
        f"at every autoscaler's maximum {environment} would request {ceiling}; the cluster "
        f"has {room}: the last pods would stay Pending unless nodes are added"
    )
