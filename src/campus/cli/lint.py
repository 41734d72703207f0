"""`campus lint`: prove every rule holds for every environment."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campus.cli.options import fleet_option, output_option


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
@output_option()
def lint(environments: tuple[str, ...], fleet_file: Path, output: str) -> None:
    """Render, harden and check environments; exit 1 on any violation. Says which Tutor
    state each was rendered from (the cluster's, the local cache, or new)."""
    from campus.lint import lint as check
    from campus.lint import notes
    from campus.output.state import of_rendered, state_report
    from campus.output.tables import print_structured
    from campus.pipeline import build, load

    failed = False
    report = []
    builts = build(load(fleet_file), environments)
    shared, each = state_report([of_rendered(b.environment.name, b.rendered) for b in builts])
    for built in builts:
        objects = built.objects + built.init_jobs
        violations = check(built.rendered, objects)
        name = built.environment.name
        failed = failed or bool(violations)
        report.append(
            {
                "name": name,
                "ok": not violations,
                "objects": len(objects),
                "violations": [str(item) for item in violations],
                "notes": notes(built.rendered),
                "tutorState": built.state_source(),
            }
        )
        if output != "table":
            continue
        if violations:
            click.echo(f"{name}: {len(violations)} violation(s)")
            for item in violations:
                click.echo(f"  {item}")
        else:
            click.echo(f"{name}: ok ({len(objects)} objects, every rule holds)")
        if built.rendered.toolchain:
            click.echo(f"  release: {built.rendered.toolchain}")
        if each[name]:
            click.echo(f"  Tutor state: {each[name]}")
        for note in notes(built.rendered):
            click.echo(f"  note: {note}")
    if shared is not None and output == "table":
        click.echo(shared)
    if output != "table":
        print_structured({"environments": report}, output)
    if failed:
        sys.exit(1)
