"""`campus state pull|push|export|import`: settling each environment's Tutor state between
the cluster (the source of truth) and the local cache, and the disaster-recovery bundle.
Names of settings are printed, never their values."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click

from campus.cli.options import fleet_option, kubeconfig_option

PASSPHRASE_ENV = "CAMPUS_STATE_PASSPHRASE"


@click.group()
def state() -> None:
    """Each environment's Tutor state (IDs, passwords, keys), kept in the cluster."""


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    if passphrase_file is not None:
        return passphrase_file.read_text().rstrip("\n")
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    text: str = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return text


def _say(what: str, changed: tuple[str, ...], added: tuple[str, ...]) -> None:
    click.echo(what)
    if changed:
        click.echo(f"  replaced: {', '.join(changed)}")
    if added:
        click.echo(f"  added: {', '.join(added)}")
    if not changed and not added:
        click.echo("  already the same")


passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=f"File holding the passphrase (default: ${PASSPHRASE_ENV}, else asked).",
)


def _one_environment(command: Callable[..., None]) -> click.Command:
    """A `state` subcommand on one ENVIRONMENT of the fleet's cluster."""
    with_options = click.argument("environment")(fleet_option(kubeconfig_option(command)))
    return state.command()(with_options)


@_one_environment
def pull(environment: str, fleet_file: Path, kubeconfig: str | None) -> None:
    """Replace ENVIRONMENT's local Tutor state with the cluster's."""
    from campus.pipeline import connect_fleet, pull_state

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    done = pull_state(fleet, environment, client)
    _say(
        f"{environment}: local cache {done.where} now holds the cluster's state",
        done.changed,
        done.added,
    )


@_one_environment
@click.option("--yes", is_flag=True, help="Replace values the cluster holds without asking.")
def push(environment: str, fleet_file: Path, kubeconfig: str | None, yes: bool) -> None:
    """Make ENVIRONMENT's local Tutor state the cluster's.

    Only when the databases hold the local passwords: the next deploy rolls every
    application with them."""
    from campus.pipeline import connect_fleet, push_state

    def confirm(names: list[str]) -> bool:
        return yes or click.confirm(
            f"Replace the cluster's {', '.join(names)} of {environment} with the local values?"
        )

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    done = push_state(fleet, environment, client, confirm)
    _say(f"{environment}: {done.where} now holds the local state", done.changed, done.added)


@state.command()
@click.argument("environments", nargs=-1)
@fleet_option
@kubeconfig_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle to write (mode 0600).",
)
@passphrase_option
def export(
    environments: tuple[str, ...],
    fleet_file: Path,
    kubeconfig: str | None,
    output: Path,
    passphrase_file: Path | None,
) -> None:
    """Write the cluster's Tutor state of environments (all by default) to an encrypted
    bundle, for disaster recovery."""
    from campus.pipeline import connect_fleet, export_states

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    secret = _passphrase(passphrase_file, confirm=True)
    exported, missing = export_states(fleet, environments, client, secret, output)
    click.echo(f"{output}: {len(exported)} environment(s), encrypted: {', '.join(exported)}")
    for name in missing:
        click.echo(f"  {name}: the cluster holds no Tutor state (never deployed)")


@state.command(name="import")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@fleet_option
@passphrase_option
def import_(bundle: Path, fleet_file: Path, passphrase_file: Path | None) -> None:
    """Write the Tutor states of an exported BUNDLE into the local cache; then
    `campus state push ENV` makes them the cluster's."""
    from campus.pipeline import import_states, load

    settled = import_states(load(fleet_file), bundle, _passphrase(passphrase_file, False))
    for done in settled:
        _say(f"{done.environment}: local cache {done.where}", done.changed, done.added)
