"""The Jobs `campus backup` and `campus backups` start from an environment's live backup
CronJob, and what a running one is waiting on. Pure.

`campus backup` runs the CronJob's own job template now, as `kubectl create job
--from=cronjob` does: owned by the CronJob (so its history limits keep it and a success
counts as the CronJob's last success), without the retry a scheduled run has (whoever
runs it watches it). `campus backups` runs the same pod without the dumps or volumes, its
restic only listing the snapshots: owned by nothing (a listing is not a backup) and
deleted once read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campus.backup.schedule import (
    CRONJOB,
    LISTING,
    MONGODB_DUMP,
    MYSQL_DUMP,
    RESTIC,
)
from campus.kube.objects import KubeObject, conditions_of
from campus.kube.workloads import kubelet_retries, unschedulable
from campus.labels import NAME

MANUAL_PREFIX = f"{CRONJOB}-manual-"
LISTING_PREFIX = f"{LISTING}-"
INSTANTIATE = "cronjob.kubernetes.io/instantiate"  # kubectl's mark on a Job run by hand
LISTING_DEADLINE = 600  # seconds a listing may take
LISTING_TTL = 300  # a listing's Job is deleted after reading; this if that fails
# What each of the backup pod's containers does, for progress lines.
DOING = {
    MYSQL_DUMP: "dumping MySQL",
    MONGODB_DUMP: "dumping MongoDB",
    RESTIC: "restic backing up to the store",
}


def stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


def job_template(cronjob: KubeObject) -> dict[str, Any]:
    template: dict[str, Any] = copy.deepcopy(cronjob["spec"]["jobTemplate"])
    return template


def job_object(name: str, cronjob: KubeObject, spec: dict[str, Any], **metadata: Any) -> KubeObject:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": cronjob["metadata"]["namespace"], **metadata},
        "spec": spec,
    }


def manual_job(cronjob: KubeObject, now: datetime) -> KubeObject:
    """A Job of the CronJob's template, named `campus-backup-manual-<UTC time>`."""
    template = job_template(cronjob)
    metadata = template.get("metadata") or {}
    spec = template["spec"]
    spec["backoffLimit"] = 0
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": cronjob["metadata"]["name"],
        "uid": cronjob["metadata"]["uid"],
        "controller": True,
    }
    return job_object(
        MANUAL_PREFIX + stamp(now),
        cronjob,
        spec,
        labels=dict(metadata.get("labels") or {}),
        annotations={**(metadata.get("annotations") or {}), INSTANTIATE: "manual"},
        ownerReferences=[owner],
    )


def listing_job(cronjob: KubeObject, now: datetime) -> KubeObject:
    """A Job of the backup pod reduced to `restic snapshots --json`: no dumps, no volumes
    (nor the affinity they need), restic as the pod's unprivileged user."""
    template = job_template(cronjob)
    labels = {**(template.get("metadata") or {}).get("labels", {}), NAME: LISTING}
    spec = template["spec"]
    pod_template = spec["template"]
    pod_metadata = pod_template.setdefault("metadata", {})
    pod_metadata["labels"] = {**(pod_metadata.get("labels") or {}), NAME: LISTING}
    pod = pod_template["spec"]
    pod.pop("initContainers", None)
    pod.pop("affinity", None)
    [restic] = [c for c in pod["containers"] if c["name"] == RESTIC]
    restic["command"] = ["restic", "snapshots", "--json"]
    mounts = [m for m in restic.get("volumeMounts") or [] if m["mountPath"] in ("/cache", "/tmp")]
    restic["volumeMounts"] = mounts
    kept = {m["name"] for m in mounts}
    pod["volumes"] = [v for v in pod.get("volumes") or [] if v["name"] in kept]
    context = restic.get("securityContext") or {}
    for key in ("runAsUser", "runAsNonRoot"):
        context.pop(key, None)
    pod["containers"] = [restic]
    spec.update(
        backoffLimit=0, activeDeadlineSeconds=LISTING_DEADLINE, ttlSecondsAfterFinished=LISTING_TTL
    )
    return job_object(LISTING_PREFIX + stamp(now), cronjob, spec, labels=labels)


@dataclass(frozen=True)
class Stage:
    """Where a backup Job is: what it is doing or waiting on, and whether it ended.
    `container`: whose log tells the outcome (the failed one, else restic). `stuck`: a
    container that cannot start (an image not pulled, a Secret missing), which the Job
    would retry until its deadline."""

    message: str
    done: bool = False
    failed: bool = False
    container: str = ""
    stuck: bool = False


def _state(status: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state = status.get("state") or {}
    for kind in ("terminated", "running", "waiting"):
        if kind in state:
            return kind, state[kind] or {}
    return "waiting", {}


def _job_outcome(job: KubeObject) -> Stage | None:
    conditions = conditions_of(job)
    for kind in ("Failed", "FailureTarget"):
        failed = conditions.get(kind) or {}
        if failed.get("status") == "True":
            why = f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}".rstrip(": ")
            return Stage(f"the Job failed: {why}", done=True, failed=True)
    for kind in ("Complete", "SuccessCriteriaMet"):
        if (conditions.get(kind) or {}).get("status") == "True":
            return Stage("the Job completed", done=True, container=RESTIC)
    return None


def stage(job: KubeObject, pod: KubeObject | None, doing: dict[str, str] = DOING) -> Stage:
    """What the Job's pod is at: not created yet, pending (the scheduler's reason), each
    init container and then restic waiting, running or ended."""
    if pod is None:
        return _job_outcome(job) or Stage("waiting for the Job controller to create the pod")
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    refused = unschedulable(pod)
    if refused is not None:
        return Stage(f"pod {name} pending: {refused}")
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return Stage(f"pod {name} pending: waiting for the scheduler")
    statuses = {
        s["name"]: s
        for s in (status.get("initContainerStatuses") or [])
        + (status.get("containerStatuses") or [])
    }
    spec = pod.get("spec") or {}
    order = [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]
    for container in order:
        kind, detail = _state(statuses.get(container, {}))
        what = doing.get(container, container)
        if kind == "terminated":
            code = detail.get("exitCode", 0)
            if code == 0:
                continue
            reason = detail.get("reason") or "Error"
            return Stage(
                f"{container} failed ({reason}, exit code {code}) on {node}",
                done=True,
                failed=True,
                container=container,
            )
        if kind == "running":
            return Stage(f"{what} ({container} running on {node})")
        reason = detail.get("reason") or "waiting"
        message = detail.get("message", "")
        stuck = ("ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError")
        if reason in stuck and not kubelet_retries(message):
            return Stage(
                f"{container} cannot start: {reason}: {message}".rstrip(": "),
                done=True,
                failed=True,
                stuck=True,
            )
        return Stage(f"{container} waiting on {node}: {reason} {message}".rstrip())
    if status.get("phase") == "Succeeded":
        return Stage("the backup pod completed", done=True, container=RESTIC)
    outcome = _job_outcome(job)
    if outcome is not None:
        return outcome
    return Stage(f"pod {name} {status.get('phase', 'Pending')} on {node}")


@dataclass
class Run:
    """How one Job ended: its pod and node, the last stage seen, and the log lines of the
    container that tells (all of restic's on success, the last of a failed one's)."""

    job: str
    stage: Stage
    pod: str = ""
    node: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.stage.failed
