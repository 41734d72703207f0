"""Summarising an environment's live objects into a status. Pure: objects in, status out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from campus.backup.cadence import BackupState, backup_state, is_backup_job
from campus.deploy.health import job_health, pod_problem
from campus.errors import CampusError
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject
from campus.kube.workloads import autoscaler_of, autoscalers, min_replicas
from campus.labels import JOB_NAME, NAME
from campus.services import read


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


@dataclass(frozen=True)
class DeployedEnvironment:
    """An environment as the cluster knows it: a namespace carrying campus's environment
    label, and the newest revision recorded there (None: none, or not readable)."""

    name: str
    namespace: str
    revision: int | None = None


@dataclass(frozen=True)
class KnownEnvironment:
    """An environment to show: planned in the fleet file, deployed in the cluster, or both.
    `deployed` is None when the cluster could not tell (credentials that may not list
    namespaces): the environment's own objects tell then."""

    name: str
    namespace: str
    planned: bool
    deployed: bool | None


def known_environments(
    planned: Sequence[Environment] | None, deployed: Sequence[DeployedEnvironment] | None
) -> list[KnownEnvironment]:
    """The environments a status or history shows. Without a fleet file (`planned` None),
    what the cluster holds, by name. With one, the fleet's environments in its order, each
    deployed or not as the cluster says: the file scopes the view, as `kubectl -f` does,
    and adds what is planned but not deployed yet."""
    if planned is None:
        return [
            KnownEnvironment(d.name, d.namespace, planned=False, deployed=True)
            for d in sorted(deployed or (), key=lambda d: d.name)
        ]
    found = None if deployed is None else {(d.name, d.namespace) for d in deployed}
    return [
        KnownEnvironment(
            e.name,
            e.namespace,
            planned=True,
            deployed=None if found is None else (e.name, e.namespace) in found,
        )
        for e in planned
    ]


def select_known(
    known: Sequence[KnownEnvironment], names: Sequence[str], namespace: str | None, source: str
) -> list[KnownEnvironment]:
    """The named environments (all when none are named) living in `namespace` (any when
    None), or an error naming `source`, where they were looked for (the fleet file, the
    cluster)."""
    missing = sorted(set(names) - {k.name for k in known})
    if missing:
        listed = ", ".join(k.name for k in known) or "none"
        raise CampusError(f"no environment {', '.join(missing)} in {source}; known: {listed}")
    selected = [
        k
        for k in known
        if (not names or k.name in names) and (namespace is None or k.namespace == namespace)
    ]
    if namespace is not None and not selected:
        raise CampusError(f"no environment of {source} lives in namespace {namespace}")
    return selected


@dataclass
class EnvironmentStatus:
    name: str
    namespace: str
    # False: planned in the fleet file, not deployed yet (nothing in the cluster to show).
    deployed: bool = True
    services: list[ServiceStatus] = field(default_factory=list)
    pods: list[PodStatus] = field(default_factory=list)
    revision: int | None = None
    deployed_at: str | None = None
    # The release the newest revision ran ("tutor 21.0.9, mfe 21.0.2"), when recorded.
    release: str = ""
    problems: list[str] = field(default_factory=list)
    # Its backups (None: no backup CronJob, so none are configured).
    backup: BackupState | None = None

    @property
    def healthy(self) -> bool:
        if not self.deployed:
            return False
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
    cronjobs: Sequence[KubeObject] = (),
) -> EnvironmentStatus:
    now = now or datetime.now(UTC)
    result = EnvironmentStatus(name, namespace, release=release)
    result.backup = backup_state(cronjobs, jobs, now)
    if revision:
        result.revision, result.deployed_at = revision
    scalers = autoscalers(hpas)
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
                kind=read(deployment).kind.value,
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
        if is_backup_job(job):
            continue  # the BACKUP column says how backups go: not the site's health
        health = job_health(job)
        if health.failed:
            result.problems.append(f"job {health.message}")
    for service in result.services:
        if service.ready < service.desired and not any(service.name in p for p in result.problems):
            result.problems.append(f"{service.name}: {service.ready}/{service.desired} ready")
    return result
