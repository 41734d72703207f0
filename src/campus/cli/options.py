"""Options several commands share, spelled the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

FC = TypeVar("FC", bound=Callable[..., object])


def fleet_file_option(*flags: str) -> Callable[[FC], FC]:
    """The fleet file option, `-f/--file` unless a command needs `-f` for itself."""
    return click.option(
        *(flags or ("-f", "--file")),
        "fleet_file",
        default="fleet.yml",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The fleet file.",
    )


fleet_option = fleet_file_option()
kubeconfig_option = click.option(
    "--kubeconfig", default=None, help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."
)
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
