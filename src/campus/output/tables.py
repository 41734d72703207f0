"""Tables and structured output for deploy, diff and history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from campus import plain_yaml
from campus.deploy.changes import Change
from campus.deploy.model import DeployResult
from campus.deploy.recovery import failure_advice
from campus.deploy.revisions import Revision
from campus.deploy.upgrade import UpgradePlan

_OUTCOME_STYLE = {"deployed": "green", "unchanged": "dim", "failed": "bold red", "planned": "cyan"}


def console() -> Console:
    """Terminal width on a terminal; elsewhere (CI logs, pipes) wide enough for a row."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 160)


def print_deploy_summary(results: Sequence[DeployResult]) -> None:
    table = Table(title="campus deploy")
    for column in ("ENVIRONMENT", "NAMESPACE", "RESULT", "REVISION", "TIME", "DETAIL"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(
            result.environment,
            result.namespace,
            f"[{_OUTCOME_STYLE[result.outcome]}]{result.outcome}[/]",
            str(result.revision or "-"),
            f"{result.seconds:.1f}s",
            result.message,
        )
    console().print(table)
    ok = sum(r.outcome != "failed" for r in results)
    console().print(f"{ok}/{len(results)} environments succeeded")


def print_deploy_results(results: Sequence[DeployResult]) -> bool:
    """The summary table, then each failure with its details and what to do next (on
    stderr); True when every environment succeeded."""
    import sys

    print_deploy_summary(results)
    failed = [r for r in results if r.outcome == "failed"]
    for result in failed:
        advice = failure_advice(
            result.environment,
            result.namespace,
            history_read=result.history_read,
            previous_revision=result.previous_revision,
            failed_phase=result.failed_phase,
            applied=result.applied,
        )
        lines = [f"\n{result.environment}: {result.message}"]
        lines += [f"  {line}" for line in (*result.details, *advice)]
        sys.stderr.write("\n".join(lines) + "\n")
    return not failed


def print_history(environment: str, revisions: Sequence[Revision], output: str) -> None:
    rows = [
        {
            "revision": r.number,
            "deployedAt": r.deployed_at,
            "deployedBy": r.deployed_by,
            "campusVersion": r.campus_version,
            "tutorVersion": r.tutor_version,
            "pluginVersions": r.plugin_versions,
            "release": r.release,
            "fleetHash": r.fleet_hash[:12],
            "digest": r.digest[:12],
            "objects": len(r.objects),
            "initJobs": len(r.init_jobs),
            "rotated": list(r.rotated),
        }
        for r in revisions
    ]
    if output != "table":
        print_structured({"environment": environment, "revisions": rows}, output)
        return
    table = Table(title=f"history of {environment}")
    columns = ("REVISION", "DEPLOYED", "BY", "CAMPUS", "RELEASE", "FLEET", "DIGEST", "OBJECTS")
    for column in (*columns, "ROTATED"):
        table.add_column(column, overflow="fold")
    for row, revision in zip(rows, revisions, strict=True):
        table.add_row(
            str(row["revision"]),
            str(row["deployedAt"]),
            str(row["deployedBy"]),
            str(row["campusVersion"]),
            str(row["release"] or row["tutorVersion"]),
            str(row["fleetHash"]),
            str(row["digest"]),
            str(row["objects"]),
            ", ".join(revision.rotated),
        )
    console().print(table)


def print_diff(
    environment: str, changes: Sequence[Change], upgrade: UpgradePlan | None = None
) -> None:
    """The release change a deploy would make, with its steps and what a deploy would
    refuse without --force; then each change and its diff (Secret values already masked)."""
    out = console()
    if upgrade is not None:
        out.print(f"[bold]{upgrade.describe()}[/]", highlight=False)
        for planned in upgrade.steps:
            out.print(f"  leaving {planned.release}: {planned.step.what}", markup=False)
        for reason in upgrade.overridden:
            out.print(f"  [red]deploy refuses without --force:[/] {reason}", highlight=False)
    if not changes:
        out.print(f"{environment}: no changes")
        return
    for change in changes:
        style = {"create": "green", "delete": "red"}.get(change.action, "yellow")
        out.print(f"[{style}]{change.action}[/] {change.target}")
        if change.diff:
            out.print(change.diff, markup=False, highlight=False)
    out.print(f"{environment}: {len(changes)} objects would change")


def print_structured(value: Any, output: str) -> None:
    import sys

    if output == "json":
        json.dump(value, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        plain_yaml.dump(value, sys.stdout)
