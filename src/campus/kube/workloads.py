"""What workloads' autoscalers and pods say, over plain objects: which workload each
HorizontalPodAutoscaler scales and within what range, and why the scheduler leaves a pod
Pending. Pure.

Objects listed from the API server carry no `kind`, rendered ones do: these readers take
either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from campus.kube.objects import KubeObject, conditions_of

AUTOSCALER = "HorizontalPodAutoscaler"


class ScaleTarget(NamedTuple):
    """A workload an autoscaler may scale."""

    namespace: str
    kind: str
    name: str


def scale_target(autoscaler: KubeObject) -> ScaleTarget:
    """The workload a HorizontalPodAutoscaler scales: always in its own namespace."""
    ref = (autoscaler.get("spec") or {}).get("scaleTargetRef") or {}
    namespace = (autoscaler.get("metadata") or {}).get("namespace") or ""
    return ScaleTarget(namespace, str(ref.get("kind", "")), str(ref.get("name", "")))


def autoscalers(objects: Iterable[KubeObject]) -> dict[ScaleTarget, KubeObject]:
    """The HorizontalPodAutoscalers among `objects`, by the workload each scales."""
    return {
        scale_target(o): o
        for o in objects
        if o.get("kind", AUTOSCALER) == AUTOSCALER and "scaleTargetRef" in (o.get("spec") or {})
    }


def autoscaler_of(
    scalers: Mapping[ScaleTarget, KubeObject], kind: str, workload: KubeObject
) -> KubeObject | None:
    """The autoscaler (from `autoscalers`) that scales this workload of `kind`, if any."""
    metadata = workload.get("metadata") or {}
    return scalers.get(ScaleTarget(metadata.get("namespace") or "", kind, metadata["name"]))


def min_replicas(autoscaler: KubeObject) -> int:
    """The floor; the API server's default is 1."""
    return int((autoscaler.get("spec") or {}).get("minReplicas", 1))


def max_replicas(autoscaler: KubeObject) -> int:
    return int(autoscaler["spec"]["maxReplicas"])


@dataclass(frozen=True)
class Unschedulable:
    """The scheduler's verdict on a pod it could not place, from its PodScheduled condition."""

    reason: str  # "Unschedulable", or e.g. "SchedulerError"
    message: str  # "0/3 nodes are available: 3 Insufficient cpu. preemption: ..."

    @property
    def filters(self) -> str:
        """The first sentence alone: why no node passed the filters (preemption's
        verdict follows it)."""
        return (self.message or self.reason).split(". ")[0].rstrip(".") + "."

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def unschedulable(pod: KubeObject) -> Unschedulable | None:
    """Why the scheduler could not place the pod; None when it did, or has not tried yet."""
    condition = conditions_of(pod).get("PodScheduled", {})
    if condition.get("status") != "False":
        return None
    return Unschedulable(
        str(condition.get("reason") or "Unschedulable"), str(condition.get("message") or "")
    )


# A kubelet whose Secret or ConfigMap cache has not synced yet for a pod it was just given
# reports CreateContainerConfigError, and tries again by itself within seconds (seen on
# the sandbox's freshly started real node): unlike a Secret that does not exist.
_KUBELET_RETRIES = ("failed to sync secret cache", "failed to sync configmap cache")


def kubelet_retries(message: str) -> bool:
    """Whether a container's waiting message is one the kubelet gets past by itself."""
    return any(passing in message for passing in _KUBELET_RETRIES)


def command_line(container: dict[str, Any]) -> list[str]:
    """What a container is told to run: its command, then its arguments."""
    return [str(word) for word in (container.get("command") or []) + (container.get("args") or [])]
