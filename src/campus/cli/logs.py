"""`campus logs` and `campus exec`: into one service of one environment, on real clusters."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from campus.cli.options import reads_deployed

if TYPE_CHECKING:
    from campus.pipeline import Reading


@click.command()
@click.argument("environment")
@click.argument("service")
@reads_deployed("--file")  # as with kubectl, `-f` follows the logs here
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new lines.")
@click.option("--tail", default=100, show_default=True, help="Lines from the end of each pod.")
@click.option("--since", default=None, type=int, help="Only lines newer than this many seconds.")
def logs(
    environment: str,
    service: str,
    reading: Reading,
    follow: bool,
    tail: int,
    since: int | None,
) -> None:
    """Logs of every pod of SERVICE in ENVIRONMENT, each line prefixed with its pod."""
    from campus.kube.pod_access import merged_logs
    from campus.kube.service_pods import refuse_simulated, service_pods
    from campus.status.discover import locate

    client = reading.client
    name, namespace = locate(client, reading.fleet, environment, reading.where)
    pods = service_pods(client, name, namespace, service)
    refuse_simulated(client, pods, "logs")
    try:
        for line in merged_logs(client, namespace, pods, follow=follow, tail=tail, since=since):
            click.echo(line)
    except KeyboardInterrupt:
        pass


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("environment")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@reads_deployed()
@click.option(
    "-t/-T",
    "--tty/--no-tty",
    default=None,
    help="Interactive terminal (default: when stdin is a terminal).",
)
def exec_(
    environment: str,
    service: str,
    command: tuple[str, ...],
    reading: Reading,
    tty: bool | None,
) -> None:
    """Run COMMAND in a ready pod of SERVICE: campus exec acme-prod lms -- ./manage.py lms shell

    campus picks the pod and its main container. Without a terminal the command runs
    through the API server's exec stream (stdin piped in, stdout and stderr out, its exit
    code returned), fit for scripts. An interactive terminal (TTY, resize) is kubectl's
    protocol to keep: with one, campus hands the terminal to `kubectl exec -it`."""
    from campus.kube.pod_access import exec_in_terminal, run_command
    from campus.kube.service_pods import refuse_simulated, service_pods
    from campus.status.discover import locate

    interactive = sys.stdin.isatty() if tty is None else tty
    client = reading.client
    name, namespace = locate(client, reading.fleet, environment, reading.where)
    pods = service_pods(client, name, namespace, service)
    refuse_simulated(client, pods, "exec")
    pod = pods[0]
    if interactive:

        def announce(command_line: str) -> None:
            click.echo(command_line, err=True)

        exec_in_terminal(reading.cluster, reading.kubeconfig, namespace, pod, command, announce)
    code = run_command(
        client, namespace, pod, command, sys.stdin.buffer, sys.stdout.buffer, sys.stderr.buffer
    )
    sys.exit(code)
