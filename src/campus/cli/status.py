"""`campus status`: one view of the whole fleet."""

from __future__ import annotations

import time
from pathlib import Path

import click

from campus.cli.options import fleet_option, kubeconfig_option, output_option
from campus.errors import CampusError
from campus.output.status import status_document, status_view
from campus.output.tables import console as output_console
from campus.output.tables import print_structured


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
@kubeconfig_option
@click.option("-n", "--namespace", default=None, help="Only the environment in this namespace.")
@output_option("wide")
@click.option("-w", "--watch", is_flag=True, help="Refresh in place every two seconds.")
def status(
    environments: tuple[str, ...],
    fleet_file: Path,
    kubeconfig: str | None,
    namespace: str | None,
    output: str,
    watch: bool,
) -> None:
    """Health, services, autoscaling, revision and pods of every environment."""
    from campus.pipeline import connect_fleet
    from campus.status.collect import fleet_status

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    selected = [
        e for e in fleet.select(environments) if namespace is None or e.namespace == namespace
    ]
    if not selected:
        raise CampusError(f"no environment of {fleet_file} lives in namespace {namespace}")
    if output in ("json", "yaml"):
        print_structured(status_document(fleet_status(client, selected)), output)
        return
    wide = output == "wide"
    console = output_console()
    if not watch:
        console.print(status_view(fleet_status(client, selected), wide))
        return
    from rich.live import Live  # only a watch needs it

    try:
        with Live(console=console, refresh_per_second=1, screen=False) as live:
            while True:
                live.update(status_view(fleet_status(client, selected), wide))
                time.sleep(2)
    except KeyboardInterrupt:
        pass
