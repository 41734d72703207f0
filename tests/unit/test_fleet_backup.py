"""The fleet file's `backup`: validation as a CronJob and restic read it, and inheritance
defaults -> environment field by field (bad values at their line: tests/unit/bad_fleets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from campus.fleet.backup import (
    DEFAULT_IMAGE,
    BackupSpec,
    check_image,
    check_repository,
    merged,
    resolved,
)
from campus.fleet.cron import check_schedule, last_run
from campus.fleet.load import load_fleet

STORE = {
    "repository": "s3:http://s3.campus-backups.svc:7070/campus",
    "secret": "campus-backups/store",
    "namespace": "campus-backups",
}


@pytest.mark.parametrize(
    "schedule", ["0 3 * * *", "*/15 * * * MON-FRI", "0 3 ? * *", "0 2 1 jan,jul *", "@daily"]
)
def test_schedules_kubernetes_reads_are_taken(schedule: str) -> None:
    assert check_schedule(schedule) == schedule


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("0 3 * *", "five fields"),
        ("0 0 3 * * *", "five fields"),  # seconds: croniter's, not Kubernetes'
        ("0 3 L * *", "day of month field 'L'"),
        ("0 3 * * 1#2", "day of week field '1#2'"),
        ("H 3 * * *", "minute field 'H'"),
        ("61 3 * * *", "out of range"),
        ("TZ=UTC 0 3 * * *", "five fields"),
        ("@reboot", "five fields"),
    ],
)
def test_schedules_kubernetes_refuses_are_refused(schedule: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        check_schedule(schedule)


def test_the_last_run_is_at_or_before_the_moment() -> None:
    at = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
    assert last_run("0 3 * * *", at) == at
    assert last_run("0 3 * * *", at.replace(minute=59)) == at
    assert last_run("0 3 * * *", at.replace(hour=2)) == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


def test_repositories_are_restic_s3_ones_without_a_trailing_slash() -> None:
    assert check_repository("s3:http://s3.svc:7070/campus/") == "s3:http://s3.svc:7070/campus"
    assert (
        check_repository("s3:s3.amazonaws.com/bucket/fleet") == "s3:s3.amazonaws.com/bucket/fleet"
    )
    for bad in (
        "https://s3.example.org/b",
        "s3:http://s3.example.org",
        "s3:ftp://h/b",
        "s3:http://h:x/b",
    ):
        with pytest.raises(ValueError):
            check_repository(bad)


def test_images_are_pinned() -> None:
    assert check_image(DEFAULT_IMAGE) == DEFAULT_IMAGE
    assert check_image("registry:5000/restic@sha256:" + "a" * 64)
    for bad in ("docker.io/restic/restic", "restic/restic:latest", "registry:5000/restic"):
        with pytest.raises(ValueError, match="no fixed version"):
            check_image(bad)


def test_an_environment_inherits_field_by_field_and_count_by_count() -> None:
    defaults = BackupSpec.model_validate(
        {"schedule": "0 2 * * *", "keep": {"daily": 7, "monthly": 6}, "store": STORE}
    )
    override = BackupSpec.model_validate({"keep": {"daily": 14}, "store": {"secret": "b/keys"}})
    backup = resolved(merged(defaults, override))
    assert backup is not None
    assert backup.schedule == "0 2 * * *"
    assert backup.keep.model_dump() == {"hourly": 0, "daily": 14, "weekly": 4, "monthly": 6}
    assert backup.store.secret == "b/keys" and backup.store.namespace == "campus-backups"
    assert backup.store.repository == STORE["repository"] and backup.image == DEFAULT_IMAGE


def test_naming_where_the_store_is_replaces_both_alternatives() -> None:
    defaults = BackupSpec.model_validate({"store": STORE})
    external = BackupSpec.model_validate({"store": {"cidrs": ["10.0.9.7/24"]}})
    backup = resolved(merged(defaults, external))
    assert backup is not None
    assert (backup.store.namespace, backup.store.cidrs) == (None, ("10.0.9.0/24",))


def test_no_backup_section_or_enabled_false_means_no_backups() -> None:
    defaults = BackupSpec.model_validate({"store": STORE})
    assert resolved(merged(None, None)) is None
    assert resolved(merged(defaults, BackupSpec(enabled=False))) is None
    assert resolved(merged(defaults, None)) is not None


def test_a_fleet_file_resolves_each_environments_backup(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yml"
    path.write_text(
        "defaults:\n"
        "  backup:\n"
        f"    store: {{repository: '{STORE['repository']}', secret: {STORE['secret']},"
        f" namespace: {STORE['namespace']}}}\n"
        "environments:\n"
        "  acme-dev:\n"
        "    hosts: {lms: learn.dev.acme.example.org}\n"
        "    backup: {enabled: false}\n"
        "  acme-prod:\n"
        "    hosts: {lms: learn.acme.example.org}\n"
        "    backup: {schedule: '30 1 * * *'}\n"
    )
    fleet = load_fleet(path)
    dev, prod = fleet.environment("acme-dev"), fleet.environment("acme-prod")
    assert dev.backup is None
    assert prod.backup is not None and prod.backup.schedule == "30 1 * * *"
