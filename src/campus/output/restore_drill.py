"""What `campus drill restore` prints: the verdict, RTO and RPO, the stages, the counts
that differ; and the same as a self-contained HTML page (`--report FILE.html`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from campus.restore.drill import RestoreDrillReport


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _verdict(report: RestoreDrillReport) -> str:
    if report.error:
        return f"FAILED: {report.error}"
    if report.mismatches:
        return f"FAILED: {len(report.mismatches)} count(s) differ"
    return "passed" if report.passed else "FAILED: nothing was counted"


def restore_drill_view(report: RestoreDrillReport) -> RenderableType:
    snapshot = report.snapshot
    lines: list[RenderableType] = [
        Text.from_markup(
            f"restore drill of [bold]{report.environment}[/] into {report.scratch}: "
            + ("[green]passed[/]" if report.passed else f"[red]{_verdict(report)}[/]")
        ),
        Text(
            f"snapshot {snapshot.short_id if snapshot else '-'}"
            f" ({snapshot.time if snapshot else '-'}); RPO (its age) "
            f"{_seconds(report.snapshot_age_seconds)}; RTO (copy, restore, load) "
            f"{_seconds(report.rto_seconds)}; "
            f"{len(report.restored_counts)} tables and collections counted"
        ),
    ]
    stages = Table(box=None, title="stages", title_justify="left")
    for column in ("STAGE", "FROM", "TO"):
        stages.add_column(column)
    for stage in report.stages:
        stages.add_row(stage.name, f"{stage.started:.1f}s", f"{stage.ended:.1f}s")
    lines.append(stages)
    if report.mismatches:
        differ = Table(box=None, title="counts that differ", title_justify="left")
        for column in ("WHAT", "SOURCE", "RESTORED"):
            differ.add_column(column)
        for m in report.mismatches:
            differ.add_row(m.what, _count(m.source), _count(m.restored))
        lines.append(differ)
    return Group(*lines)


def _count(value: int | None) -> str:
    return "missing" if value is None else str(value)


def _bar(name: str, start: float, end: float, total: float) -> str:
    left, width = 100 * start / total, max(100 * (end - start) / total, 0.5)
    return (
        f'<tr><td>{html.escape(name)}</td><td class="axis"><div class="bar" '
        f'style="margin-left:{left:.2f}%;width:{width:.2f}%"></div></td>'
        f"<td>{end - start:.1f}s</td></tr>"
    )


def restore_drill_html(report: RestoreDrillReport) -> str:
    """One page: the verdict, the figures, a bar per stage on one time axis, the counts."""
    total = max((s.ended for s in report.stages), default=1.0) or 1.0
    bars = "\n".join(_bar(s.name, s.started, s.ended, total) for s in report.stages)
    keys = sorted(set(report.source_counts) | set(report.restored_counts))
    differing = {m.what for m in report.mismatches}
    rows = "\n".join(
        f'<tr class="{"bad" if k in differing else ""}"><td>{html.escape(k)}</td>'
        f"<td>{_count(report.source_counts.get(k))}</td>"
        f"<td>{_count(report.restored_counts.get(k))}</td></tr>"
        for k in keys
    )
    snapshot = report.snapshot
    verdict = html.escape(_verdict(report))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>restore drill: {html.escape(report.environment)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
.passed {{ color: #1a7f37; }} .failed {{ color: #cf222e; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ padding: 2px 10px; text-align: left; }}
td.axis {{ width: 480px; background: #f3f4f6; }}
.bar {{ height: 12px; background: #3b82f6; }}
tr.bad td {{ background: #ffebe9; }}
</style></head><body>
<h1>Restore drill: {html.escape(report.environment)}</h1>
<p class="{"passed" if report.passed else "failed"}"><strong>{verdict}</strong></p>
<p>Snapshot {html.escape(snapshot.short_id if snapshot else "-")}
({html.escape(snapshot.time if snapshot else "-")}, release
{html.escape((snapshot.release or "-") if snapshot else "-")}) restored into
{html.escape(report.scratch)}.<br>
RPO (the snapshot's age): {_seconds(report.snapshot_age_seconds)}.
RTO (scratch copy, restore and load): {_seconds(report.rto_seconds)}.</p>
<h2>Stages</h2>
<table><tr><th>stage</th><th>0 s to {total:.1f} s</th><th>took</th></tr>
{bars}
</table>
<h2>Counts ({len(keys)} tables and collections)</h2>
<table><tr><th>table or collection</th><th>source</th><th>restored</th></tr>
{rows}
</table>
</body></html>
"""
