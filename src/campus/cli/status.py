"""`campus status`: one view of the whole fleet."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from campus.cli.options import output_option, reads_deployed
from campus.output.status import status_document, status_view
from campus.output.tables import console as output_console
from campus.output.tables import print_structured

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.command()
@click.argument("environments", nargs=-1)
@reads_deployed()
@click.option("-n", "--namespace", default=None, help="Only the environment in this namespace.")
@output_option("wide")
@click.option("-w", "--watch", is_flag=True, help="Refresh in place every two seconds.")
def status(
    environments: tuple[str, ...],
    reading: Reading,
    namespace: str | None,
    output: str,
    watch: bool,
) -> None:
    """Health, services, autoscaling, revision and pods of every environment.

    Needs no fleet file: without one (-f, or ./fleet.yml), the environments are those
    campus deployed to the cluster. With one, its environments, those not deployed yet
    said so."""
    from campus.status.collect import fleet_status
    from campus.status.discover import NotDiscoverable, deployed_environments
    from campus.status.model import known_environments, select_known

    client, fleet = reading.client, reading.fleet
    try:
        deployed = deployed_environments(client, revisions=False)
    except NotDiscoverable:
        if fleet is None:
            raise
        deployed = None  # namespaced credentials: each environment's objects tell
    known = known_environments(fleet.select(environments) if fleet else None, deployed)
    source = fleet.source if fleet else f"the cluster ({reading.where})"
    selected = select_known(known, environments, namespace, source)
    if not selected and output not in ("json", "yaml"):
        click.echo(f"No environment deployed in the cluster ({reading.where}) yet.")
        return
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
