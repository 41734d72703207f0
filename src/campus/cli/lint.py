"""`campus lint`: prove every rule holds for every environment."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campus.cli.deploy import _fail, fleet_option
from campus.errors import CampusError


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
def lint(environments: tuple[str, ...], fleet_file: Path) -> None:
    """Render, harden and check environments; exit 1 on any violation."""
    from campus.harden import harden_all
    from campus.lint import lint as check
    from campus.pipeline import load, select
    from campus.render import render_fleet

    try:
        fleet = load(fleet_file)
        selected = select(fleet, fleet_file, environments)
        rendered = render_fleet(fleet, [e.name for e in selected])
    except CampusError as error:
        raise _fail(error) from None
    failed = False
    for environment in rendered:
        objects, init_jobs = harden_all(environment)
        violations = check(environment, objects + init_jobs)
        name = environment.environment.name
        if violations:
            failed = True
            click.echo(f"{name}: {len(violations)} violation(s)")
            for item in violations:
                click.echo(f"  {item}")
        else:
            click.echo(f"{name}: ok ({len(objects) + len(init_jobs)} objects, every rule holds)")
    if failed:
        sys.exit(1)
