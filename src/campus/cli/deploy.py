"""`campus deploy`, `diff`, `history`, `rollback`, `destroy`: changing what runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from campus.cli.deploying import show_deploy
from campus.cli.options import (
    fleet_option,
    kubeconfig_option,
    output_option,
    reads_deployed,
    timeout_option,
)
from campus.deploy.model import DeployOptions
from campus.output.tables import print_diff, print_history

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every environment of the fleet (the default).")
@fleet_option
@kubeconfig_option
@click.option("--dry-run", is_flag=True, help="Server-side dry run: validate, change nothing.")
@click.option("--prune-data", is_flag=True, help="Also prune volumes and data no longer rendered.")
@click.option("--no-prune", is_flag=True, help="Keep objects no longer rendered.")
@timeout_option
@click.option("--parallel", default=4, show_default=True, help="Environments deployed at once.")
@click.option(
    "--force", is_flag=True, help="Make a release change campus refuses (a downgrade, a skip)."
)
@click.option(
    "--maintenance", is_flag=True, help="On a release change, serve a maintenance page meanwhile."
)
def deploy(
    environments: tuple[str, ...],
    all_: bool,
    fleet_file: Path,
    kubeconfig: str | None,
    dry_run: bool,
    prune_data: bool,
    no_prune: bool,
    timeout: float,
    parallel: int,
    force: bool,
    maintenance: bool,
) -> None:
    """Deploy environments in health-gated phases (all of them by default)."""
    from campus.deploy.engine import deploy_fleet
    from campus.output.state import StateOrigin, state_lines
    from campus.pipeline import connect_fleet, deploy_requests

    if all_ and environments:
        raise click.UsageError("give environment names or --all, not both")
    fleet, client = connect_fleet(fleet_file, kubeconfig)
    requests = deploy_requests(fleet, environments, client)
    for line in state_lines([StateOrigin(r.environment, r.state_origin) for r in requests]):
        click.echo(line, err=True)
    options = DeployOptions(
        dry_run=dry_run,
        prune=not no_prune,
        prune_data=prune_data,
        phase_timeout=timeout,
        force=force,
        maintenance=maintenance,
    )
    show_deploy(
        "campus deploy",
        lambda progress: deploy_fleet(client, requests, options, progress, parallel),
    )


@click.command()
@click.argument("environment")
@fleet_option
@kubeconfig_option
def diff(environment: str, fleet_file: Path, kubeconfig: str | None) -> None:
    """Show what a deploy of ENVIRONMENT would change (server-side dry run), and the
    release upgrade it would run."""
    from campus.deploy.diff import planned_upgrade, what_would_change
    from campus.pipeline import connect_fleet, deploy_requests

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    [request] = deploy_requests(fleet, [environment], client)
    upgrade = planned_upgrade(client, request, force=True)
    print_diff(environment, what_would_change(client, request), upgrade)


@click.command()
@click.argument("environment")
@reads_deployed()
@output_option()
def history(environment: str, reading: Reading, output: str) -> None:
    """List the recorded revisions of ENVIRONMENT, newest last. Needs no fleet file: the
    cluster holds the revisions."""
    from campus.deploy.history import list_revisions
    from campus.status.discover import locate

    name, namespace = locate(reading.client, reading.fleet, environment, reading.where)
    print_history(environment, list_revisions(reading.client, namespace, name), output)


@click.command()
@click.argument("environment")
@click.argument("revision", required=False, type=int)
@fleet_option
@kubeconfig_option
@timeout_option
@click.option(
    "--force", is_flag=True, help="Roll back across a release change (an Open edX downgrade)."
)
def rollback(
    environment: str,
    revision: int | None,
    fleet_file: Path,
    kubeconfig: str | None,
    timeout: float,
    force: bool,
) -> None:
    """Re-apply a recorded REVISION of ENVIRONMENT (default: the one before the newest).

    A revision of an older Tutor release is a downgrade, refused unless --force (restore
    the databases from before the upgrade as well)."""
    from campus.deploy.engine import deploy_fleet
    from campus.deploy.rollback import rollback_request
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    target, request = rollback_request(client, fleet.environment(environment), revision)
    options = DeployOptions(phase_timeout=timeout, force=force)
    show_deploy(
        f"campus rollback {environment} to revision {target.number}",
        lambda progress: deploy_fleet(client, [request], options, progress),
    )


@click.command()
@click.argument("environment")
@fleet_option
@kubeconfig_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--delete-data", is_flag=True, help="Also delete volumes, data Secrets and the namespace."
)
def destroy(
    environment: str, fleet_file: Path, kubeconfig: str | None, yes: bool, delete_data: bool
) -> None:
    """Remove ENVIRONMENT from the cluster; its data stays unless --delete-data."""
    from campus.deploy.destroy import destroy_environment
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    env = fleet.environment(environment)
    what = "everything, DATA INCLUDED," if delete_data else "everything but its data"
    if not yes:
        click.confirm(f"Remove {what} of {environment} (namespace {env.namespace})?", abort=True)
    removed, kept = destroy_environment(client, env, delete_data)
    click.echo(f"{environment}: removed {len(removed)} objects")
    for key in kept:
        click.echo(f"  kept {key}")
    if kept:
        click.echo(f"  (data kept; `campus destroy {environment} --delete-data` removes it)")
