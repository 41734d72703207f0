"""`campus deploy`, `diff`, `history`, `rollback`, `destroy`: changing what runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from campus.deploy.engine import DeployOptions, DeployRequest, DeployResult, deploy_fleet
from campus.deploy.recovery import failure_advice
from campus.deploy.revisions import Revision
from campus.errors import CampusError
from campus.fleet.model import Environment, Fleet
from campus.output.progress import LiveProgress
from campus.output.tables import print_deploy_summary, print_diff, print_history

FC = TypeVar("FC", bound=Callable[..., object])


def fleet_file_option(*flags: str) -> Callable[[FC], FC]:
    """The fleet file option, `-f/--file` unless a command needs `-f` for itself."""
    return click.option(
        *(flags or ("-f", "--file")),
        "fleet_file",
        default="fleet.yml",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The fleet file.",
    )


fleet_option = fleet_file_option()
kubeconfig_option = click.option(
    "--kubeconfig", default=None, help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."
)


def _fail(error: CampusError) -> click.ClickException:
    """Operator-facing errors print as one line, without a traceback, and exit 1."""
    return click.ClickException(str(error))


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every environment of the fleet (the default).")
@fleet_option
@kubeconfig_option
@click.option("--dry-run", is_flag=True, help="Server-side dry run: validate, change nothing.")
@click.option("--prune-data", is_flag=True, help="Also prune volumes and data no longer rendered.")
@click.option("--no-prune", is_flag=True, help="Keep objects no longer rendered.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds each phase may take.")
@click.option("--parallel", default=4, show_default=True, help="Environments deployed at once.")
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
) -> None:
    """Deploy environments in health-gated phases (all of them by default)."""
    from campus.pipeline import connect_fleet, deploy_requests

    if all_ and environments:
        raise click.UsageError("give environment names or --all, not both")
    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        requests = deploy_requests(fleet, fleet_file, list(environments))
        options = DeployOptions(
            dry_run=dry_run, prune=not no_prune, prune_data=prune_data, phase_timeout=timeout
        )
        with LiveProgress("campus deploy") as progress:
            results = deploy_fleet(client, requests, options, progress, parallel)
    except CampusError as error:
        raise _fail(error) from None
    _finish(results)


def _finish(results: list[DeployResult]) -> None:
    print_deploy_summary(results)
    failed = [r for r in results if r.outcome == "failed"]
    for result in failed:
        click.echo(f"\n{result.environment}: {result.message}", err=True)
        for line in result.details:
            click.echo(f"  {line}", err=True)
        advice = failure_advice(
            result.environment,
            result.namespace,
            history_read=result.history_read,
            previous_revision=result.previous_revision,
            failed_phase=result.failed_phase,
            applied=result.applied,
        )
        for line in advice:
            click.echo(f"  {line}", err=True)
    if failed:
        sys.exit(1)


@click.command()
@click.argument("environment")
@fleet_option
@kubeconfig_option
def diff(environment: str, fleet_file: Path, kubeconfig: str | None) -> None:
    """Show what a deploy of ENVIRONMENT would change (server-side dry run)."""
    from campus.pipeline import connect_fleet, deploy_requests, diff_environment

    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        [request] = deploy_requests(fleet, fleet_file, [environment])
        changes = diff_environment(client, request)
    except CampusError as error:
        raise _fail(error) from None
    print_diff(environment, changes)


@click.command()
@click.argument("environment")
@fleet_option
@kubeconfig_option
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
def history(environment: str, fleet_file: Path, kubeconfig: str | None, output: str) -> None:
    """List the recorded revisions of ENVIRONMENT, newest last."""
    from campus.deploy.history import list_revisions
    from campus.pipeline import connect_fleet

    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        env = _environment(fleet, environment)
        revisions = list_revisions(client, env.namespace, env.name)
    except CampusError as error:
        raise _fail(error) from None
    print_history(environment, revisions, output)


@click.command()
@click.argument("environment")
@click.argument("revision", required=False, type=int)
@fleet_option
@kubeconfig_option
@click.option("--timeout", default=600.0, show_default=True, help="Seconds each phase may take.")
def rollback(
    environment: str, revision: int | None, fleet_file: Path, kubeconfig: str | None, timeout: float
) -> None:
    """Re-apply a recorded REVISION of ENVIRONMENT (default: the one before the newest)."""
    from campus.deploy.history import list_revisions
    from campus.pipeline import connect_fleet

    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        env = _environment(fleet, environment)
        revisions = list_revisions(client, env.namespace, env.name)
        target = _pick_revision(env.name, revisions, revision)
        request = DeployRequest(
            environment=env.name,
            namespace=env.namespace,
            objects=list(target.objects),
            init_jobs=list(target.init_jobs),
            tutor_version=target.tutor_version,
            fleet_hash=target.fleet_hash,
        )
        with LiveProgress(f"campus rollback {environment} to revision {target.number}") as progress:
            results = deploy_fleet(
                client, [request], DeployOptions(phase_timeout=timeout), progress
            )
    except CampusError as error:
        raise _fail(error) from None
    _finish(results)


def _pick_revision(environment: str, revisions: list[Revision], number: int | None) -> Revision:
    if not revisions:
        raise CampusError(f"{environment} has no recorded revision yet: deploy it first")
    if number is None:
        if len(revisions) < 2:
            raise CampusError(
                f"{environment} has only revision {revisions[0].number}: nothing to roll back to"
            )
        return revisions[-2]
    for candidate in revisions:
        if candidate.number == number:
            return candidate
    known = ", ".join(str(r.number) for r in revisions)
    raise CampusError(f"{environment} has no revision {number}; recorded: {known}")


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
    from campus.pipeline import connect_fleet, destroy_environment

    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        env = _environment(fleet, environment)
        what = "everything, DATA INCLUDED," if delete_data else "everything but its data"
        if not yes:
            click.confirm(
                f"Remove {what} of {environment} (namespace {env.namespace})?", abort=True
            )
        removed, kept = destroy_environment(client, env, delete_data)
    except CampusError as error:
        raise _fail(error) from None
    click.echo(f"{environment}: removed {len(removed)} objects")
    for key in kept:
        click.echo(f"  kept {key}")
    if kept:
        click.echo(f"  (data kept; `campus destroy {environment} --delete-data` removes it)")


def _environment(fleet: Fleet, name: str) -> Environment:
    try:
        return fleet.environment(name)
    except KeyError:
        known = ", ".join(e.name for e in fleet.environments)
        raise CampusError(f"no environment {name!r} in the fleet; known: {known}") from None
