"""The node-failure drill's report, for a terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from campus.drill.availability import DrillReport


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def drill_view(report: DrillReport) -> RenderableType:
    summary = Table.grid(padding=(0, 2))
    summary.add_row("failed node", f"{report.node} ({report.pods_on_node} fleet pods on it)")
    summary.add_row("marked NotReady after", _seconds(report.detected_after))
    summary.add_row("fleet whole again after", _seconds(report.recovered_after))
    summary.add_row(
        "services without a ready replica",
        ", ".join(
            f"{s.environment}/{s.service} {s.seconds_without_ready:.0f}s" for s in report.outages
        )
        or "none",
    )
    services = Table(box=None, pad_edge=False)
    for column in ("ENVIRONMENT", "SERVICE", "DESIRED", "LOWEST", "NO READY", "BELOW DESIRED"):
        services.add_column(column)
    for service in report.services:
        if service.seconds_below_desired == 0:
            continue
        style = "red" if service.must_stay_up and service.seconds_without_ready else None
        services.add_row(
            service.environment,
            service.service,
            str(service.desired),
            str(service.lowest),
            f"{service.seconds_without_ready:.0f}s",
            f"{service.seconds_below_desired:.0f}s",
            style=style,
        )
    parts: list[RenderableType] = [summary, Text("")]
    if services.row_count:
        parts += [Text("services that lost replicas", style="bold"), services, Text("")]
    for line in report.unschedulable:
        parts.append(Text(f"could not be rescheduled: {line}", style="red"))
    if report.passed:
        verdict = Text(
            "PASSED: no production web service was ever without a ready replica", style="green"
        )
    elif report.unschedulable:
        verdict = Text(
            "FAILED: pods could not be rescheduled on the remaining nodes "
            "(`campus plan` gives the node count that survives a lost node)",
            style="bold red",
        )
    elif report.recovered_after is None:
        verdict = Text("FAILED: the fleet did not recover before the timeout", style="bold red")
    else:
        names = ", ".join(f"{s.environment}/{s.service}" for s in report.broken_promises)
        verdict = Text(f"FAILED: production web services went down: {names}", style="bold red")
    parts.append(verdict)
    return Group(*parts)
