"""Whether an environment's backups keep their schedule, from its live CronJob and backup
Jobs. Pure.

A backup is late when the last run that should have finished by now (the schedule's last
firing before now, less the slack a run is given: the CronJob's starting deadline and its
Jobs' active deadline) has not succeeded: the CronJob's `lastSuccessfulTime`, which a
manual run it owns moves too, is older than that firing. A CronJob created after that
firing is not late yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from campus.backup.schedule import ACTIVE_DEADLINE, CRONJOB, LISTING, STARTING_DEADLINE
from campus.fleet.cron import last_run
from campus.kube.objects import KubeObject, conditions_of, labels_of
from campus.labels import NAME


@dataclass(frozen=True)
class BackupState:
    schedule: str
    last_success: str | None  # RFC 3339, the CronJob's lastSuccessfulTime
    late: bool
    last_run_failed: bool  # the newest backup Job failed


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def slack(cronjob: KubeObject) -> timedelta:
    spec = cronjob.get("spec") or {}
    job = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    starting = spec.get("startingDeadlineSeconds", STARTING_DEADLINE) or 0
    active = job.get("activeDeadlineSeconds", ACTIVE_DEADLINE) or 0
    return timedelta(seconds=int(starting) + int(active))


def is_late(
    schedule: str,
    last_success: datetime | None,
    created: datetime | None,
    now: datetime,
    allowed: timedelta,
) -> bool:
    due = last_run(schedule, now - allowed)
    if created is not None and due < created:
        return False
    return last_success is None or last_success < due


def is_backup_job(job: KubeObject) -> bool:
    """A Job of the backup CronJob (scheduled or run by hand) or of `campus backups`."""
    return labels_of(job).get(NAME) in (CRONJOB, LISTING)


def _failed(job: KubeObject) -> bool:
    return any(
        (conditions_of(job).get(kind) or {}).get("status") == "True"
        for kind in ("Failed", "FailureTarget")
    )


def backup_state(
    cronjobs: Sequence[KubeObject], jobs: Sequence[KubeObject], now: datetime
) -> BackupState | None:
    """The environment's backups (None: it has no backup CronJob)."""
    cronjob = next((c for c in cronjobs if c["metadata"]["name"] == CRONJOB), None)
    if cronjob is None:
        return None
    schedule = str((cronjob.get("spec") or {}).get("schedule", ""))
    last = (cronjob.get("status") or {}).get("lastSuccessfulTime")
    runs = [j for j in jobs if labels_of(j).get(NAME) == CRONJOB]
    newest = max(runs, key=lambda j: str(j["metadata"].get("creationTimestamp", "")), default=None)
    try:
        late = is_late(
            schedule,
            _moment(last),
            _moment(cronjob["metadata"].get("creationTimestamp")),
            now,
            slack(cronjob),
        )
    except (ValueError, KeyError):  # a schedule campus did not write: no verdict
        late = False
    return BackupState(
        schedule=schedule,
        last_success=str(last) if last else None,
        late=late,
        last_run_failed=newest is not None and _failed(newest),
    )
