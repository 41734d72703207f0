"""`campus render`: every environment's hardened manifests, as files or a stream."""

from __future__ import annotations

from pathlib import Path

import click

from campus.cli.deploy import _fail, fleet_option
from campus.errors import CampusError


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
@click.option(
    "-o", "--output", default="build", show_default=True, help="Folder, or - for a YAML stream."
)
@click.option("--jobs", type=int, default=None, help="Environments rendered at once.")
def render(environments: tuple[str, ...], fleet_file: Path, output: str, jobs: int | None) -> None:
    """Render environments through Tutor and harden them (all by default)."""
    from campus.harden import harden_all
    from campus.output.manifests import write_environment, write_stream
    from campus.pipeline import load, select
    from campus.render import render_fleet

    try:
        fleet = load(fleet_file)
        selected = select(fleet, fleet_file, environments)
        rendered = render_fleet(fleet, [e.name for e in selected], jobs=jobs)
    except CampusError as error:
        raise _fail(error) from None
    for environment in rendered:
        objects, init_jobs = harden_all(environment)
        if output == "-":
            write_stream(objects + init_jobs)
            continue
        directory = Path(output) / environment.environment.name
        write_environment(directory, objects, init_jobs)
        click.echo(
            f"{environment.environment.name}: {len(objects)} objects, "
            f"{len(init_jobs)} init jobs -> {directory}/",
            err=True,
        )
