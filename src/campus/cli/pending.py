"""Commands that are planned but not built yet: they say so and fail, never pretend."""

from __future__ import annotations

import click


def pending_command(name: str, summary: str) -> click.Command:
    """A command that exits non-zero with a plain statement that it is not built yet."""

    @click.command(
        name=name,
        help=f"{summary} (not built yet)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def command() -> None:
        raise click.ClickException(f"`campus {name}` is not built yet.")

    return command
