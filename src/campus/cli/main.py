"""The `campus` command: one group, one module per command family."""

from __future__ import annotations

import warnings
from typing import Any

import click

from campus import __version__
from campus.cli.access import access
from campus.cli.deploy import deploy, destroy, diff, history, rollback
from campus.cli.drain import drain, uncordon
from campus.cli.drill import drill
from campus.cli.lint import lint
from campus.cli.logs import exec_, logs
from campus.cli.plan import plan
from campus.cli.render import render
from campus.cli.sandbox import sandbox
from campus.cli.scale import autoscale, scale
from campus.cli.secrets import secrets
from campus.cli.state import state
from campus.cli.status import status
from campus.cli.upgrade import promote, upgrade
from campus.errors import CampusError
from campus.fleet.errors import FleetWarning


class CampusGroup(click.Group):
    """Every operator-facing error, from any command, prints as `Error: ...` without a
    traceback and exits 1, and every fleet-file warning as `Warning: ...` on stderr:
    handled here once, not in each command."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", FleetWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except CampusError as error:
                raise click.ClickException(str(error)) from None


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    if issubclass(category, FleetWarning):
        click.echo(f"Warning: {message}", err=True)
    else:
        click.echo(f"Warning: {category.__name__}: {message}", err=True)


@click.group(cls=CampusGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campus")
def cli() -> None:
    """Run a fleet of Open edX environments on one Kubernetes cluster.

    One fleet file describes every environment; each gets its own namespace,
    rendered by Tutor and hardened for production.
    """


for _command in (
    render,
    lint,
    sandbox,
    drill,
    drain,
    uncordon,
    plan,
    deploy,
    diff,
    history,
    rollback,
    destroy,
    status,
    logs,
    exec_,
    scale,
    autoscale,
    upgrade,
    promote,
    state,
    access,
    secrets,
):
    cli.add_command(_command)


def main() -> None:
    cli()
