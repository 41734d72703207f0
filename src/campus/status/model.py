"""Summarising an environment's live objects into a status. Pure: objects in, status out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from campus.deploy.health import job_health, pod_problem
from campus.kube.objects import KubeObject
from campus.kube.workloads import autoscaler_of, autoscalers, min_replicas
from campus.labels import JOB_NAME, NAME
from campus.services import defaults


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    ready: int
    desired: int
    hpa_current: int | None = None
    hpa_min: int | None = None
    hpa_max: int | None = None
    kind: str = ""  # the service catalogue's kind: web, worker, data


@dataclass(frozen=True)
class PodStatus:
    name: str
    service: str
    ready: str
    status: str
    restarts: int
    age: str
    node: str


@dataclass
class EnvironmentStatus:
    name: str
    namespace: str
    services: list[ServiceStatus] = field(default_factory=list)
    pods: list[PodStatus] = field(default_factory=list)
    revision: int | None = None
    deployed_at: str | None = None
    # The release the newest revision ran ("tutor 21.0.9, mfe 21.0.2"), when recorded.
    release: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems and all(s.ready >= s.desired for s in self.services)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["healthy"] = self.healthy
        return data


def age(timestamp: str | datetime | None, now: datetime) -> str:
    """kubectl's compact ages: 45s, 12m, 3h, 5d."""
    if not timestamp:
        return "-"
    moment = (
        timestamp
        if isinstance(timestamp, datetime)
        else datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    )
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _pod_status(pod: KubeObject) -> tuple[str, str, int]:
    """READY (n/m), STATUS and RESTARTS, as kubectl shows them."""
    status = pod.get("status", {})
    containers = status.get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or []) or len(containers)
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in containers)
    reason = status.get("reason") or status.get("phase", "Unknown")
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            reason = waiting["reason"]
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return f"{ready}/{total}", reason, restarts


def _service_of(pod: KubeObject) -> str:
    labels = pod.get("metadata", {}).get("labels") or {}
    return str(labels.get(NAME) or labels.get(JOB_NAME) or "-")


def summarise(
    name: str,
    namespace: str,
    deployments: list[KubeObject],
    pods: list[KubeObject],
    hpas: list[KubeObject],
    jobs: list[KubeObject],
    revision: tuple[int, str] | None,
    now: datetime | None = None,
    release: str = "",
) -> EnvironmentStatus:
    now = now or datetime.now(UTC)
    result = EnvironmentStatus(name, namespace, release=release)
    if revision:
        result.revision, result.deployed_at = revision
    scalers = autoscalers(hpas)
    services = defaults()
    for deployment in sorted(deployments, key=lambda d: d["metadata"]["name"]):
        service = deployment["metadata"]["name"]
        hpa = autoscaler_of(scalers, "Deployment", deployment)
        result.services.append(
            ServiceStatus(
                name=service,
                ready=deployment.get("status", {}).get("readyReplicas", 0),
                desired=deployment.get("spec", {}).get("replicas", 1),
                hpa_current=hpa.get("status", {}).get("currentReplicas") if hpa else None,
                hpa_min=min_replicas(hpa) if hpa else None,
                hpa_max=hpa.get("spec", {}).get("maxReplicas") if hpa else None,
                kind=services.get(service).kind.value,
            )
        )
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        ready, status, restarts = _pod_status(pod)
        if status == "Succeeded" or status == "Completed":
            continue  # finished init Jobs: history, not state
        result.pods.append(
            PodStatus(
                name=pod["metadata"]["name"],
                service=_service_of(pod),
                ready=ready,
                status=status,
                restarts=restarts,
                age=age(pod["metadata"].get("creationTimestamp"), now),
                node=pod.get("spec", {}).get("nodeName") or "<none>",
            )
        )
        problem = pod_problem(pod)
        if problem:
            result.problems.append(problem.message)
        elif restarts >= 5:
            result.problems.append(f"pod {pod['metadata']['name']}: {restarts} restarts")
    for job in jobs:
        health = job_health(job)
        if health.failed:
            result.problems.append(f"job {health.message}")
    for service in result.services:
        if service.ready < service.desired and not any(service.name in p for p in result.problems):
            result.problems.append(f"{service.name}: {service.ready}/{service.desired} ready")
    return result
