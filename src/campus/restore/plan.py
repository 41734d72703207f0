"""What `campus restore` decides before it changes anything: which snapshot, whether its
release may be restored into the target, which workloads stop while the data is
replaced, and the init Jobs run again afterwards. Pure: from live objects.

The applications (every workload the service catalogue does not call a backing service)
are scaled to zero, so no process writes to a database while it is replaced; the backing
services keep running, since the loaders talk to them. A HorizontalPodAutoscaler leaves a
Deployment scaled to zero alone, and its replicas come back as they were.

After the load the environment's init Jobs run again, as a deploy runs them: Tutor's
init tasks are idempotent, they migrate a snapshot of an older release's schema to the
environment's release, and they rebuild what is derived from the databases (the search
index: Meilisearch is not backed up).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import datetime

from campus.backup.jobs import stamp
from campus.backup.restic import Snapshot
from campus.deploy.maintenance import MAINTENANCE
from campus.deploy.phases import Phase, phase_of
from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.labels import JOB_NAME
from campus.services import catalogue_for

LATEST = "latest"
# Tutor's init tasks as a deploy names them: `<service>-init-<N>-<8 hex of the spec>`.
_INIT_JOB = re.compile(r"^(?P<base>[a-z0-9-]+-init-\d+)-[0-9a-f]{8}$")
# What the Job controller adds to a Job and its pod template, refused on a new Job.
_CONTROLLER_LABELS = frozenset(
    {
        "controller-uid",
        "batch.kubernetes.io/controller-uid",
        JOB_NAME,
        "batch.kubernetes.io/job-name",
    }
)


class RestoreRefused(CampusError):
    """The restore cannot go ahead; nothing was changed."""


def choose(snapshots: Sequence[Snapshot], wanted: str, source: str) -> Snapshot:
    """`latest` (the newest) or the snapshot whose id starts with `wanted`."""
    if not snapshots:
        raise RestoreRefused(f"{source} has no snapshot: run `campus backup {source}` first")
    if wanted == LATEST:
        return snapshots[-1]
    found = [s for s in snapshots if s.id.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(s.short_id for s in snapshots[-5:])
    if not found:
        raise RestoreRefused(
            f"{source} has no snapshot {wanted!r} (the newest: {listed}; `campus backups "
            f"{source}` lists them all)"
        )
    raise RestoreRefused(f"{wanted!r} names {len(found)} snapshots of {source}: give more of it")


def _parts(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def release_refusal(snapshot: Snapshot, target: str, target_release: str) -> str | None:
    """A snapshot of a newer release than the target's: its schema is ahead of the code
    that would read it, and no migration goes back."""
    taken, running = _parts(snapshot.release), _parts(target_release)
    if not taken or not running or taken <= running:
        return None
    return (
        f"snapshot {snapshot.short_id} was taken with release {snapshot.release}, newer than "
        f"{target}'s {target_release}: upgrade {target} to {snapshot.release} first "
        "(`campus upgrade`), then restore"
    )


def applications(deployments: Sequence[KubeObject]) -> dict[str, int]:
    """The Deployments stopped during the load, with the replicas they come back to."""
    services = catalogue_for(deployments)
    stopped = {}
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        if name == MAINTENANCE or phase_of(deployment, services) is not Phase.APPLICATIONS:
            continue
        stopped[name] = int((deployment.get("spec") or {}).get("replicas", 1))
    return stopped


def init_jobs(jobs: Sequence[KubeObject], now: datetime) -> list[KubeObject]:
    """New Jobs copying the newest run of each init task, in the order they last ran."""
    newest: dict[str, KubeObject] = {}
    for job in jobs:
        matched = _INIT_JOB.match(job["metadata"]["name"])
        if matched is None:
            continue
        base = matched["base"]
        created = str(job["metadata"].get("creationTimestamp", ""))
        if base not in newest or created > str(newest[base]["metadata"]["creationTimestamp"]):
            newest[base] = job
    ordered = sorted(
        newest.items(), key=lambda item: str(item[1]["metadata"].get("creationTimestamp", ""))
    )
    return [_again(base, job, now) for base, job in ordered]


def _without_controller(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in _CONTROLLER_LABELS}


def _again(base: str, job: KubeObject, now: datetime) -> KubeObject:
    metadata = job["metadata"]
    spec = copy.deepcopy(job["spec"])
    spec.pop("selector", None)
    spec.pop("manualSelector", None)
    template = spec.setdefault("template", {})
    template_metadata = template.setdefault("metadata", {})
    template_metadata["labels"] = _without_controller(template_metadata.get("labels") or {})
    name = f"{base}-restore-{stamp(now)}"[:63].rstrip("-")
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if not k.startswith("kubectl.kubernetes.io/")
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": metadata["namespace"],
            "labels": _without_controller(dict(metadata.get("labels") or {})),
            "annotations": annotations,
        },
        "spec": spec,
    }


def live_route(route: KubeObject) -> KubeObject:
    """A live Ingress or HTTPRoute as campus applies it: its spec and own metadata, none of
    the server's fields."""
    metadata = route["metadata"]
    return {
        "apiVersion": route["apiVersion"],
        "kind": route["kind"],
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": dict(metadata.get("labels") or {}),
            "annotations": {
                k: v
                for k, v in (metadata.get("annotations") or {}).items()
                if not k.startswith("kubectl.kubernetes.io/")
            },
        },
        "spec": copy.deepcopy(route.get("spec") or {}),
    }
