"""`campus lint`: prove every rule holds for every environment."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campus.cli.options import fleet_option


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
def lint(environments: tuple[str, ...], fleet_file: Path) -> None:
    """Render, harden and check environments; exit 1 on any violation."""
    from campus.lint import lint as check
    from campus.lint import notes
    from campus.pipeline import build, load

    failed = False
    for built in build(load(fleet_file), environments):
        objects = built.objects + built.init_jobs
        violations = check(built.rendered, objects)
        name = built.environment.name
        if violations:
            failed = True
            click.echo(f"{name}: {len(violations)} violation(s)")
            for item in violations:
                click.echo(f"  {item}")
        else:
            click.echo(f"{name}: ok ({len(objects)} objects, every rule holds)")
        if built.rendered.toolchain:
            click.echo(f"  release: {built.rendered.toolchain}")
        for note in notes(built.rendered):
            click.echo(f"  note: {note}")
    if failed:
        sys.exit(1)
