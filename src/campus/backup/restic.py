"""restic's JSON, as its scripting documentation describes it, read into what campus
shows: the summary `restic backup --json` ends with, and the array `restic snapshots
--json` prints. Pure.

Both arrive inside a pod's log, among restic's other lines (status lines, errors on
stderr, the text of `forget --prune`), so each reader looks for its own document and
ignores the rest. Fields restic may omit (a zero, a field older releases lack, such as a
snapshot's `summary` before restic 0.17) are absent here too, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

RELEASE_TAG = "release="


@dataclass(frozen=True)
class BackupSummary:
    """What one `restic backup` did."""

    snapshot_id: str
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    data_added: int = 0  # bytes added to the repository, before compression
    data_added_packed: int | None = None  # after compression (restic 0.17+)
    total_files_processed: int = 0
    total_bytes_processed: int = 0
    total_duration: float = 0.0  # seconds


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: str  # RFC 3339, as restic writes it
    hostname: str
    tags: tuple[str, ...]
    paths: tuple[str, ...]
    size: int | None = None  # bytes backed up (the snapshot's summary, restic 0.17+)

    @property
    def taken(self) -> datetime | None:
        return parse_time(self.time)

    @property
    def release(self) -> str:
        """The release it was taken with (campus tags `release=<Tutor version>`)."""
        return next(
            (t.removeprefix(RELEASE_TAG) for t in self.tags if t.startswith(RELEASE_TAG)), ""
        )


def parse_time(text: str) -> datetime | None:
    """restic's RFC 3339 times (nanoseconds, any offset) as aware datetimes."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _documents(lines: Iterable[str]) -> Iterable[Any]:
    for line in lines:
        text = line.strip()
        if not text.startswith(("{", "[")):
            continue
        try:
            yield json.loads(text)
        except ValueError:
            continue


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def backup_summary(lines: Iterable[str]) -> BackupSummary | None:
    """The last summary message of `restic backup --json` among the lines; None when the
    backup printed none (it failed, or created no snapshot)."""
    found = None
    for document in _documents(lines):
        if isinstance(document, dict) and document.get("message_type") == "summary":
            found = document
    if found is None or not found.get("snapshot_id"):
        return None
    packed = found.get("data_added_packed")
    return BackupSummary(
        snapshot_id=str(found["snapshot_id"]),
        files_new=_count(found, "files_new"),
        files_changed=_count(found, "files_changed"),
        files_unmodified=_count(found, "files_unmodified"),
        data_added=_count(found, "data_added"),
        data_added_packed=int(packed) if isinstance(packed, int) else None,
        total_files_processed=_count(found, "total_files_processed"),
        total_bytes_processed=_count(found, "total_bytes_processed"),
        total_duration=float(found.get("total_duration") or 0.0),
    )


def exit_error(lines: Iterable[str]) -> str:
    """The message of restic's final `exit_error` (restic 0.17+), else ""."""
    message = ""
    for document in _documents(lines):
        if isinstance(document, dict) and document.get("message_type") == "exit_error":
            message = str(document.get("message", ""))
    return message


def snapshots(lines: Iterable[str]) -> list[Snapshot] | None:
    """The snapshots of `restic snapshots --json`, oldest first; None when the lines hold
    no such array (the command failed)."""
    found: list[Any] | None = None
    for document in _documents(lines):
        if isinstance(document, list):
            found = document
    if found is None:
        return None
    result = []
    for item in found:
        if not isinstance(item, dict) or "id" not in item:
            continue
        summary = item.get("summary") if isinstance(item.get("summary"), dict) else None
        size = summary.get("total_bytes_processed") if summary else None
        identifier = str(item["id"])
        result.append(
            Snapshot(
                id=identifier,
                short_id=str(item.get("short_id") or identifier[:8]),
                time=str(item.get("time", "")),
                hostname=str(item.get("hostname", "")),
                tags=tuple(str(t) for t in item.get("tags") or ()),
                paths=tuple(str(p) for p in item.get("paths") or ()),
                size=int(size) if isinstance(size, int) else None,
            )
        )
    earliest = datetime.min.replace(tzinfo=UTC)
    return sorted(result, key=lambda s: s.taken or earliest)


def size_text(amount: int | None) -> str:
    """Bytes as people read them: `512 B`, `3.4 MiB`, `1.2 GiB`; `-` when unknown."""
    if amount is None:
        return "-"
    value = float(amount)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{amount} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{amount} B"


# What restic says when the repository was never created (exit code 10 from 0.17 on, 1
# before, with this text in both).
_NO_REPOSITORY = ("Is there a repository at the following location?", "repository does not exist")


def no_repository(lines: Iterable[str]) -> bool:
    """restic found no repository there: no backup has run yet."""
    lines = list(lines)
    for line in lines:
        if any(text in line for text in _NO_REPOSITORY):
            return True
    return any(
        isinstance(d, dict) and d.get("message_type") == "exit_error" and d.get("code") == 10
        for d in _documents(lines)
    )
