"""`campus drain` and `campus uncordon`: node upkeep on a real cluster, safely."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campus.cli.options import fleet_option, kubeconfig_option
from campus.output.tables import console


@click.command()
@click.argument("node")
@fleet_option
@kubeconfig_option
@click.option("--dry-run", is_flag=True, help="Say what would move where; change nothing.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds the evictions may take.")
def drain(
    node: str, fleet_file: Path, kubeconfig: str | None, dry_run: bool, timeout: float
) -> None:
    """Cordon NODE and evict its pods through the Eviction API, honouring every
    PodDisruptionBudget, as `kubectl drain` does. Refuses, with the reason and nothing
    changed, when the drain would leave a production service of the fleet with no ready
    replica; names a budget that would block the drain forever, with its fix."""
    from campus.drill.drain import drain as drain_node
    from campus.drill.drain import read_plan
    from campus.output.drill import drain_plan_view, drain_result_view
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    environments = list(fleet.environments)
    if dry_run:
        plan = read_plan(client, node, environments)
        console().print(drain_plan_view(plan))
        if not plan.allowed:
            sys.exit(1)
        return
    result = drain_node(
        client,
        node,
        environments,
        timeout=timeout,
        progress=lambda message: click.echo(f"drain: {message}", err=True),
    )
    console().print(drain_result_view(result))
    if not result.complete:
        sys.exit(1)


@click.command()
@click.argument("node")
@fleet_option
@kubeconfig_option
def uncordon(node: str, fleet_file: Path, kubeconfig: str | None) -> None:
    """Let the scheduler place pods on NODE again (undoes the cordon of a drain)."""
    from campus.kube.drain import uncordon as uncordon_node
    from campus.pipeline import connect_fleet

    _, client = connect_fleet(fleet_file, kubeconfig)
    uncordon_node(client, node)
    click.echo(f"{node} uncordoned")
