"""Into the pods of a service: their logs merged into one stream, a command run through
the API server's exec stream, or an interactive terminal handed to kubectl."""

from __future__ import annotations

import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from lightkube import Client

from campus.errors import CampusError
from campus.fleet.model import Cluster
from campus.kube.connect import fresh_client, kubeconfig_for
from campus.kube.errors import ApiFailure
from campus.kube.service_pods import ServicePod


def _stream(
    client: Client,
    namespace: str,
    pod: ServicePod,
    lines: queue.Queue[str | None],
    follow: bool,
    tail: int,
    since: int | None,
) -> None:
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
    except ApiFailure as error:  # one pod's stream ending must not stop the others
        lines.put(f"[{pod.name}] (log stream ended: {error})")
    finally:
        lines.put(None)


def merged_logs(
    client: Client,
    namespace: str,
    pods: Sequence[ServicePod],
    *,
    follow: bool = False,
    tail: int = 100,
    since: int | None = None,
) -> Iterator[str]:
    """Every pod's log lines as they come, each prefixed with its pod; one thread (and one
    connection) per pod, so a quiet pod does not hold back the others."""
    lines: queue.Queue[str | None] = queue.Queue()
    for pod in pods:
        threading.Thread(
            target=_stream,
            args=(client, namespace, pod, lines, follow, tail, since),
            daemon=True,
        ).start()
    running = len(pods)
    while running:
        line = lines.get()
        if line is None:
            running -= 1
        else:
            yield line


def run_command(
    client: Client,
    namespace: str,
    pod: ServicePod,
    command: Sequence[str],
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: BinaryIO,
) -> int:
    """Run `command` in the pod's main container through the API server's exec stream,
    stdin piped in, stdout and stderr out; its exit code."""
    try:
        response = client.exec(
            pod.name,
            namespace=namespace,
            container=pod.container,
            command=list(command),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            decode=None,
        )
    except ApiFailure as error:
        raise error.saying(f"exec in {namespace}/{pod.name}: {error}") from None
    return response.exit_code


def exec_in_terminal(
    cluster: Cluster,
    kubeconfig: str | None,
    namespace: str,
    pod: ServicePod,
    command: Sequence[str],
    announce: Callable[[str], None],
) -> None:
    """Replace this process with `kubectl exec -it` (a terminal, with resizing, is
    kubectl's protocol to keep), announcing the exact command first."""
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
    announce(" ".join(arguments))
    os.execv(kubectl, arguments)
