"""Does an environment still fit in the cluster after a change? Pure arithmetic over the
objects campus renders and the nodes and pods the API server lists.

Only a sum: CPU and memory requests against allocatable, as a scheduler would need at the
least (pod slots are not counted). Packing pods onto nodes (and spreading them) can still
fail where the sum fits; the deploy's health gate then stops with the scheduler's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campus.harden.rule import pod_spec
from campus.kube.objects import KubeObject, is_ready
from campus.kube.resources import Resources, pod_request
from campus.kube.workloads import autoscaler_of, autoscalers, max_replicas, min_replicas


def environment_requests(objects: list[KubeObject], at_most: bool = False) -> Resources:
    """Requests of an environment's Deployments at their floor (replicas, or the HPA's
    minimum), or with `at_most` at the HPA's maximum."""
    scalers = autoscalers(objects)
    total = Resources()
    for obj in objects:
        spec = pod_spec(obj)
        if obj["kind"] != "Deployment" or spec is None:
            continue
        scaler = autoscaler_of(scalers, "Deployment", obj)
        if scaler:
            count = max_replicas(scaler) if at_most else min_replicas(scaler)
        else:
            count = int(obj["spec"].get("replicas", 1))
        total += pod_request(spec).times(count)
    return total.without_pods()


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
        allocatable += Resources.of((node.get("status") or {}).get("allocatable") or {})
    elsewhere = Resources()
    for pod in pods:
        if pod["metadata"].get("namespace") == namespace:
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        elsewhere += pod_request(pod.get("spec") or {}).without_pods()
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
