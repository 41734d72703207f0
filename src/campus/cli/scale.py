"""`campus scale` and `campus autoscale`: change replicas or autoscaling in the fleet file,
then deploy, so the next deploy keeps the change (unlike `kubectl scale`)."""

from __future__ import annotations

from pathlib import Path

import click
from lightkube import Client

from campus.cli.options import fleet_option, kubeconfig_option, timeout_option
from campus.scale.change import Change

no_deploy_option = click.option(
    "--no-deploy", is_flag=True, help="Only write the fleet file; deploy later."
)


def _counts(pairs: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in pairs:
        service, _, number = pair.partition("=")
        if not service or not number.isdigit():
            raise click.UsageError(f"{pair!r}: expected SERVICE=N, e.g. lms=3")
        if service in counts:
            raise click.UsageError(f"{service} is given twice")
        counts[service] = int(number)
    return counts


def _note(message: str) -> None:
    click.echo(f"note: {message}", err=True)


def _show_and_deploy(
    fleet_file: Path, change: Change, client: Client | None, timeout: float
) -> None:
    """Print what was written; then, unless --no-deploy (no client), deploy it."""
    from campus.cli.deploying import show_deploy
    from campus.deploy.model import DeployOptions
    from campus.output.scale import print_change
    from campus.scale.rollout import deploy_change

    print_change(fleet_file, change)
    if client is None:
        return
    options = DeployOptions(phase_timeout=timeout)
    show_deploy(
        f"campus deploy {change.request.environment}",
        lambda progress: deploy_change(change, client, options, progress, _note),
    )


@click.command()
@click.argument("environment")
@click.argument("counts", nargs=-1, required=True, metavar="SERVICE=N...")
@fleet_option
@kubeconfig_option
@no_deploy_option
@timeout_option
def scale(
    environment: str,
    counts: tuple[str, ...],
    fleet_file: Path,
    kubeconfig: str | None,
    no_deploy: bool,
    timeout: float,
) -> None:
    """Set replicas of services of ENVIRONMENT in the fleet file, then deploy it.

    Refused, with the reason and nothing written: an unknown service, a service an
    autoscaler owns (see `campus autoscale`), a production web service below 2 replicas
    (its PodDisruptionBudget), more than one pod on a data volume, more than the cluster
    has room for.
    """
    from campus.scale.change import scale as scale_change
    from campus.scale.rollout import change_client

    wanted = _counts(counts)
    client = change_client(fleet_file, kubeconfig, no_deploy, _note)
    change = scale_change(fleet_file, environment, wanted, client)
    _show_and_deploy(fleet_file, change, None if no_deploy else client, timeout)


@click.command()
@click.argument("environment")
@click.argument("service")
@click.option("--min", "minimum", type=click.IntRange(min=1), help="Fewest replicas.")
@click.option("--max", "maximum", type=click.IntRange(min=1), help="Most replicas.")
@click.option(
    "--cpu",
    type=click.IntRange(1, 1000),
    help="Target CPU utilisation, percent of requests (default: as written, else 70).",
)
@click.option("--off", is_flag=True, help="Remove the service's autoscaling from ENVIRONMENT.")
@fleet_option
@kubeconfig_option
@no_deploy_option
@timeout_option
def autoscale(
    environment: str,
    service: str,
    minimum: int | None,
    maximum: int | None,
    cpu: int | None,
    off: bool,
    fleet_file: Path,
    kubeconfig: str | None,
    no_deploy: bool,
    timeout: float,
) -> None:
    """Set the CPU autoscaler of SERVICE in ENVIRONMENT in the fleet file, then deploy it.

    A fixed `replicas` of the service in the environment is removed (the autoscaler owns
    the count). Production web services need a floor of 2 or more.
    """
    from campus.scale import change as changes
    from campus.scale.rollout import change_client

    if off and (minimum is not None or maximum is not None or cpu is not None):
        raise click.UsageError("--off takes no --min, --max or --cpu")
    if not off and (minimum is None or maximum is None):
        raise click.UsageError("give --min and --max (or --off)")
    client = change_client(fleet_file, kubeconfig, no_deploy, _note)
    if off:
        change = changes.autoscale_off(fleet_file, environment, service, client)
    else:
        assert minimum is not None and maximum is not None
        change = changes.autoscale(fleet_file, environment, service, minimum, maximum, cpu, client)
    _show_and_deploy(fleet_file, change, None if no_deploy else client, timeout)
