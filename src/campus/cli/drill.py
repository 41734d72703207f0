"""`campus drill`: rehearse failures on the sandbox and measure what users would see."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campus.cli.options import fleet_option, output_option
from campus.output.tables import console, print_structured


@click.group()
def drill() -> None:
    """Rehearse failures on the sandbox (never on a real cluster)."""


@drill.command("node-failure")
@fleet_option
@click.option("--node", default=None, help="The node to fail (default: the busiest).")
@click.option(
    "--sandbox",
    "sandbox_name",
    default=None,
    help="The sandbox the fleet runs on (default: the fleet file's `cluster.sandbox`).",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for recovery.")
@click.option("--keep-failed", is_flag=True, help="Leave the node failed afterwards.")
@output_option()
def node_failure(
    fleet_file: Path,
    node: str | None,
    sandbox_name: str | None,
    timeout: float,
    keep_failed: bool,
    output: str,
) -> None:
    """Fail a node and measure every service's ready replicas each second until the fleet
    is whole again. Exits non-zero if a production web service had no ready replica,
    a pod could not be rescheduled, or the fleet did not recover."""
    from campus.drill.node_failure import run_node_failure
    from campus.drill.target import drill_sandbox
    from campus.pipeline import load

    def progress(message: str) -> None:
        click.echo(f"drill: {message}", err=True)

    fleet = load(fleet_file)
    report = run_node_failure(
        drill_sandbox(fleet, sandbox_name),
        list(fleet.environments),
        node=node,
        timeout=timeout,
        restore=not keep_failed,
        progress=progress,
    )
    if output == "table":
        from campus.output.drill import drill_view

        console().print(drill_view(report))
    else:
        print_structured(report.to_dict(), output)
    if not report.passed:
        sys.exit(1)
