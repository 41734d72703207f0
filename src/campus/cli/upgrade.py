"""`campus upgrade` and `campus promote`: a release change written to the fleet file, shown,
then deployed with its upgrade steps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from campus.cli.options import fleet_option, kubeconfig_option, timeout_option
from campus.cli.scale import no_deploy_option

if TYPE_CHECKING:
    from lightkube import Client

    from campus.scale.change import Change

force_option = click.option(
    "--force",
    is_flag=True,
    help="Make a release change campus refuses (a downgrade, a skipped release), saying why.",
)
maintenance_option = click.option(
    "--maintenance",
    is_flag=True,
    help="Serve a maintenance page on the public sites while the upgrade Jobs run.",
)


def _note(message: str) -> None:
    click.echo(f"note: {message}", err=True)


def _release_change_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options `upgrade` and `promote` share, reaching the command as `**common`."""
    for option in reversed(
        (
            fleet_option,
            kubeconfig_option,
            force_option,
            maintenance_option,
            no_deploy_option,
            timeout_option,
        )
    ):
        command = option(command)
    return command


def _change_and_deploy(make: Callable[[Client | None], Change], common: dict[str, Any]) -> None:
    """Make the change (it refuses before writing), show it, then deploy it unless
    --no-deploy."""
    from campus.cli.deploying import show_deploy
    from campus.deploy.model import DeployOptions
    from campus.output.scale import print_change
    from campus.scale.rollout import change_client, deploy_change

    fleet_file: Path = common["fleet_file"]
    client = change_client(fleet_file, common["kubeconfig"], common["no_deploy"], _note)
    change = make(client)
    print_change(fleet_file, change)
    if common["no_deploy"] or client is None:
        return
    options = DeployOptions(
        phase_timeout=common["timeout"], force=common["force"], maintenance=common["maintenance"]
    )
    show_deploy(
        f"campus deploy {change.request.environment}",
        lambda progress: deploy_change(change, client, options, progress, _note),
    )


@click.command()
@click.argument("environment")
@click.option("--to", "version", required=True, help="The Tutor version, e.g. 22.0.3.")
@click.option(
    "--plugin",
    "plugin_pins",
    multiple=True,
    metavar="NAME=VERSION",
    help="Also pin a plugin's release, e.g. mfe=22.1.0 (a plugin's release follows Tutor's).",
)
@_release_change_options
def upgrade(environment: str, version: str, plugin_pins: tuple[str, ...], **common: Any) -> None:
    """Pin ENVIRONMENT to Tutor VERSION in the fleet file, then deploy it: the upgrade steps
    of every Open edX release crossed run as Jobs before the applications switch.

    Refused, with the reason and nothing written, unless --force: a downgrade, skipping
    past a release whose data must be converted one release at a time.
    """
    from campus.promote.change import upgrade as upgrade_change

    plugins = {}
    for pair in plugin_pins:
        name, _, pinned = pair.partition("=")
        if not name or not pinned:
            raise click.UsageError(f"{pair!r}: expected NAME=VERSION, e.g. mfe=22.1.0")
        plugins[name] = pinned
    _change_and_deploy(
        lambda client: upgrade_change(
            common["fleet_file"],
            environment,
            version,
            client,
            plugins=plugins,
            force=common["force"],
        ),
        common,
    )


@click.command()
@click.argument("source")
@click.argument("target")
@click.option(
    "--setting", "settings", multiple=True, metavar="KEY", help="Also copy this Tutor setting."
)
@_release_change_options
def promote(source: str, target: str, settings: tuple[str, ...], **common: Any) -> None:
    """Copy SOURCE's release pins (and --setting KEYs) onto TARGET in the fleet file, show
    the change, then deploy TARGET.

    Refused, nothing written: SOURCE's last deploy failed, or SOURCE never ran the release
    it pins (its last recorded deploy ran another Tutor version).
    """
    from campus.promote.change import promote as promote_change

    _change_and_deploy(
        lambda client: promote_change(
            common["fleet_file"], source, target, settings, client, force=common["force"]
        ),
        common,
    )
