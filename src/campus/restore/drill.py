"""`campus drill restore ENV`: the latest snapshot restored into a scratch namespace and
checked against the source, then the namespace deleted.

The drill copies the source's data services into `campus-drill-restore-<environment>`
(on emptyDir volumes), restores the snapshot there with the same Jobs `campus restore`
uses, then counts every table's rows and every collection's documents on both sides and
compares. A difference fails the drill: in an environment written to meanwhile, the
tables written since the snapshot differ too, and are named. The restored databases
answering every counting query is the health check; the applications are not started
there. It reports the time from the first scratch object to the data loaded (RTO, the
copy's own start included) and the snapshot's age (RPO). The source is only read.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret, Service

from campus.backup import restic
from campus.backup.run import backup_cronjob, list_snapshots, run_job
from campus.backup.schedule import DATABASES, VOLUMES
from campus.errors import CampusError
from campus.kube.apply import delete_object
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject, key_of
from campus.restore import counts, jobs, plan, scratch
from campus.restore.run import log_tail, rolled_out, wait_for

Progress = Callable[[str], None]


@dataclass
class Stage:
    name: str
    started: float  # seconds from the drill's start
    ended: float


@dataclass
class RestoreDrillReport:
    environment: str
    namespace: str
    scratch: str
    snapshot: restic.Snapshot | None = None
    snapshot_age_seconds: float | None = None
    rto_seconds: float | None = None
    source_counts: dict[str, int] = field(default_factory=dict)
    restored_counts: dict[str, int] = field(default_factory=dict)
    mismatches: list[counts.Mismatch] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    error: str = ""
    cleaned_up: bool = False

    @property
    def passed(self) -> bool:
        return not self.error and not self.mismatches and bool(self.restored_counts)

    def to_dict(self) -> dict[str, Any]:
        snapshot = self.snapshot
        return {
            "apiVersion": "campus.openedx.org/v1alpha1",
            "kind": "RestoreDrill",
            "environment": self.environment,
            "scratch_namespace": self.scratch,
            "passed": self.passed,
            "error": self.error,
            "snapshot": None
            if snapshot is None
            else {"id": snapshot.id, "time": snapshot.time, "release": snapshot.release},
            "rpo_seconds": _rounded(self.snapshot_age_seconds),
            "rto_seconds": _rounded(self.rto_seconds),
            "compared": len(set(self.source_counts) | set(self.restored_counts)),
            "mismatches": [
                {"what": m.what, "source": m.source, "restored": m.restored}
                for m in self.mismatches
            ],
            "stages": [
                {"name": s.name, "start": round(s.started, 1), "end": round(s.ended, 1)}
                for s in self.stages
            ],
            "cleaned_up": self.cleaned_up,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _Clock:
    def __init__(self, report: RestoreDrillReport, progress: Progress) -> None:
        self.start = time.monotonic()
        self.report, self.progress = report, progress

    @contextlib.contextmanager
    def stage(self, name: str) -> Any:
        self.progress(name)
        begun = time.monotonic() - self.start
        try:
            yield
        finally:
            self.report.stages.append(Stage(name, begun, time.monotonic() - self.start))


def _counted(
    client: Client, jobs_: list[KubeObject], progress: Progress, timeout: float
) -> dict[str, int]:
    found: dict[str, int] = {}
    for job in jobs_:
        container = job["spec"]["template"]["spec"]["containers"][0]["name"]
        doing = {container: f"counting ({container})"}
        try:
            run = run_job(client, job, progress, doing, timeout, container)
        finally:
            with contextlib.suppress(ApiFailure):
                delete_object(client, key_of(job))
        if run.failed:
            raise CampusError(f"{job['metadata']['name']} failed: {run.stage.message}")
        found.update(counts.read_counts(run.lines))
    return found


def _without_volumes(cronjob: KubeObject) -> KubeObject:
    """The CronJob as if it backed up no file volume: the drill restores the databases."""
    result = copy.deepcopy(cronjob)
    pod = result["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for container in pod["containers"]:
        container["volumeMounts"] = [
            m for m in container.get("volumeMounts") or [] if not m["mountPath"].startswith(VOLUMES)
        ]
    return result


def _create_scratch(
    client: Client, environment: str, namespace: str, cronjob: KubeObject, target: str
) -> list[str]:
    """The namespace and the copies in it; the data services' names."""
    live = [d.to_dict() for d in client.list(Deployment, namespace=namespace)]
    services = [d["metadata"]["name"] for d in live if d["metadata"]["name"] in DATABASES]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    objects = scratch.copies(
        services,
        live,
        [s.to_dict() for s in client.list(Service, namespace=namespace)],
        [s.to_dict() for s in client.list(Secret, namespace=namespace)],
        [c.to_dict() for c in client.list(ConfigMap, namespace=namespace)],
        pod,
        target,
    )
    client.create(from_dict(scratch.namespace(environment)))
    for obj in objects:
        client.create(from_dict(obj))
    return services


def run_restore_drill(
    client: Client,
    environment: str,
    namespace: str,
    progress: Progress,
    timeout: float = 1800,
    keep: bool = False,
) -> RestoreDrillReport:
    target = scratch.namespace_name(environment)
    report = RestoreDrillReport(environment, namespace, target)
    clock = _Clock(report, progress)
    created = False
    try:
        cronjob = backup_cronjob(client, environment, namespace)
        with clock.stage("listing the snapshots"):
            run, found = list_snapshots(client, environment, namespace, progress)
        if found is None:
            raise CampusError(
                f"cannot list the snapshots: {restic.exit_error(run.lines) or run.stage.message}"
            )
        snapshot = plan.choose(found, plan.LATEST, environment)
        report.snapshot = snapshot
        taken = snapshot.taken
        if taken is not None:
            report.snapshot_age_seconds = (datetime.now(UTC) - taken).total_seconds()
        with contextlib.suppress(NotFound):
            client.get(Namespace, target)
            raise CampusError(
                f"namespace {target} exists (a drill still running, or one that could not "
                f"clean up): delete it first"
            )
        moved = _without_volumes(cronjob)
        moved["metadata"]["namespace"] = target
        restored_at = time.monotonic()
        with clock.stage("copying the data services into " + target):
            created = True
            services = _create_scratch(client, environment, namespace, cronjob, target)
            wait_for(client, target, rolled_out(services), timeout, progress)
        repository = jobs.repository(cronjob)
        with clock.stage(f"restoring snapshot {snapshot.short_id}"):
            load = run_job(
                client,
                jobs.restore_job(moved, repository, snapshot.id, datetime.now(UTC)),
                progress,
                jobs.DOING,
                timeout,
            )
            if load.failed:
                raise CampusError(f"the restore Job failed: {load.stage.message}" + log_tail(load))
        report.rto_seconds = time.monotonic() - restored_at
        now = datetime.now(UTC)
        with clock.stage("counting the source"):
            report.source_counts = _counted(
                client, counts.count_jobs(cronjob, namespace, now), progress, timeout
            )
        with clock.stage("counting the restore"):
            report.restored_counts = _counted(
                client, counts.count_jobs(moved, target, now), progress, timeout
            )
        report.mismatches = counts.compare(report.source_counts, report.restored_counts)
    except (CampusError, ApiFailure) as error:
        report.error = str(error)
    finally:
        if created and not keep:
            with clock.stage("deleting " + target):
                with contextlib.suppress(ApiFailure):
                    client.delete(Namespace, target)
                report.cleaned_up = True
    return report
