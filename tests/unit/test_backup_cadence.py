"""Whether backups keep their schedule, from the live CronJob and its Jobs, and how
`campus status` shows it: the last success's age, red when late or when the newest run
failed, `-` without backups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from campus.backup.cadence import backup_state, is_late, slack
from campus.output.status import status_view
from campus.status.model import summarise

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SLACK = timedelta(hours=5)  # the CronJob's starting deadline (1 h) and active deadline (4 h)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_daily_backup_is_late_once_its_run_should_have_ended_without_success() -> None:
    today = NOW.replace(hour=3, minute=12)
    assert not is_late("0 3 * * *", today, LONG_AGO, NOW, SLACK)
    assert is_late("0 3 * * *", today - timedelta(days=1), LONG_AGO, NOW, SLACK)
    assert is_late("0 3 * * *", None, LONG_AGO, NOW, SLACK)
    # at 07:00 today's run may still be going: yesterday's success is enough
    early = NOW.replace(hour=7)
    assert not is_late("0 3 * * *", today - timedelta(days=1), LONG_AGO, early, SLACK)


def test_a_cronjob_created_after_the_run_due_is_not_late_yet() -> None:
    created = NOW.replace(hour=4)
    assert not is_late("0 3 * * *", None, created, NOW, SLACK)
    assert is_late("0 3 * * *", None, created, NOW + timedelta(days=1), SLACK)


def cronjob(last: str | None = None, schedule: str = "0 3 * * *") -> dict[str, Any]:
    return {
        "metadata": {"name": "campus-backup", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "schedule": schedule,
            "startingDeadlineSeconds": 3600,
            "jobTemplate": {"spec": {"activeDeadlineSeconds": 14400}},
        },
        "status": {"lastSuccessfulTime": last} if last else {},
    }


def job(
    name: str, created: str, failed: bool = False, service: str = "campus-backup"
) -> dict[str, Any]:
    conditions = [{"type": "Failed" if failed else "Complete", "status": "True", "reason": "x"}]
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {"app.kubernetes.io/name": service},
        },
        "status": {"conditions": conditions},
    }


def test_the_state_reads_the_last_success_and_the_newest_runs_outcome() -> None:
    assert slack(cronjob()) == SLACK
    assert backup_state([], [], NOW) is None
    runs = [
        job("campus-backup-29001", "2026-11-24T03:00:00Z"),
        job("campus-backup-29002", "2026-11-25T03:00:00Z", failed=True),
    ]
    state = backup_state([cronjob("2026-11-24T03:10:00Z")], runs, NOW)
    assert state is not None
    assert (state.last_success, state.late, state.last_run_failed) == (
        "2026-11-24T03:10:00Z",
        True,
        True,
    )
    fine = backup_state([cronjob("2026-11-25T03:10:00Z")], runs[:1], NOW)
    assert fine is not None and not fine.late and not fine.last_run_failed


def status(cronjobs: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> Any:
    return summarise("acme", "acme", [], [], [], jobs, None, now=NOW, cronjobs=cronjobs)


def rendered(statuses: list[Any]) -> str:
    console = Console(width=200, record=True, color_system="truecolor")
    console.print(status_view(statuses))
    return console.export_text(styles=True)


def test_a_failed_backup_is_the_backup_columns_not_the_sites_health() -> None:
    failed = job("campus-backup-29002", "2026-11-25T03:00:00Z", failed=True)
    listing = job("campus-backup-list-1", "2026-11-25T09:00:00Z", True, "campus-backup-list")
    result = status([cronjob("2026-11-24T03:10:00Z")], [failed, listing])
    assert result.problems == [] and result.healthy
    assert result.to_dict()["backup"] == {
        "schedule": "0 3 * * *",
        "last_success": "2026-11-24T03:10:00Z",
        "late": True,
        "last_run_failed": True,
    }


def test_the_backup_column() -> None:
    late = status([cronjob("2026-11-24T03:10:00Z")], [])
    fresh = status([cronjob("2026-11-25T03:10:00Z")], [])
    never = status([cronjob()], [])
    none = status([], [])
    text = rendered([late, fresh, never, none])
    assert "BACKUP" in text
    lines = [line for line in text.splitlines() if line.startswith("acme")]
    # ages from the clock of the view; lateness from the summary's
    assert " ago" in lines[0] and "\x1b[31m" in lines[0]  # late: red
    assert " ago" in lines[1] and "\x1b[31m" not in lines[1]
    assert "never" in lines[2] and "\x1b[31m" in lines[2]
    assert none.backup is None and " - " in lines[3]
