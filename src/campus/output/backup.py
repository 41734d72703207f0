"""What `campus backup` and `campus backups` print: the snapshot a backup made, the
snapshots of an environment, and their stable `-o json|yaml` documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC
from typing import TYPE_CHECKING, Any

from rich.table import Table

from campus.backup.jobs import Run
from campus.backup.restic import BackupSummary, Snapshot, size_text
from campus.output.tables import console, print_structured

if TYPE_CHECKING:
    from campus.restore.run import Restored

BACKUP_API_VERSION = "campus.openedx.org/v1alpha1"


def backup_document(environment: str, run: Run, summary: BackupSummary | None) -> dict[str, Any]:
    return {
        "apiVersion": BACKUP_API_VERSION,
        "kind": "Backup",
        "environment": environment,
        "job": run.job,
        "pod": run.pod,
        "node": run.node,
        "succeeded": not run.failed,
        "message": run.stage.message,
        "snapshot": asdict(summary) if summary else None,
        "log": run.lines if run.failed else [],
    }


def print_backup(environment: str, run: Run, summary: BackupSummary | None, output: str) -> None:
    if output in ("json", "yaml"):
        print_structured(backup_document(environment, run, summary), output)
        return
    out = console()
    if run.failed:
        out.print(f"[bold red]backup of {environment} failed[/]: {run.stage.message}")
        if run.lines:
            out.print(f"last log lines of {run.stage.container or 'the pod'} ({run.pod}):")
            for line in run.lines:
                out.print(f"  {line}", markup=False, highlight=False)
        return
    if summary is None:
        out.print(
            f"backup of {environment}: {run.job} completed, but its log holds no restic "
            "summary: see `campus backups " + environment + "`"
        )
        return
    packed = (
        f" ({size_text(summary.data_added_packed)} stored)"
        if summary.data_added_packed is not None
        else ""
    )
    out.print(f"[green]backed up {environment}[/]: snapshot {summary.snapshot_id} ({run.job})")
    out.print(
        f"  {summary.total_files_processed} files, {size_text(summary.total_bytes_processed)} "
        f"processed in {summary.total_duration:.0f}s; {summary.files_new} new, "
        f"{summary.files_changed} changed, {summary.files_unmodified} unchanged; "
        f"{size_text(summary.data_added)} added{packed}"
    )


def snapshots_document(environment: str, snapshots: Sequence[Snapshot]) -> dict[str, Any]:
    return {
        "apiVersion": BACKUP_API_VERSION,
        "kind": "SnapshotList",
        "environment": environment,
        "snapshots": [
            {**asdict(s), "tags": list(s.tags), "paths": list(s.paths), "release": s.release}
            for s in snapshots
        ],
    }


def print_snapshots(environment: str, snapshots: Sequence[Snapshot], output: str) -> None:
    if output in ("json", "yaml"):
        print_structured(snapshots_document(environment, snapshots), output)
        return
    if not snapshots:
        console().print(f"{environment} has no snapshots yet: `campus backup {environment}`")
        return
    table = Table(title=f"snapshots of {environment}", title_justify="left", box=None)
    for column in ("ID", "TIME", "HOST", "RELEASE", "PATHS", "SIZE"):
        table.add_column(column, overflow="fold")
    for snapshot in snapshots:
        taken = snapshot.taken
        table.add_row(
            snapshot.short_id,
            taken.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if taken else snapshot.time,
            snapshot.hostname,
            snapshot.release or "-",
            ", ".join(snapshot.paths),
            size_text(snapshot.size),
        )
    console().print(table)


def restore_document(done: Restored) -> dict[str, Any]:
    snapshot = done.snapshot
    return {
        "apiVersion": BACKUP_API_VERSION,
        "kind": "Restore",
        "source": done.source,
        "target": done.target,
        "snapshot": {
            "id": snapshot.id,
            "time": snapshot.time,
            "release": snapshot.release,
            "paths": list(snapshot.paths),
        },
        "job": done.load.job if done.load else "",
        "node": done.load.node if done.load else "",
        "stopped": done.stopped,
        "init_jobs": done.init_jobs,
        "down_seconds": round(done.down_seconds, 1),
        "snapshot_age_seconds": None if done.age_seconds is None else round(done.age_seconds),
    }


def print_restore(done: Restored, output: str) -> None:
    if output in ("json", "yaml"):
        print_structured(restore_document(done), output)
        return
    out = console()
    into = f" into {done.target}" if done.target != done.source else ""
    out.print(
        f"[green]restored {done.source}{into}[/]: snapshot {done.snapshot.short_id} "
        f"({done.snapshot.time}), by {done.load.job if done.load else '-'}"
    )
    age = "-" if done.age_seconds is None else f"{done.age_seconds:.0f}s"
    out.print(f"  down for {done.down_seconds:.1f}s; the snapshot was {age} old")
    if done.stopped:
        out.print(
            "  applications back: " + ", ".join(f"{n} ({c})" for n, c in done.stopped.items())
        )
    if done.init_jobs:
        out.print("  init Jobs run again: " + ", ".join(done.init_jobs))
