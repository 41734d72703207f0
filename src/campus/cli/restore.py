"""`campus restore`: a snapshot of an environment's backups put back into it, or into
another environment (docs/backups.md, "Restore")."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from campus.cli.options import output_option, reads_deployed

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.command()
@click.argument("environment")
@click.option(
    "--snapshot",
    default="latest",
    show_default=True,
    help="The snapshot's id (or its start, as `campus backups` shows it).",
)
@click.option(
    "--into",
    "into",
    default=None,
    metavar="OTHER_ENV",
    help="Restore ENVIRONMENT's snapshot into another environment (e.g. staging from prod); "
    "it keeps its own database users and passwords.",
)
@click.option("--yes", is_flag=True, help="Replace the target's data: required.")
@click.option(
    "--timeout",
    default=1800.0,
    show_default=True,
    help="Seconds each stage may take (reading the snapshot, the load, each rollout).",
)
@reads_deployed()
@output_option()
def restore(
    environment: str,
    snapshot: str,
    into: str | None,
    yes: bool,
    timeout: float,
    reading: Reading,
    output: str,
) -> None:
    """Restore a snapshot of ENVIRONMENT's backups (default: the latest) into it, or with
    `--into` into another environment. The snapshot is read whole first, while the site
    serves; then the public sites show the maintenance page, the applications scale to
    zero, the databases and file volumes are replaced, the init Jobs run again (migrations
    of an older release's snapshot, the search index), the applications come back Ready
    and the page goes. A snapshot of a newer release than the target's is refused.
    Volumes (PersistentVolumeClaims) are never deleted."""
    from campus.errors import CampusError
    from campus.output.backup import print_restore
    from campus.output.progress import LiveProgress
    from campus.restore.run import Restore
    from campus.status.discover import locate

    client = reading.client
    source = locate(client, reading.fleet, environment, reading.where)
    target = locate(client, reading.fleet, into, reading.where) if into else source
    if not yes:
        raise CampusError(
            f"restoring replaces the databases and file volumes of {target[0]} (namespace "
            f"{target[1]}) with snapshot {snapshot!r} of {source[0]}, its site in maintenance "
            "meanwhile: add --yes to go ahead"
        )
    try:
        with LiveProgress(f"campus restore {source[0]} into {target[0]}") as progress:
            done = Restore(
                client,
                source,
                target,
                lambda stage, message: progress.update(target[0], stage, message),
                timeout,
            ).carry_out(snapshot)
    except KeyboardInterrupt:
        click.echo(
            "stopped: a running restore Job goes on in the cluster; the site may still be in "
            "maintenance and its applications scaled to zero (`campus status`)",
            err=True,
        )
        sys.exit(130)
    print_restore(done, output)
