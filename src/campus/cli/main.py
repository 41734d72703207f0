"""The `campus` command: one group, one module per command family."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import click

from campus import __version__
from campus.errors import CampusError
from campus.fleet.errors import FleetWarning

# Command name -> the module (under campus.cli) and the function that define it. Imported
# when the command runs, not at start-up: one command needs a fraction of campus's imports.
COMMANDS = {
    "render": ("render", "render"),
    "lint": ("lint", "lint"),
    "sandbox": ("sandbox", "sandbox"),
    "drill": ("drill", "drill"),
    "drain": ("drain", "drain"),
    "uncordon": ("drain", "uncordon"),
    "plan": ("plan", "plan"),
    "deploy": ("deploy", "deploy"),
    "diff": ("deploy", "diff"),
    "history": ("deploy", "history"),
    "rollback": ("deploy", "rollback"),
    "destroy": ("deploy", "destroy"),
    "status": ("status", "status"),
    "logs": ("logs", "logs"),
    "exec": ("logs", "exec_"),
    "scale": ("scale", "scale"),
    "autoscale": ("scale", "autoscale"),
    "upgrade": ("upgrade", "upgrade"),
    "promote": ("upgrade", "promote"),
    "state": ("state", "state"),
    "access": ("access", "access"),
    "secrets": ("secrets", "secrets"),
    "toolchains": ("toolchains", "toolchains"),
    "check": ("check", "check"),
    "backup": ("backup", "backup"),
    "backups": ("backup", "backups"),
    "restore": ("restore", "restore"),
}


class CampusGroup(click.Group):
    """Every operator-facing error, from any command, prints as `Error: ...` without a
    traceback and exits 1, and every fleet-file warning as `Warning: ...` on stderr:
    handled here once, not in each command. Commands load on first use (`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"campus.cli.{module}"), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

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


def main() -> None:
    cli()
