"""`campus sandbox`: a local cluster to try, test and rehearse a fleet on."""

from __future__ import annotations

import click

name_option = click.option(
    "--name", default="campus", show_default=True, help="Sandbox name (several may run)."
)


def _progress(message: str) -> None:
    click.echo(f"sandbox: {message}", err=True)


@click.group()
def sandbox() -> None:
    """A real Kubernetes control plane with simulated (KWOK) nodes, on this machine."""


@sandbox.command()
@name_option
@click.option("--nodes", default=3, show_default=True, type=int, help="Number of nodes.")
@click.option("--node-cpu", default="8", show_default=True, help="CPU of each node.")
@click.option("--node-memory", default="32Gi", show_default=True, help="Memory of each node.")
@click.option("--zones", default="a,b,c", show_default=True, help="Zones, spread round-robin.")
@click.option("--port", type=int, default=None, help="API server port (default: a free one).")
@click.option(
    "--eviction-seconds",
    default=10,
    show_default=True,
    type=int,
    help="How long pods stay on a NotReady node before eviction (Kubernetes' default: 300).",
)
@click.option("--audit", is_flag=True, help="Have the API server log every request (an audit log).")
@click.option(
    "--service-cidr",
    default=None,
    help="The API server's Service range (default: sized for the nodes, an address per pod).",
)
@click.option(
    "--real-nodes",
    default=0,
    show_default=True,
    type=int,
    help="Nodes more that run containers (a kubelet and containerd each, on this machine; "
    "needs root). The environments placed there serve real requests.",
)
def up(
    name: str,
    nodes: int,
    node_cpu: str,
    node_memory: str,
    zones: str,
    port: int | None,
    eviction_seconds: int,
    audit: bool,
    service_cidr: str | None,
    real_nodes: int,
) -> None:
    """Start a sandbox (builds its binaries on first use)."""
    from campus.sandbox.cluster import Timing
    from campus.sandbox.cluster import up as start

    info = start(
        name,
        nodes,
        node_cpu,
        node_memory,
        tuple(z.strip() for z in zones.split(",")),
        port,
        Timing(eviction_toleration_seconds=eviction_seconds),
        _progress,
        audit=audit,
        service_cidr=service_cidr,
        real_nodes=real_nodes,
    )
    real = f" and {len(info.real_nodes)} real" if info.real_nodes else ""
    click.echo(
        f"sandbox {info.name} is up: {len(info.nodes)} nodes{real}, API server {info.server}, "
        f"Service range {info.service_range}"
    )
    click.echo(f"kubeconfig: {info.kubeconfig}")
    if info.audit_log is not None:
        click.echo(f"audit log:  {info.audit_log}")
    flag = "" if name == "campus" else f" --name {name}"
    click.echo(f"use it:     export KUBECONFIG=$(campus sandbox kubeconfig{flag})")


@sandbox.command()
@name_option
def down(name: str) -> None:
    """Stop every process of the sandbox and remove its state."""
    from campus.sandbox.cluster import down as stop

    click.echo(f"sandbox {name} stopped" if stop(name) else f"sandbox {name} was not running")


@sandbox.command()
@name_option
def kubeconfig(name: str) -> None:
    """Print the path of the sandbox's kubeconfig."""
    from campus.sandbox.paths import kubeconfig_path

    path = kubeconfig_path(name)
    if not path.exists():
        raise click.ClickException(f"sandbox {name} is not running")
    click.echo(str(path))


@sandbox.command()
@name_option
def status(name: str) -> None:
    """Nodes of the sandbox: zone, readiness, pods."""
    from campus.output.sandbox import nodes_view
    from campus.output.tables import console
    from campus.sandbox.cluster import status as node_states

    console().print(nodes_view(node_states(name)))


@sandbox.command("fail-node")
@name_option
@click.argument("node")
def fail_node(name: str, node: str) -> None:
    """Stop NODE's heartbeats, as if its machine died."""
    from campus.sandbox.cluster import fail_node as fail

    fail(name, node)
    click.echo(f"{node} stopped heartbeating: NotReady within seconds, pods evicted after that")


@sandbox.command("restore-node")
@name_option
@click.argument("node")
def restore_node(name: str, node: str) -> None:
    """Bring a failed NODE back."""
    from campus.sandbox.cluster import restore_node as restore

    restore(name, node)
    click.echo(f"{node} is Ready again")
