"""Is a workload healthy yet, and if not, why: the same judgement kubectl rollout status
and Argo CD's health checks make, over plain objects. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from campus.kube.objects import KubeObject, conditions_of
from campus.kube.workloads import kubelet_retries, unschedulable
from campus.labels import JOB_NAME

# Container states that will not fix themselves by waiting a little longer.
_STUCK_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class Health:
    ready: bool
    failed: bool
    message: str

    @staticmethod
    def ok(message: str) -> Health:
        return Health(True, False, message)

    @staticmethod
    def waiting(message: str) -> Health:
        return Health(False, False, message)

    @staticmethod
    def failure(message: str) -> Health:
        return Health(False, True, message)


def deployment_health(deployment: KubeObject) -> Health:
    """Rolled out: the controller saw the latest spec, and exactly the desired count of
    replicas runs, every one updated and available.

    The count must match both ways: after a scale-down, `status.replicas` (and with it the
    updated and available counts) still counts the surplus pods until the controller has
    removed them, so "updated and available >= desired" alone would call it done early."""
    spec, status = deployment.get("spec", {}), deployment.get("status", {})
    name = deployment["metadata"]["name"]
    if status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 1):
        return Health.waiting(f"{name}: waiting for the controller to see the new spec")
    progressing = conditions_of(deployment).get("Progressing", {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health.failure(f"{name}: {progressing.get('message', 'progress deadline exceeded')}")
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < desired:
        return Health.waiting(f"{name}: {updated}/{desired} replicas updated")
    if total > updated:
        return Health.waiting(f"{name}: {total - updated} old replicas terminating")
    if total > desired:
        return Health.waiting(f"{name}: scaling down, {total - desired} replicas to remove")
    if available < desired:
        return Health.waiting(f"{name}: {available}/{desired} replicas available")
    return Health.ok(f"{name}: {available}/{desired} ready")


def job_health(job: KubeObject) -> Health:
    name = job["metadata"]["name"]
    conditions = conditions_of(job)
    for kind in ("Failed", "FailureTarget"):
        failed = conditions.get(kind)
        if failed and failed.get("status") == "True":
            reason = failed.get("reason", "Failed")
            return Health.failure(f"{name}: {reason}: {failed.get('message', '')}".rstrip(": "))
    complete = conditions.get("Complete")
    if complete and complete.get("status") == "True":
        return Health.ok(f"{name}: complete")
    active = job.get("status", {}).get("active", 0)
    return Health.waiting(f"{name}: running ({active} active)" if active else f"{name}: starting")


def pod_problem(pod: KubeObject) -> Health | None:
    """A pod's reason for not being ready, when there is one worth showing the operator."""
    name = pod["metadata"]["name"]
    status = pod.get("status", {})
    failure = unschedulable(pod)
    if failure is not None:
        return Health.waiting(f"pod {name} Pending: {failure}")
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in _STUCK_REASONS:
            detail = waiting.get("message", "")
            if kubelet_retries(detail):
                return Health.waiting(f"pod {name} container {container['name']}: {detail}")
            restarts = container.get("restartCount", 0)
            message = f"pod {name} container {container['name']}: {reason}"
            if restarts:
                message += f" ({restarts} restarts)"
            return Health.failure(f"{message}: {detail}".rstrip(": "))
    if status.get("phase") == "Failed":
        return Health.waiting(f"pod {name} Failed: {status.get('reason', '')}".rstrip(": "))
    return None


def pods_of(workload: KubeObject | None, pods: dict[str, KubeObject]) -> list[KubeObject]:
    """The pods a Deployment's selector (a Job's name label) picks."""
    if workload is None:
        return []
    selector = workload.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    if workload["kind"] == "Job":
        selector = {JOB_NAME: workload["metadata"]["name"]}
    return [
        pod
        for pod in pods.values()
        if selector
        and all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
    ]
