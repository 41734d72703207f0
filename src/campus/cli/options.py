"""Options several commands share, spelled the same way everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

FC = TypeVar("FC", bound=Callable[..., object])


def fleet_file_option(*flags: str, optional: bool = False) -> Callable[[FC], FC]:
    """The fleet file option, `-f/--file` unless a command needs `-f` for itself.
    `optional`: a command that reads what is deployed needs none (see `connect_known`)."""
    return click.option(
        *(flags or ("-f", "--file")),
        "fleet_file",
        default=None if optional else "fleet.yml",
        show_default=not optional,
        type=click.Path(dir_okay=False, path_type=Path),
        help=(
            "The fleet file (default: ./fleet.yml if there is one, else what the cluster holds)."
            if optional
            else "The fleet file."
        ),
    )


fleet_option = fleet_file_option()
kubeconfig_option = click.option(
    "--kubeconfig", default=None, help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."
)
context_option = click.option(
    "--context", default=None, help="Kubeconfig context (default: the fleet's, or the current)."
)


def reads_deployed(*fleet_flags: str) -> Callable[[FC], FC]:
    """For a command that reads what is deployed (status, history, logs, exec, secrets
    list), which works from a kubeconfig alone: an optional fleet file, `--kubeconfig` and
    `--context`, handed to the command connected, as one `reading` argument (see
    `campus.pipeline.connect_known`)."""

    def decorate(command: FC) -> FC:
        @functools.wraps(command)
        def connected(
            *args: Any,
            fleet_file: Path | None,
            kubeconfig: str | None,
            context: str | None,
            **kwargs: Any,
        ) -> object:
            from campus.pipeline import connect_known

            return command(*args, reading=connect_known(fleet_file, kubeconfig, context), **kwargs)

        options = (
            fleet_file_option(*fleet_flags, optional=True),
            kubeconfig_option,
            context_option,
        )
        for option in reversed(options):
            connected = option(connected)
        return cast(FC, connected)

    return decorate


timeout_option = click.option(
    "--timeout", default=600.0, show_default=True, help="Seconds each deploy phase may take."
)


def output_option(*choices: str) -> Callable[[FC], FC]:
    """`-o/--output` as kubectl spells it: a table by default, or json/yaml."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", *choices, "json", "yaml"]),
        default="table",
        show_default=True,
        help="Output format.",
    )
