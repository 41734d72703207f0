"""`campus toolchains list|prune`: the Tutor toolchains made for pinned releases."""

from __future__ import annotations

from pathlib import Path

import click

from campus.cli.options import output_option


@click.group()
def toolchains() -> None:
    """The virtual environments made for environments that pin a release (docs/releases.md)."""


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


@toolchains.command("list")
@output_option()
def list_(output: str) -> None:
    """Every toolchain made, with its pins and size."""
    from campus.output.tables import console, print_structured
    from campus.toolchain.store import root, stored

    found = stored()
    if output != "table":
        rows = [
            {
                "key": s.key,
                "pins": list(s.pins),
                "python": s.python,
                "created": s.created,
                "bytes": s.size,
            }
            for s in found
        ]
        print_structured({"folder": str(root()), "toolchains": rows}, output)
        return
    if not found:
        click.echo(f"no toolchains in {root()}")
        return
    for s in found:
        console().print(f"{s.key}  {' '.join(s.pins)}  {_megabytes(s.size)}  {s.created}")


def _kept(fleet_files: tuple[Path, ...]) -> dict[str, list[str]]:
    """Toolchain key -> the environments (`file: name`) of the fleet files that pin it."""
    from importlib.metadata import version

    from campus.pipeline import load
    from campus.toolchain.spec import spec_for
    from campus.toolchain.store import this_python

    python, installed = this_python(), version("tutor")
    kept: dict[str, list[str]] = {}
    for fleet_file in fleet_files:
        for environment in load(fleet_file).environments:
            spec = spec_for(environment.release, python, installed)
            if spec is not None:
                kept.setdefault(spec.key, []).append(f"{fleet_file}: {environment.name}")
    return kept


@toolchains.command()
@click.option(
    "-f",
    "--file",
    "fleet_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A fleet file whose pinned releases are kept (repeat for several; default fleet.yml).",
)
@click.option("--all", "all_", is_flag=True, help="Remove every toolchain, used or not.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def prune(fleet_files: tuple[Path, ...], all_: bool, dry_run: bool) -> None:
    """Remove the toolchains no environment of the fleet file(s) pins. A removed toolchain
    is made again, from the package index, the next time an environment pins it."""
    from campus.toolchain.store import remove, root, stored

    if all_ and fleet_files:
        raise click.UsageError("give fleet files or --all, not both")
    kept = {} if all_ else _kept(fleet_files or (Path("fleet.yml"),))
    found = stored()
    freed = 0
    for s in found:
        if s.key in kept:
            click.echo(f"keep    {s.key} ({', '.join(kept[s.key])})")
            continue
        click.echo(f"{'would remove' if dry_run else 'remove'}  {s.key} ({_megabytes(s.size)})")
        freed += s.size
        if not dry_run:
            remove(s.key)
    verb = "would free" if dry_run else "freed"
    click.echo(f"{verb} {_megabytes(freed)} in {root()}")
