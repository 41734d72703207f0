"""`campus scale` and `campus autoscale`: change replicas or autoscaling in the fleet file,
then deploy, so the next deploy keeps the change (unlike `kubectl scale`)."""

from __future__ import annotations

from pathlib import Path

import click
from lightkube import Client

from campus.cli.deploy import _fail, _finish, fleet_option, kubeconfig_option
from campus.errors import CampusError, ClusterError
from campus.scale.change import Change

no_deploy_option = click.option(
    "--no-deploy", is_flag=True, help="Only write the fleet file; deploy later."
)
timeout_option = click.option(
    "--timeout", default=600.0, show_default=True, help="Seconds each deploy phase may take."
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


def _client(fleet_file: Path, kubeconfig: str | None, no_deploy: bool) -> Client | None:
    """The fleet's cluster; with --no-deploy one out of reach only skips the capacity check."""
    from campus.kube.connect import connect
    from campus.pipeline import load

    fleet = load(fleet_file)
    try:
        return connect(fleet.cluster, kubeconfig)
    except ClusterError as error:
        if not no_deploy:
            raise
        click.echo(f"note: capacity not checked: {error}", err=True)
        return None


def _deploy(change: Change, client: Client | None, timeout: float) -> None:
    from campus.deploy.engine import DeployOptions, deploy_fleet
    from campus.output.progress import LiveProgress
    from campus.scale.cluster import hand_replicas_to_autoscaler

    assert change.request is not None and client is not None
    request = change.request
    for deployment in change.autoscaled_now:
        kept = hand_replicas_to_autoscaler(client, request.namespace, deployment)
        if kept is not None:
            click.echo(f"{deployment}: {kept} replicas kept while its autoscaler takes over")
    with LiveProgress(f"campus deploy {request.environment}") as progress:
        results = deploy_fleet(client, [request], DeployOptions(phase_timeout=timeout), progress)
    _finish(results)


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
    from campus.output.scale import print_change
    from campus.scale.change import scale as scale_change

    wanted = _counts(counts)
    try:
        client = _client(fleet_file, kubeconfig, no_deploy)
        change = scale_change(fleet_file, environment, wanted, client)
        print_change(fleet_file, change)
        if not no_deploy:
            _deploy(change, client, timeout)
    except CampusError as error:
        raise _fail(error) from None


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
    from campus.output.scale import print_change
    from campus.scale import change as changes

    if off and (minimum is not None or maximum is not None or cpu is not None):
        raise click.UsageError("--off takes no --min, --max or --cpu")
    if not off and (minimum is None or maximum is None):
        raise click.UsageError("give --min and --max (or --off)")
    try:
        client = _client(fleet_file, kubeconfig, no_deploy)
        if off:
            change = changes.autoscale_off(fleet_file, environment, service, client)
        else:
            assert minimum is not None and maximum is not None
            change = changes.autoscale(
                fleet_file, environment, service, minimum, maximum, cpu, client
            )
        print_change(fleet_file, change)
        if not no_deploy:
            _deploy(change, client, timeout)
    except CampusError as error:
        raise _fail(error) from None
