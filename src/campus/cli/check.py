"""`campus check ENV`: does the environment answer, as a browser and the kubelet ask it?"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from campus.cli.options import fleet_option, kubeconfig_option, output_option


@click.command()
@click.argument("environment")
@fleet_option
@kubeconfig_option
@output_option()
@click.option("--timeout", default=5.0, show_default=True, help="Seconds each request may take.")
@click.option(
    "--wait",
    default=0.0,
    show_default=True,
    help="Seconds to keep asking while any request fails (just after a deploy, kube-proxy "
    "and the policy engine may not have synced the new pods yet).",
)
def check(
    environment: str,
    fleet_file: Path,
    kubeconfig: str | None,
    output: str,
    timeout: float,
    wait: float,
) -> None:
    """Send a request to every public host and path of ENVIRONMENT (with its Host header,
    as a browser would) and to every HTTP probe of its pods; exit 1 on any failure."""
    from lightkube.resources.core_v1 import Pod, Service
    from lightkube.resources.networking_v1 import Ingress
    from rich.table import Table

    from campus.check.request import ask_all
    from campus.check.targets import probe_targets, route_targets
    from campus.errors import CampusError
    from campus.kube.service_pods import on_real_nodes
    from campus.output.tables import console, print_structured
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    env = fleet.environment(environment)
    pods = [p.to_dict() for p in client.list(Pod, namespace=env.namespace)]
    pods = on_real_nodes(client, pods, "request to answer")
    ingresses = [i.to_dict() for i in client.list(Ingress, namespace=env.namespace)]
    services = [s.to_dict() for s in client.list(Service, namespace=env.namespace)]
    targets = route_targets(ingresses, services) + probe_targets(pods)
    if not targets:
        raise CampusError(f"{environment}: nothing to ask (no Ingress rule, no HTTP probe)")
    deadline = time.monotonic() + wait
    answers = ask_all(targets, timeout)
    while not all(a.ok for a in answers) and time.monotonic() < deadline:
        time.sleep(2)
        answers = ask_all(targets, timeout)
    if output != "table":
        print_structured(
            [
                {
                    "kind": a.target.kind,
                    "name": a.target.name,
                    "url": a.target.url,
                    "host": a.target.host,
                    "status": a.status,
                    "seconds": round(a.seconds, 4),
                    "ok": a.ok,
                    "error": a.error,
                    "standin": a.standin,
                }
                for a in answers
            ],
            output,
        )
    else:
        table = Table(box=None, pad_edge=False)
        for column in ("KIND", "HOST / PROBE", "SENT TO", "STATUS", "LATENCY"):
            table.add_column(column)
        for a in answers:
            status = str(a.status) if a.status is not None else a.error
            if a.standin:
                status += " (stand-in, not Open edX)"
            colour = "green" if a.ok else "red"
            table.add_row(
                a.target.kind,
                a.target.name,
                a.target.url,
                f"[{colour}]{status}[/{colour}]",
                f"{a.seconds * 1000:.0f} ms",
            )
        console().print(table)
        failed = sum(not a.ok for a in answers)
        click.echo(f"{len(answers) - failed} of {len(answers)} answered", err=True)
    if any(not a.ok for a in answers):
        sys.exit(1)
