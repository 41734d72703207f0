"""`campus plan`: how many nodes the fleet needs, and what one server per service would
take instead; `--verify` checks the count against the real scheduler on a sandbox."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import click

from campus.cli.options import fleet_option, output_option
from campus.fleet.quantity import parse_memory_input
from campus.plan.model import DEFAULT_DAEMON_CPU, DEFAULT_DAEMON_MEMORY, NodeShape, Overhead
from campus.plan.planner import Cluster
from campus.plan.verify import SANDBOX


def _cluster(options: dict[str, Any]) -> Cluster:
    """The node group the command's options describe."""
    zones, node_price = options["zones"], options["node_price"]
    if not 1 <= zones <= len(string.ascii_lowercase):
        raise click.BadParameter(f"must be between 1 and 26, not {zones}", param_hint="--zones")
    if node_price < 0:
        raise click.BadParameter("must not be negative", param_hint="--node-price")
    for option in ("node_memory", "reserved_memory", "daemon_memory"):
        if options[option] is not None:
            try:
                parse_memory_input(options[option])
            except ValueError as error:
                hint = "--" + option.replace("_", "-")
                raise click.BadParameter(str(error), param_hint=hint) from None
    try:
        shape = NodeShape.parse(options["node_cpu"], options["node_memory"], options["max_pods"])
        overhead = Overhead.default(
            shape,
            options["reserved_cpu"],
            options["reserved_memory"],
            options["daemon_cpu"],
            options["daemon_memory"],
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if shape.cpu <= 0 or shape.memory <= 0:
        raise click.BadParameter("a node needs some CPU and memory", param_hint="--node-cpu")
    return Cluster(shape, overhead, tuple(string.ascii_lowercase[:zones]), node_price)


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
@click.option("--node-cpu", default="8", show_default=True, help="CPU of each node.")
@click.option("--node-memory", default="32Gi", show_default=True, help="Memory of each node.")
@click.option("--max-pods", default=110, show_default=True, help="Pods a node may run.")
@click.option("--zones", default=3, show_default=True, help="Zones the nodes spread over.")
@click.option(
    "--node-price", default=0.0, show_default=True, help="Price of a node per month (any unit)."
)
@click.option(
    "--reserved-cpu", default=None, help="Kubelet reservation per node (default: by node size)."
)
@click.option("--reserved-memory", default=None, help="Kubelet reservation per node.")
@click.option(
    "--daemon-cpu", default=DEFAULT_DAEMON_CPU, show_default=True, help="Daemon sets per node."
)
@click.option(
    "--daemon-memory",
    default=DEFAULT_DAEMON_MEMORY,
    show_default=True,
    help="Daemon sets per node.",
)
@click.option(
    "--parallel",
    default=4,
    show_default=True,
    help="Environments rolling at once (as `campus deploy --parallel`).",
)
@output_option()
@click.option(
    "--verify",
    is_flag=True,
    help="Deploy into sandboxes of the planned size and one node fewer, and compare.",
)
@click.option("--sandbox-name", default=SANDBOX, show_default=True, help="Sandbox for --verify.")
@click.option(
    "--verify-timeout",
    default=120.0,
    show_default=True,
    help="Seconds each deploy phase may take in --verify.",
)
def plan(
    environments: tuple[str, ...],
    fleet_file: Path,
    node_cpu: str,
    node_memory: str,
    max_pods: int,
    zones: int,
    node_price: float,
    reserved_cpu: str | None,
    reserved_memory: str | None,
    daemon_cpu: str,
    daemon_memory: str,
    parallel: int,
    output: str,
    verify: bool,
    sandbox_name: str,
    verify_timeout: float,
) -> None:
    """How many nodes the fleet needs (all environments by default), from the hardened
    manifests' requests, spread constraints and autoscaling, against one server per service."""
    from campus.output.plan import plan_document, print_plan, print_verification
    from campus.output.progress import LiveProgress
    from campus.output.state import of_rendered, state_lines
    from campus.output.tables import print_structured
    from campus.pipeline import build, fleet_hash, load
    from campus.plan.planner import plan_fleet
    from campus.plan.verify import VerifyOptions, verify_plan

    cluster = _cluster(click.get_current_context().params)
    fleet = load(fleet_file)
    built = build(fleet, environments)
    for pinned in (b for b in built if b.rendered.toolchain):
        click.echo(f"{pinned.environment.name}: release {pinned.rendered.toolchain}", err=True)
    digest = fleet_hash(fleet)
    requests = [b.request(digest) for b in built]
    fleet_plan = plan_fleet(
        [(r.environment, r.objects, r.init_jobs) for r in requests], cluster, max(1, parallel)
    )
    if output == "table":
        print_plan(fleet_plan)
        for line in state_lines([of_rendered(b.environment.name, b.rendered) for b in built]):
            click.echo(line)
    verification = None
    if verify:
        with LiveProgress(
            f"campus plan --verify ({fleet_plan.scheduled.nodes} nodes planned)"
        ) as progress:
            options = VerifyOptions(sandbox_name, verify_timeout)
            verification = verify_plan(
                requests, cluster, fleet_plan.scheduled.nodes, progress, options
            )
        if output == "table":
            print_verification(verification)
    if output != "table":
        document = plan_document(fleet_plan, verification)
        document["tutorState"] = {b.environment.name: b.state_source() for b in built}
        print_structured(document, output)
