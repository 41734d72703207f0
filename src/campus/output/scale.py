"""What `campus scale` and `campus autoscale` print: the change, line by line in the fleet
file, and notes worth reading before the deploy starts."""

from __future__ import annotations

from pathlib import Path

import click

from campus.scale.change import Change


def print_change(fleet_file: Path, change: Change) -> None:
    name = change.environment.name
    for line in change.summary:
        click.echo(f"{name}: {line}")
    if not change.written:
        click.echo(f"{fleet_file}: already says so, nothing to write")
    for edit in change.lines:
        for offset, text in enumerate(edit.removed):
            click.echo(f"  {fleet_file}:{edit.old_line + offset}  - {text}")
        for offset, text in enumerate(edit.added):
            click.echo(f"  {fleet_file}:{edit.new_line + offset}  + {text}")
    for note in change.notes:
        click.echo(f"note: {note}")
