"""restic's JSON as the backup pods' logs carry it: `backup --json` (status lines, then one
summary) and `snapshots --json` (one array), in the shapes restic's scripting
documentation gives, from Debian's 0.14 (the sandbox's) and 0.18 (the default image)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from campus.backup.restic import (
    backup_summary,
    exit_error,
    no_repository,
    size_text,
    snapshots,
)

# A 0.18 backup's log: the repository check's error on a first run, init, status lines,
# the summary, then forget --prune's text (restic prints it as text even with --json).
BACKUP_LOG = [
    "Fatal: repository does not exist: unable to open config file: <config/> does not exist",
    "created restic repository 5d0f3c1a2b at s3:http://s3.campus-backups.svc:7070/campus/acme",
    json.dumps(
        {
            "message_type": "status",
            "seconds_elapsed": 10,
            "percent_done": 0.42,
            "total_files": 2,
            "files_done": 1,
            "total_bytes": 734003200,
            "bytes_done": 308281344,
        }
    ),
    json.dumps(
        {
            "message_type": "summary",
            "files_new": 2,
            "files_changed": 0,
            "files_unmodified": 0,
            "dirs_new": 1,
            "dirs_changed": 0,
            "dirs_unmodified": 0,
            "data_blobs": 512,
            "tree_blobs": 2,
            "data_added": 734012345,
            "data_added_packed": 120400113,
            "total_files_processed": 2,
            "total_bytes_processed": 734003200,
            "total_duration": 21.337,
            "backup_start": "2026-11-25T03:00:03.481239813Z",
            "backup_end": "2026-11-25T03:00:24.818560112Z",
            "snapshot_id": "8c7b0f2e41a9d3b65e0c7d1f9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b",
        }
    ),
    "Applying Policy: keep 7 daily, 4 weekly snapshots",
    "keep 1 snapshots:",
]

SNAPSHOTS_014 = [
    {
        "time": "2026-11-24T03:00:02.118712005Z",
        "tree": "a1" * 32,
        "paths": ["/backup"],
        "hostname": "acme-prod",
        "username": "",
        "uid": 10001,
        "gid": 10001,
        "tags": ["campus", "release=22.0.2"],
        "id": "f3" * 32,
        "short_id": "f3f3f3f3",
    }
]
SNAPSHOTS_018 = [
    {
        "time": "2026-11-25T03:00:03.481239813Z",
        "parent": "f3" * 32,
        "tree": "b2" * 32,
        "paths": ["/backup", "/volumes/caddy"],
        "hostname": "acme-prod",
        "username": "root",
        "tags": ["campus", "release=22.0.3"],
        "program_version": "restic 0.18.1",
        "summary": {
            "backup_start": "2026-11-25T03:00:03.481239813Z",
            "backup_end": "2026-11-25T03:00:24.818560112Z",
            "files_new": 2,
            "data_added": 734012345,
            "total_files_processed": 2,
            "total_bytes_processed": 734003200,
        },
        "id": "8c7b0f2e" + "0" * 56,
        "short_id": "8c7b0f2e",
    }
]


def test_the_backup_summary_is_read_among_the_other_lines() -> None:
    summary = backup_summary(BACKUP_LOG)
    assert summary is not None
    assert summary.snapshot_id.startswith("8c7b0f2e41a9")
    assert (summary.files_new, summary.total_files_processed) == (2, 2)
    assert summary.total_bytes_processed == 734003200
    assert (summary.data_added, summary.data_added_packed) == (734012345, 120400113)
    assert round(summary.total_duration) == 21


def test_an_older_summary_without_packed_sizes_reads_as_unknown() -> None:
    line = {
        "message_type": "summary",
        "files_new": 1,
        "data_added": 5,
        "total_files_processed": 1,
        "total_bytes_processed": 5,
        "total_duration": 0.5,
        "snapshot_id": "0123abcd",
    }
    summary = backup_summary([json.dumps(line)])
    assert summary is not None and summary.data_added_packed is None


def test_a_backup_without_a_summary_made_no_snapshot() -> None:
    assert backup_summary(BACKUP_LOG[:3]) is None
    dry = json.dumps({"message_type": "summary", "dry_run": True, "files_new": 1})
    assert backup_summary([dry]) is None  # restic omits snapshot_id when none was made


def test_snapshots_of_either_release_are_read_oldest_first() -> None:
    found = snapshots([json.dumps(SNAPSHOTS_018 + SNAPSHOTS_014)])
    assert found is not None
    old, new = found
    assert (old.short_id, old.release, old.size, old.paths) == (
        "f3f3f3f3",
        "22.0.2",
        None,
        ("/backup",),
    )
    assert (new.short_id, new.release, new.size) == ("8c7b0f2e", "22.0.3", 734003200)
    assert new.taken == datetime(2026, 11, 25, 3, 0, 3, 481239, tzinfo=UTC)
    assert new.paths == ("/backup", "/volumes/caddy") and new.hostname == "acme-prod"


def test_no_array_means_the_listing_failed_and_an_empty_one_no_snapshots() -> None:
    assert snapshots(["Fatal: wrong password or no key found"]) is None
    assert snapshots(["[]"]) == []


def test_a_missing_repository_is_told_from_other_failures() -> None:
    assert no_repository(BACKUP_LOG[:1])
    assert no_repository(
        ['{"message_type":"exit_error","code":10,"message":"repository does not exist"}']
    )
    assert not no_repository(["Fatal: wrong password or no key found"])
    assert exit_error(['{"message_type":"exit_error","code":12,"message":"wrong password"}']) == (
        "wrong password"
    )


def test_sizes_read_as_people_read_them() -> None:
    assert [size_text(n) for n in (None, 512, 1536, 734003200, 3 * 1024**4)] == [
        "-",
        "512 B",
        "1.5 KiB",
        "700.0 MiB",
        "3.0 TiB",
    ]
