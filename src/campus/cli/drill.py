"""`campus drill`: rehearse failures and upkeep on the sandbox and measure what users
would see."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from campus.cli.options import fleet_option, output_option, reads_deployed
from campus.output.tables import console, print_structured

if TYPE_CHECKING:
    from campus.pipeline import Reading

FC = TypeVar("FC", bound=Callable[..., object])


def _progress(message: str) -> None:
    click.echo(f"drill: {message}", err=True)


def _common(command: FC) -> FC:
    """The options every drill shares: which sandbox, the output, the picture."""
    for option in reversed(
        [
            fleet_option,
            click.option(
                "--sandbox",
                "sandbox_name",
                default=None,
                help="The sandbox the fleet runs on (default: the fleet file's `cluster.sandbox`).",
            ),
            output_option(),
            click.option(
                "--report",
                "picture",
                default=None,
                type=click.Path(dir_okay=False, path_type=Path),
                help="Also draw the drill: ready replicas over time, as FILE.html or FILE.png.",
            ),
        ]
    ):
        command = option(command)
    return command


def _failure(command: FC) -> FC:
    """The options of the drills that fail nodes: how long to wait, whether to restore."""
    command = click.option(
        "--keep-failed", is_flag=True, help="Leave the failed nodes failed afterwards."
    )(command)
    return click.option(
        "--timeout", default=300.0, show_default=True, help="Seconds to wait for recovery."
    )(command)


def _finish(report: Any, output: str, picture: Path | None, title: str) -> None:
    """Print the report, draw it if asked, exit 1 when it failed."""
    from campus.output.drill import drill_view

    if picture is not None:
        from campus.output.drill_picture import write_picture

        write_picture(report.timeline, picture, title)
        _progress(f"picture written to {picture}")
    if output == "table":
        console().print(drill_view(report))
    else:
        print_structured(report.to_dict(), output)
    if not report.passed:
        sys.exit(1)


def _sandbox(fleet_file: Path, sandbox_name: str | None) -> tuple[str, list[Any]]:
    from campus.drill.target import drill_sandbox
    from campus.pipeline import load

    fleet = load(fleet_file)
    return drill_sandbox(fleet, sandbox_name), list(fleet.environments)


def _fail(
    fleet_file: Path,
    sandbox_name: str | None,
    output: str,
    picture: Path | None,
    timeout: float,
    keep_failed: bool,
    node: str | None = None,
    zone: str | None = None,
) -> None:
    from campus.drill.node_failure import run_node_failure

    sandbox, environments = _sandbox(fleet_file, sandbox_name)
    report = run_node_failure(
        sandbox,
        environments,
        node=node,
        zone=zone,
        timeout=timeout,
        restore=not keep_failed,
        progress=_progress,
    )
    title = f"zone failure: {zone}" if zone else f"node failure: {report.node}"
    _finish(report, output, picture, title)


@click.group()
def drill() -> None:
    """Rehearse failures and upkeep on the sandbox (never on a real cluster)."""


@drill.command("node-failure")
@_common
@click.option("--node", default=None, help="The node to fail (default: the busiest).")
@_failure
def node_failure(
    fleet_file: Path,
    sandbox_name: str | None,
    output: str,
    picture: Path | None,
    node: str | None,
    timeout: float,
    keep_failed: bool,
) -> None:
    """Fail a node and measure every service's ready replicas each second until the fleet
    is whole again. Exits non-zero if a stateless production service had no ready replica,
    a pod could not be rescheduled, or the fleet did not recover."""
    _fail(fleet_file, sandbox_name, output, picture, timeout, keep_failed, node=node)


@drill.command("zone-failure")
@_common
@click.option("--zone", required=True, help="The zone whose every node fails at once.")
@_failure
def zone_failure(
    fleet_file: Path,
    sandbox_name: str | None,
    output: str,
    picture: Path | None,
    zone: str,
    timeout: float,
    keep_failed: bool,
) -> None:
    """Fail every node of a zone at once and measure what the fleet loses. Exits non-zero
    if a stateless production service had no ready replica, a pod could not be rescheduled, or
    the fleet did not recover."""
    _fail(fleet_file, sandbox_name, output, picture, timeout, keep_failed, zone=zone)


@drill.command("node-rotation")
@_common
@click.option(
    "--node", "nodes", multiple=True, help="Rotate only this node (repeatable; default: all)."
)
@click.option(
    "--node-timeout", default=300.0, show_default=True, help="Seconds one node's drain may take."
)
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds the drill may take.")
def node_rotation(
    fleet_file: Path,
    sandbox_name: str | None,
    output: str,
    picture: Path | None,
    nodes: tuple[str, ...],
    node_timeout: float,
    timeout: float,
) -> None:
    """Replace every node, one at a time, as an OS upgrade does: add a node of the same
    size and zone, cordon and drain the old one through the Eviction API, wait until the
    fleet is whole, delete it. Exits non-zero if a stateless production service had no ready
    replica or a node could not be rotated (a disruption budget that never allows an
    eviction is named, with its fix)."""
    from campus.drill.node_rotation import run_node_rotation

    sandbox, environments = _sandbox(fleet_file, sandbox_name)
    report = run_node_rotation(
        sandbox,
        environments,
        nodes,
        timeout=timeout,
        node_timeout=node_timeout,
        progress=_progress,
    )
    _finish(report, output, picture, "node rotation")


@drill.command("control-plane")
@_common
@click.option(
    "--component",
    type=click.Choice(["kube-apiserver", "kube-controller-manager", "kube-scheduler"]),
    default="kube-apiserver",
    show_default=True,
    help="The control-plane process to restart.",
)
@click.option(
    "--delay", default=3.0, show_default=True, help="Seconds into the deploy to restart it."
)
@click.option(
    "--timeout", default=300.0, show_default=True, help="Seconds each deploy phase may take."
)
def control_plane(
    fleet_file: Path,
    sandbox_name: str | None,
    output: str,
    picture: Path | None,
    component: str,
    delay: float,
    timeout: float,
) -> None:
    """Restart a control-plane process in the middle of a deploy that rolls every
    application, then deploy again. Exits non-zero if the interrupted deploy failed
    without a clear message, the next deploy did not complete, or anything was left
    half-applied, or a stateless production service lost its last ready replica."""
    from campus.drill.control_plane import run_control_plane
    from campus.drill.target import drill_sandbox
    from campus.pipeline import deploy_requests, load

    fleet = load(fleet_file)
    report = run_control_plane(
        drill_sandbox(fleet, sandbox_name),
        deploy_requests(fleet),
        component,
        delay=delay,
        phase_timeout=timeout,
        progress=_progress,
        environments=list(fleet.environments),
    )
    _finish(report, output, picture, f"control-plane restart: {component}")


@drill.command("restore")
@click.argument("environment")
@reads_deployed()
@output_option()
@click.option(
    "--report",
    "picture",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the drill as FILE.html: its stages on one time axis, every count.",
)
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds each stage may take.")
@click.option("--keep", is_flag=True, help="Leave the scratch namespace for inspection.")
def restore(
    environment: str,
    reading: Reading,
    output: str,
    picture: Path | None,
    timeout: float,
    keep: bool,
) -> None:
    """Restore ENVIRONMENT's latest snapshot into a scratch namespace and check it: every
    table's rows and every collection's documents counted on both sides, RTO and RPO
    measured, the namespace deleted. Only reads the environment. Exits non-zero on any
    difference or failure. Works on real clusters too: it needs room for a copy of the
    environment's databases."""
    from campus.output.restore_drill import restore_drill_html, restore_drill_view
    from campus.restore.drill import run_restore_drill
    from campus.status.discover import locate

    name, namespace = locate(reading.client, reading.fleet, environment, reading.where)
    report = run_restore_drill(reading.client, name, namespace, _progress, timeout, keep)
    if picture is not None:
        picture.write_text(restore_drill_html(report))
        _progress(f"report written to {picture}")
    if output == "table":
        console().print(restore_drill_view(report))
    else:
        print_structured(report.to_dict(), output)
    if not report.passed:
        sys.exit(1)
