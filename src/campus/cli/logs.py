"""`campus logs` and `campus exec`: into one service of one environment, on real clusters."""

from __future__ import annotations

import os
import queue
import shutil
import sys
import threading
from pathlib import Path

import click
from lightkube import Client
from lightkube.core.exceptions import ApiError

from campus.cli.deploy import (
    _environment,
    _fail,
    fleet_file_option,
    fleet_option,
    kubeconfig_option,
)
from campus.errors import CampusError
from campus.fleet.model import Cluster
from campus.kube.service_pods import ServicePod, refuse_simulated, service_pods

# As with kubectl, `-f` follows the logs here; the fleet file is `--file`.
file_option = fleet_file_option("--file")


def _stream(
    client: Client,
    namespace: str,
    pod: ServicePod,
    lines: queue.Queue[str | None],
    follow: bool,
    tail: int,
    since: int | None,
) -> None:
    from campus.kube.connect import fresh_client

    try:
        for line in fresh_client(client).log(
            pod.name,
            namespace=namespace,
            container=pod.container,
            follow=follow,
            tail_lines=tail,
            since=since,
        ):
            lines.put(f"[{pod.name}] {line}".rstrip("\n"))
    except Exception as error:  # one pod's stream ending must not stop the others
        lines.put(f"[{pod.name}] (log stream ended: {error})")
    finally:
        lines.put(None)


@click.command()
@click.argument("environment")
@click.argument("service")
@file_option
@kubeconfig_option
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new lines.")
@click.option("--tail", default=100, show_default=True, help="Lines from the end of each pod.")
@click.option("--since", default=None, type=int, help="Only lines newer than this many seconds.")
def logs(
    environment: str,
    service: str,
    fleet_file: Path,
    kubeconfig: str | None,
    follow: bool,
    tail: int,
    since: int | None,
) -> None:
    """Logs of every pod of SERVICE in ENVIRONMENT, each line prefixed with its pod."""
    from campus.pipeline import connect_fleet

    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        env = _environment(fleet, environment)
        pods = service_pods(client, env, service)
        refuse_simulated(client, pods, "logs")
    except CampusError as error:
        raise _fail(error) from None
    lines: queue.Queue[str | None] = queue.Queue()
    for pod in pods:
        threading.Thread(
            target=_stream,
            args=(client, env.namespace, pod, lines, follow, tail, since),
            daemon=True,
        ).start()
    running = len(pods)
    try:
        while running:
            line = lines.get()
            if line is None:
                running -= 1
            else:
                click.echo(line)
    except KeyboardInterrupt:
        pass


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("environment")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@fleet_option
@kubeconfig_option
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
    fleet_file: Path,
    kubeconfig: str | None,
    tty: bool | None,
) -> None:
    """Run COMMAND in a ready pod of SERVICE: campus exec acme-prod lms -- ./manage.py lms shell

    campus picks the pod and its main container. Without a terminal the command runs
    through the API server's exec stream (stdin piped in, stdout and stderr out, its exit
    code returned), fit for scripts. An interactive terminal (TTY, resize) is kubectl's
    protocol to keep: with one, campus hands the terminal to `kubectl exec -it`."""
    from campus.pipeline import connect_fleet

    interactive = sys.stdin.isatty() if tty is None else tty
    try:
        fleet, client = connect_fleet(fleet_file, kubeconfig)
        env = _environment(fleet, environment)
        pods = service_pods(client, env, service)
        refuse_simulated(client, pods, "exec")
        pod = pods[0]
        if interactive:
            _exec_in_terminal(fleet.cluster, kubeconfig, env.namespace, pod, command)
        response = client.exec(
            pod.name,
            namespace=env.namespace,
            container=pod.container,
            command=list(command),
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr.buffer,
            decode=None,
        )
    except CampusError as error:
        raise _fail(error) from None
    except ApiError as error:
        message = f"exec in {environment}/{service}: {error.status.message}"
        raise _fail(CampusError(message)) from None
    sys.exit(response.exit_code)


def _exec_in_terminal(
    cluster: Cluster,
    kubeconfig: str | None,
    namespace: str,
    pod: ServicePod,
    command: tuple[str, ...],
) -> None:
    """Replace this process with `kubectl exec -it`, printing the exact command first."""
    from campus.kube.connect import kubeconfig_for

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise CampusError(
            "an interactive `campus exec` hands the terminal to kubectl: install it, "
            "or run without a terminal (--no-tty)"
        )
    config, _ = kubeconfig_for(cluster, kubeconfig)
    arguments = [kubectl]
    if config.fname:
        arguments += ["--kubeconfig", str(config.fname)]
    if cluster.context:
        arguments += ["--context", cluster.context]
    arguments += ["exec", "-it", "-n", namespace, pod.name, "-c", pod.container, "--", *command]
    click.echo(" ".join(arguments), err=True)
    os.execv(kubectl, arguments)
