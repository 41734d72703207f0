"""`campus secrets list|rotate`: an environment's generated secrets, by name and age, and
changing them safely. Values are never printed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from campus.cli import options
from campus.cli.deploying import show_deploy
from campus.cli.options import fleet_option, kubeconfig_option, output_option, timeout_option
from campus.deploy.model import DeployOptions

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.group()
def secrets() -> None:
    """Tutor's generated secrets of an environment: names and ages, and rotation."""


@secrets.command(name="list")
@click.argument("environment")
@options.reads_deployed()  # works from a kubeconfig alone
@output_option()
def list_(environment: str, reading: Reading, output: str) -> None:
    """Each setting of ENVIRONMENT's Tutor state: how long it has held its value, and
    whether `campus secrets rotate` changes it."""
    from campus.errors import CampusError
    from campus.output.state import print_secret_ages
    from campus.state.rotation import ages
    from campus.state.store import read_state
    from campus.status.discover import locate

    name, namespace = locate(reading.client, reading.fleet, environment, reading.where)
    stored = read_state(reading.client, namespace, name)
    if stored is None:
        raise CampusError(f"{environment}: the cluster holds no Tutor state yet: deploy it first")
    print_secret_ages(environment, ages(stored, datetime.now(UTC)), output)


@secrets.command()
@click.argument("environment")
@click.argument("names", nargs=-1, required=True)
@fleet_option
@kubeconfig_option
@timeout_option
def rotate(
    environment: str,
    names: tuple[str, ...],
    fleet_file: Path,
    kubeconfig: str | None,
    timeout: float,
) -> None:
    """Give NAMES of ENVIRONMENT new values and deploy them, health-gated, recorded in its
    history. A rotation that fails before a data service could take a new value leaves the
    old values in force; one that fails after may have changed it there, so it stays
    pending (deploys refused) until the same command finishes it with the same values."""
    from campus.pipeline import connect_fleet, rotate_secrets

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    options = DeployOptions(phase_timeout=timeout)
    show_deploy(
        f"campus secrets rotate {environment} {' '.join(names)}",
        lambda progress: [rotate_secrets(fleet, environment, names, client, options, progress)],
    )
