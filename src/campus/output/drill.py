"""The drills' reports and the drain's plan and result, for a terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from campus.drill.availability import DrillReport, ServiceOutcome
from campus.drill.control_plane import ControlPlaneReport
from campus.drill.drain import DrainResult
from campus.drill.drain_plan import DrainPlan, StuckBudget
from campus.drill.rotation import RotationReport


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def drill_view(report: DrillReport | RotationReport | ControlPlaneReport) -> RenderableType:
    if isinstance(report, RotationReport):
        return rotation_view(report)
    if isinstance(report, ControlPlaneReport):
        return control_plane_view(report)
    summary = Table.grid(padding=(0, 2))
    if report.zone is not None:
        summary.add_row(
            "failed zone",
            f"{report.zone}: {', '.join(report.nodes)} ({report.pods_on_node} fleet pods)",
        )
    else:
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
    services = _services_table(report.services)
    parts: list[RenderableType] = [summary, Text("")]
    if services.row_count:
        parts += [Text("services that lost replicas", style="bold"), services, Text("")]
    for line in report.unschedulable:
        parts.append(Text(f"could not be rescheduled: {line}", style="red"))
    if report.passed:
        verdict = Text(
            "PASSED: no stateless production service was ever without a ready replica",
            style="green",
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
        verdict = Text(
            f"FAILED: production stateless services went down: {names}", style="bold red"
        )
    parts.append(verdict)
    return Group(*parts)


def _services_table(outcomes: list[ServiceOutcome]) -> Table:
    """Every service that ran below its desired count at some point."""
    services = Table(box=None, pad_edge=False)
    for column in ("ENVIRONMENT", "SERVICE", "DESIRED", "LOWEST", "NO READY", "BELOW DESIRED"):
        services.add_column(column)
    for service in outcomes:
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
    return services


def _stuck_lines(stuck: list[StuckBudget]) -> list[RenderableType]:
    return [
        Text(
            f"blocks the drain forever: PodDisruptionBudget {s.namespace}/{s.budget} "
            f"({s.reason}) on {s.service}; fix: {s.fix}",
            style="red",
        )
        for s in stuck
    ]


def rotation_view(report: RotationReport) -> RenderableType:
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        "nodes rotated",
        f"{sum(r.deleted for r in report.rotated)} of {len(report.planned)} "
        f"in {report.seconds:.0f}s",
    )
    for rotated in report.rotated:
        summary.add_row(
            f"  {rotated.old}",
            f"→ {rotated.replacement}: {rotated.evicted} pods evicted, {rotated.seconds:.0f}s"
            + ("" if rotated.deleted else " (not finished: left in place, uncordoned)"),
        )
    gaps = [s for s in report.services if s.must_stay_up and s.seconds_without_ready]
    summary.add_row(
        "production gaps",
        ", ".join(f"{s.environment}/{s.service} {s.seconds_without_ready:.0f}s" for s in gaps)
        or "none (every stateless production service kept a ready replica)",
    )
    summary.add_row(
        "data-service downtime",
        ", ".join(f"{e} {v:.0f}s" for e, v in report.data_downtime.items()) or "none",
    )
    summary.add_row("evictions held back by a budget", str(report.blocked_evictions))
    parts: list[RenderableType] = [summary, Text("")]
    services = _services_table(report.services)
    if services.row_count:
        parts += [Text("services that lost replicas", style="bold"), services, Text("")]
    parts += _stuck_lines(report.stuck)
    parts += [Text(f"drain refused: {r}", style="red") for r in report.refusals]
    parts += [Text(f"could not be rescheduled: {u}", style="red") for u in report.unschedulable]
    if report.passed:
        parts.append(
            Text(
                "PASSED: every node rotated; no stateless production service was ever without a "
                "ready replica",
                style="green",
            )
        )
    elif report.broken_promises:
        names = ", ".join(f"{s.environment}/{s.service}" for s in report.broken_promises)
        parts.append(
            Text(f"FAILED: production stateless services went down: {names}", style="bold red")
        )
    else:
        parts.append(Text("FAILED: the rotation did not finish", style="bold red"))
    return Group(*parts)


def drain_plan_view(plan: DrainPlan) -> RenderableType:
    """What `campus drain --dry-run` says: what would move where, and what stops it."""
    moves = Table(box=None, pad_edge=False)
    for column in ("POD", "SERVICE", "ROOM ON"):
        moves.add_column(column)
    for move in plan.moves:
        moves.add_row(
            f"{move.namespace}/{move.pod}",
            move.service,
            ", ".join(move.room_on) or "no node has room",
            style=None if move.room_on else "red",
        )
    parts: list[RenderableType] = [
        Text(f"draining {plan.node} would evict {len(plan.moves)} pods", style="bold")
    ]
    if moves.row_count:
        parts.append(moves)
    if plan.staying:
        parts.append(
            Text(f"staying (DaemonSet, mirror or finished pods): {', '.join(plan.staying)}")
        )
    parts += _stuck_lines(plan.stuck)
    parts += [Text(f"refused: {r}", style="bold red") for r in plan.refusals]
    if plan.allowed:
        parts.append(Text("dry run: nothing was changed", style="green"))
    return Group(*parts)


def drain_result_view(result: DrainResult) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"{result.node}: {len(result.evicted)} pods evicted in {result.seconds:.0f}s")
    ]
    parts += _stuck_lines(result.stuck)
    for pod, reason in result.blocked.items():
        parts.append(Text(f"still held back: {pod}: {reason}", style="red"))
    if result.complete:
        parts.append(Text(f"{result.node} is drained and cordoned", style="green"))
    else:
        parts.append(
            Text(
                f"{result.node} is cordoned but not drained (`campus uncordon {result.node}` "
                "undoes the cordon)",
                style="bold red",
            )
        )
    return Group(*parts)


def control_plane_view(report: ControlPlaneReport) -> RenderableType:
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        f"{report.component} restarted",
        f"{report.restarted_after:.0f}s into the deploy, back after {report.back_after:.1f}s",
    )
    for title, outcomes in (("interrupted deploy", report.during), ("next deploy", report.after)):
        for outcome in outcomes:
            summary.add_row(
                f"{title}: {outcome.environment}",
                f"{outcome.outcome} in {outcome.seconds:.0f}s"
                + (f": {outcome.message}" if outcome.message else ""),
            )
    finished = report.interrupted_completed_after
    summary.add_row(
        "interrupted deploy completed after the restart",
        "no (failed)" if finished is None else f"{finished:.0f}s",
    )
    summary.add_row("next deploy completed after the restart", f"{report.completed_after:.0f}s")
    summary.add_row(
        "left half-applied",
        ", ".join(f"{e}: {n} objects" for e, n in report.left_over.items() if n) or "nothing",
    )
    if report.passed:
        verdict = Text(
            "PASSED: the deploy finished or failed clearly, and the next one completed",
            style="green",
        )
    else:
        verdict = Text(
            "FAILED: a deploy failed without a reason, the next deploy did not complete, "
            "or objects were left half-applied",
            style="bold red",
        )
    return Group(summary, Text(""), verdict)
