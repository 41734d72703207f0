"""The fleet status view: a health line per environment, then its pods, kubectl-style."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from campus.output.columns import Columns
from campus.status.model import EnvironmentStatus, age

STATUS_API_VERSION = "campus.openedx.org/v1alpha1"


def status_document(statuses: Sequence[EnvironmentStatus]) -> dict[str, Any]:
    """The stable, documented shape of `campus status -o json|yaml`."""
    return {
        "apiVersion": STATUS_API_VERSION,
        "kind": "FleetStatus",
        "environments": [s.to_dict() for s in statuses],
    }


def _services_cell(status: EnvironmentStatus) -> str:
    if not status.deployed:
        return "-"
    ready = sum(1 for s in status.services if s.ready >= s.desired)
    return f"{ready}/{len(status.services)}"


def _hpa_cell(status: EnvironmentStatus) -> str:
    """`lms 3 of 3-8`: replicas now, of the autoscaler's range. One that has not yet
    reported a count (just created, or no CPU metrics yet) gives its range and says why
    the count is missing, `cms 2-4 (no count yet)`, in words rather than a question mark."""
    cells = []
    for s in status.services:
        if s.hpa_max is None:
            continue
        if s.hpa_current is None:
            cells.append(f"{s.name} {s.hpa_min}-{s.hpa_max} (no count yet)")
        else:
            cells.append(f"{s.name} {s.hpa_current} of {s.hpa_min}-{s.hpa_max}")
    return ", ".join(cells) or "-"


def _backup_cell(status: EnvironmentStatus, now: datetime) -> Text:
    """`3h ago`, red when late or when the newest run failed; `never` before the first
    success; `-` when the environment has no backups."""
    backup = status.backup
    if backup is None:
        return Text("-", style="dim")
    text = f"{age(backup.last_success, now)} ago" if backup.last_success else "never"
    if backup.last_run_failed:
        text += " (last run failed)"
    return Text(text, style="red" if backup.late or backup.last_run_failed else "")


def status_view(statuses: Sequence[EnvironmentStatus], wide: bool = False) -> RenderableType:
    now = datetime.now(UTC)
    fleet = Table(title="fleet", title_justify="left", box=None, pad_edge=False)
    columns = ["ENVIRONMENT", "NAMESPACE", "HEALTH", "SERVICES", "HPA", "REVISION", "BACKUP"]
    columns.append("PROBLEMS")
    if wide:
        columns.insert(6, "RELEASE")
    for column in columns:
        fleet.add_column(column, overflow="fold")
    for status in statuses:
        health = (
            Text("not deployed", style="dim")
            if not status.deployed
            else Text("ok", style="green")
            if status.healthy
            else Text("degraded", style="red")
        )
        revision = (
            f"{status.revision} ({age(status.deployed_at, now)} ago)" if status.revision else "-"
        )
        cells: list[str | Text] = [
            status.name,
            status.namespace,
            health,
            _services_cell(status),
            _hpa_cell(status),
            revision,
            _backup_cell(status, now) if status.deployed else Text("-", style="dim"),
            "; ".join(status.problems[:3]) + (" …" if len(status.problems) > 3 else "") or "-",
        ]
        if wide:
            cells.insert(6, status.release or "-")
        fleet.add_row(*cells)
    columns = ["ENVIRONMENT", "POD", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    if wide:
        columns.insert(2, "SERVICE")
    pods = Columns(columns)  # a row per pod: rich's Table takes a second for 1,500
    for status in statuses:
        for pod in status.pods:
            row = [
                status.name,
                pod.name,
                pod.ready,
                pod.status,
                str(pod.restarts),
                pod.age,
                pod.node,
            ]
            if wide:
                row.insert(2, pod.service)
            style = (
                None
                if pod.status == "Running" and pod.ready.split("/")[0] == pod.ready.split("/")[1]
                else "yellow"
            )
            pods.add_row(row, style=style)
    return Group(fleet, Text(""), pods)
