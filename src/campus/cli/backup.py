"""`campus backup` and `campus backups`: an environment's backup now, and its snapshots
(docs/backups.md). Both run a Job from the environment's backup CronJob and read its log."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from campus.cli.options import output_option, reads_deployed

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.command()
@click.argument("environment")
@reads_deployed()
@output_option()
@click.option(
    "--timeout",
    default=None,
    type=float,
    help="Seconds to follow the backup (default: until the Job ends, 4 h at the most).",
)
def backup(environment: str, reading: Reading, output: str, timeout: float | None) -> None:
    """Back up ENVIRONMENT now: a Job from its backup CronJob (as `kubectl create job
    --from=cronjob`), followed until it ends, then the snapshot restic made. Exits 1 when
    the backup fails, with the last log lines of the container that failed."""
    from campus.backup.run import run_backup
    from campus.output.backup import print_backup
    from campus.output.progress import LiveProgress
    from campus.status.discover import locate

    client = reading.client
    name, namespace = locate(client, reading.fleet, environment, reading.where)
    try:
        with LiveProgress(f"campus backup {name}") as progress:
            run, summary = run_backup(
                client,
                name,
                namespace,
                lambda message: progress.update(name, "backup", message),
                timeout,
            )
    except KeyboardInterrupt:
        click.echo(
            f"stopped watching: the backup Job goes on in the cluster; `campus status` shows "
            f"when it succeeds, `campus backups {name}` what it made",
            err=True,
        )
        sys.exit(130)
    print_backup(name, run, summary, output)
    if run.failed:
        sys.exit(1)


@click.command()
@click.argument("environment")
@reads_deployed()
@output_option()
def backups(environment: str, reading: Reading, output: str) -> None:
    """The snapshots of ENVIRONMENT in its backup repository: id, time, host, release,
    paths and size (restic 0.17 and later record it), listed by a short Job of the backup
    pod's restic."""
    from campus.backup.restic import exit_error, no_repository
    from campus.backup.run import list_snapshots
    from campus.errors import CampusError
    from campus.output.backup import print_snapshots
    from campus.output.progress import LiveProgress
    from campus.status.discover import locate

    client = reading.client
    name, namespace = locate(client, reading.fleet, environment, reading.where)
    with LiveProgress(f"campus backups {name}") as progress:
        run, found = list_snapshots(
            client, name, namespace, lambda message: progress.update(name, "snapshots", message)
        )
    if found is None and no_repository(run.lines):
        found = []  # no backup has run: restic has created no repository yet
    if found is None:
        lines = "\n".join(f"  {line}" for line in run.lines)
        raise CampusError(
            f"cannot list the snapshots of {name}: {exit_error(run.lines) or run.stage.message}"
            + (f"\nlast log lines of {run.pod}:\n{lines}" if lines else "")
        )
    print_snapshots(name, found, output)
