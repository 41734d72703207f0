"""`campus plan` output: the per-environment and fleet tables, the verification against
the scheduler, and the stable shape of `-o json|yaml`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from campus.kube.resources import GIB, Resources, total
from campus.output.tables import console
from campus.plan.planner import FleetPlan, Scenario
from campus.plan.servers import Server
from campus.plan.verify import Verification
from campus.sandbox import network
from campus.sandbox import nodes as sandbox_nodes

PLAN_API_VERSION = "campus.openedx.org/v1alpha1"


def _cores(millicores: int) -> float:
    return round(millicores / 1000, 3)


def _gib(size: int) -> float:
    return round(size / GIB, 2)


def _amounts(resources: Resources) -> dict[str, float]:
    return {"cpu": _cores(resources.cpu), "memoryGiB": _gib(resources.memory)}


def _servers(servers: Sequence[Server], priced: bool) -> dict[str, Any]:
    capacity = total(s.shape.capacity for s in servers)
    sizes = Counter(f"{s.shape.cpu // 1000}x{_gib(s.shape.memory):g}" for s in servers)
    document: dict[str, Any] = {
        "servers": len(servers),
        **_amounts(capacity),
        "sizes": dict(sorted(sizes.items())),
    }
    if priced:
        document["cost"] = round(sum(s.price for s in servers), 2)
    return document


def _scenario(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "pods": scenario.pods,
        "requests": _amounts(scenario.requests),
        "nodes": scenario.nodes,
        "note": scenario.note,
    }


def _verification(verification: Verification) -> dict[str, Any]:
    return {
        "planned": verification.planned,
        "schedulerNeeded": verification.scheduler_needed,
        "verdict": verification.verdict,
        "trials": [
            {
                "nodes": t.nodes,
                "fits": t.fits,
                "pending": t.pending,
                "failedEnvironments": t.failed,
                "seconds": round(t.seconds, 1),
            }
            for t in verification.trials
        ],
    }


def _service_addresses(plan: FleetPlan) -> dict[str, Any]:
    """The Service addresses the fleet takes and the narrowest Service range that holds them."""
    needed = plan.service_addresses
    prefix = network.service_prefix(needed)
    return {
        "needed": needed,
        "smallestRange": f"/{prefix}",
        "fits": network.usable_addresses(prefix) >= needed,
        "sandboxRange": network.service_range(plan.recommended, sandbox_nodes.NODE_PODS),
    }


def plan_document(plan: FleetPlan, verification: Verification | None = None) -> dict[str, Any]:
    """The stable, documented shape of `campus plan -o json|yaml`."""
    cluster = plan.cluster
    priced = cluster.node_price > 0
    overhead = cluster.overhead
    node: dict[str, Any] = {
        **_amounts(cluster.shape.capacity),
        "maxPods": cluster.shape.max_pods,
        "zones": list(cluster.zones),
        "kubeletReserved": _amounts(overhead.reserved),
        "daemonSets": _amounts(overhead.daemons),
        "allocatable": _amounts(overhead.node_allocatable(cluster.shape)),
        "forPods": _amounts(cluster.room),
    }
    if priced:
        node["price"] = cluster.node_price
    recommended: dict[str, Any] = {
        "nodes": plan.recommended,
        "perZone": plan.recommended // len(cluster.zones),
    }
    if priced:
        recommended["cost"] = round(plan.recommended * cluster.node_price, 2)
    document: dict[str, Any] = {
        "apiVersion": PLAN_API_VERSION,
        "kind": "FleetPlan",
        "node": node,
        "environments": [
            {
                "name": e.name,
                "pods": e.pods,
                "requests": _amounts(e.requests),
                "nodesAlone": e.nodes_alone,
                "serviceAddresses": e.service_addresses,
                "oneServerPerService": _servers(e.servers, priced),
            }
            for e in plan.environments
        ],
        "scenarios": [_scenario(s) for s in plan.scenarios],
        "recommended": recommended,
        "serviceAddresses": _service_addresses(plan),
        "oneServerPerService": _servers(plan.servers, priced),
    }
    if verification is not None:
        document["verification"] = _verification(verification)
    return document


def _cpu_cell(millicores: int) -> str:
    return f"{millicores / 1000:.2f}"


def _memory_cell(size: int) -> str:
    return f"{size / GIB:.1f}Gi"


def _money(amount: float) -> str:
    return f"{amount:,.0f}"


def print_plan(plan: FleetPlan) -> None:
    out = console()
    cluster = plan.cluster
    priced = cluster.node_price > 0
    shape, overhead, room = cluster.shape, cluster.overhead, cluster.room
    zones = len(cluster.zones)

    environments = Table(title="per environment (steady state)", title_justify="left")
    columns = ["ENVIRONMENT", "PODS", "CPU", "MEMORY", "NODES ALONE", "1 SERVER/SERVICE"]
    if priced:
        columns.append("SERVERS COST")
    for column in columns:
        environments.add_column(column, justify="left" if column == "ENVIRONMENT" else "right")
    for env in plan.environments:
        row = [
            env.name,
            str(env.pods),
            _cpu_cell(env.requests.cpu),
            _memory_cell(env.requests.memory),
            str(env.nodes_alone),
            str(len(env.servers)),
        ]
        if priced:
            row.append(_money(sum(s.price for s in env.servers)))
        environments.add_row(*row)
    out.print(environments)

    fleet = Table(
        title=f"fleet on {_cpu_cell(shape.cpu)} CPU / {_memory_cell(shape.memory)} nodes "
        f"in {zones} zones",
        title_justify="left",
    )
    for column in ("SITUATION", "PODS", "CPU", "MEMORY", "NODES", "WHAT IT COVERS"):
        fleet.add_column(
            column,
            justify="left" if column in ("SITUATION", "WHAT IT COVERS") else "right",
            overflow="fold",
        )
    for scenario in plan.scenarios:
        fleet.add_row(
            scenario.name,
            str(scenario.pods),
            _cpu_cell(scenario.requests.cpu),
            _memory_cell(scenario.requests.memory),
            str(scenario.nodes),
            scenario.note,
        )
    out.print(fleet)

    out.print(
        f"node: {_cpu_cell(shape.cpu)} CPU, {_memory_cell(shape.memory)}; kubelet reservation "
        f"{_cpu_cell(overhead.reserved.cpu)} CPU, {_memory_cell(overhead.reserved.memory)}; "
        f"daemon sets {_cpu_cell(overhead.daemons.cpu)} CPU, "
        f"{_memory_cell(overhead.daemons.memory)}; left for the fleet "
        f"{_cpu_cell(room.cpu)} CPU, {_memory_cell(room.memory)}, {room.pods} pods"
    )
    cost = f", {_money(plan.recommended * cluster.node_price)} per month" if priced else ""
    out.print(
        f"[bold]recommended: {plan.recommended} nodes[/] ({plan.recommended // zones} per zone"
        f"{cost}): the largest of the as-scheduled, rolling-update and lost-node counts, "
        f"rounded up to a multiple of {zones} zones; the cluster autoscaler's ceiling is "
        f"{_round_up(plan.autoscaled.nodes, zones)}"
    )
    addresses = _service_addresses(plan)
    out.print(
        f"Service addresses: {addresses['needed']} (a Service range of "
        f"{addresses['smallestRange']} or wider; the API server's default /24 holds "
        f"{network.usable_addresses(24)}); `campus sandbox up --nodes {plan.recommended}` "
        f"sizes its range to {addresses['sandboxRange']}"
    )
    servers = plan.servers
    capacity = total(s.shape.capacity for s in servers)
    server_cost = f", {_money(sum(s.price for s in servers))} per month" if priced else ""
    out.print(
        f"one server per service instead: {len(servers)} servers, "
        f"{_cpu_cell(capacity.cpu)} vCPU, {_memory_cell(capacity.memory)}{server_cost} "
        f"(vs {_cpu_cell(plan.recommended * shape.cpu)} vCPU, "
        f"{_memory_cell(plan.recommended * shape.memory)} on the cluster)"
    )


def _round_up(count: int, zones: int) -> int:
    return -(-count // zones) * zones


def print_verification(verification: Verification) -> None:
    out = console()
    table = Table(title="verified on the sandbox (real kube-scheduler)", title_justify="left")
    for column in ("NODES", "RESULT", "PENDING PODS", "TIME"):
        table.add_column(column, overflow="fold")
    for trial in verification.trials:
        result = "[green]every pod Ready[/]" if trial.fits else "[yellow]does not fit[/]"
        detail = "; ".join(trial.pending[:2]) + (" …" if len(trial.pending) > 2 else "")
        if trial.failed and not trial.pending:
            detail = "; ".join(trial.failed[:2])
        table.add_row(
            str(trial.nodes),
            result,
            f"{len(trial.pending)}: {detail}" if detail else "0",
            f"{trial.seconds:.0f}s",
        )
    out.print(table)
    out.print(f"[bold]{verification.verdict}[/]")
