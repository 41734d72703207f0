"""How many nodes the fleet needs, in the situations an operator must survive: the steady
state, every environment rolling at once, autoscaling to the maximum, and a lost (or
drained) node. Pure: hardened objects in, numbers and layouts out."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.kube.resources import GIB, Resources, total
from campus.plan.demand import workloads_of
from campus.plan.model import NodeShape, Overhead, Workload
from campus.plan.packing import (
    Layout,
    Pod,
    add_pods,
    layouts,
    least_allocated,
    lower_bound,
    pack,
    pods_of,
    scheduler_scored,
    stranded_by_loss,
    stranded_by_zone_loss,
)
from campus.plan.servers import Server, one_server_per_service


class PlanError(CampusError):
    pass


class PodDoesNotFit(PlanError):
    """A single pod asks for more than an empty node offers: no node count helps."""


@dataclass(frozen=True)
class Cluster:
    """The node group to plan for."""

    shape: NodeShape
    overhead: Overhead
    zones: tuple[str, ...] = ("a", "b", "c")
    node_price: float = 0.0  # per node and month, any currency; 0 = no cost shown

    @property
    def room(self) -> Resources:
        return self.overhead.room_for_pods(self.shape)


@dataclass(frozen=True)
class Scenario:
    name: str
    pods: int
    requests: Resources
    nodes: int
    note: str = ""


@dataclass(frozen=True)
class EnvironmentPlan:
    name: str
    pods: int
    requests: Resources
    nodes_alone: int
    servers: tuple[Server, ...]
    service_addresses: int = 0  # Services that take an address from the Service range


@dataclass(frozen=True)
class FleetPlan:
    cluster: Cluster
    environments: tuple[EnvironmentPlan, ...]
    steady: Scenario
    scheduled: Scenario
    rolling_update: Scenario
    autoscaled: Scenario
    node_loss: Scenario
    recommended: int
    steady_layout: Layout
    zone_loss: Scenario | None = None  # None with a single zone

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        lost_zone = () if self.zone_loss is None else (self.zone_loss,)
        return (
            self.steady,
            self.scheduled,
            self.rolling_update,
            self.autoscaled,
            self.node_loss,
            *lost_zone,
        )

    @property
    def servers(self) -> list[Server]:
        return [s for e in self.environments for s in e.servers]

    @property
    def service_addresses(self) -> int:
        return sum(e.service_addresses for e in self.environments)


def service_addresses(objects: Sequence[KubeObject]) -> int:
    """How many of `objects` take an address from the cluster's Service range: every
    Service but a headless (clusterIP None) or ExternalName one."""
    return sum(
        1
        for obj in objects
        if obj.get("kind") == "Service"
        and (obj.get("spec") or {}).get("clusterIP") != "None"
        and (obj.get("spec") or {}).get("type") != "ExternalName"
    )


def _cpu(millicores: int) -> str:
    return f"{millicores / 1000:g}"


def _memory(size: int) -> str:
    return f"{size / GIB:.2f}Gi"


def check_pods_fit(workloads: Sequence[Workload], cluster: Cluster) -> None:
    """Fail on the first pod no node can hold, naming it and what a node has to offer."""
    room = cluster.room
    for workload in sorted(workloads, key=lambda w: -w.pod.share_of(room)):
        if workload.pod.fits_in(room):
            continue
        reserved, daemons = cluster.overhead.reserved, cluster.overhead.daemons
        raise PodDoesNotFit(
            f"{workload.environment}: a pod of {workload.kind} {workload.name} requests "
            f"{_cpu(workload.pod.cpu)} CPU and {_memory(workload.pod.memory)} but a node of "
            f"{_cpu(cluster.shape.cpu)} CPU and {_memory(cluster.shape.memory)} has "
            f"{_cpu(room.cpu)} CPU and {_memory(room.memory)} left for pods (after "
            f"{_cpu(reserved.cpu)} CPU, {_memory(reserved.memory)} kubelet reservation and "
            f"{_cpu(daemons.cpu)} CPU, {_memory(daemons.memory)} of daemon sets); "
            "plan with a larger --node-cpu/--node-memory"
        )
    if room.cpu <= 0 or room.memory <= 0 or room.pods <= 0:
        raise PodDoesNotFit(
            f"a node of {_cpu(cluster.shape.cpu)} CPU and {_memory(cluster.shape.memory)} has "
            "nothing left for pods after its overhead"
        )


# The largest cluster Kubernetes supports (its "considerations for large clusters"): no
# more than 150,000 pods. A fleet asking for more cannot run anywhere; planning it pod by
# pod would only exhaust memory.
MAX_PODS = 150_000


def check_pod_count(workloads: Sequence[Workload]) -> None:
    """Refuse, from the counts alone, a fleet whose pods no Kubernetes cluster can hold."""
    steady = sum(_steady(w) for w in workloads)
    most = sum(w.max_replicas + w.surge for w in workloads if w.kind != "Job")
    if max(steady, most) <= MAX_PODS:
        return
    biggest = max(workloads, key=lambda w: w.max_replicas)
    raise PlanError(
        f"the fleet asks for up to {max(steady, most)} pods ({biggest.environment}: "
        f"{biggest.name} up to {biggest.max_replicas}), more than the {MAX_PODS} pods of the "
        "largest cluster Kubernetes supports"
    )


def smallest(
    pods: Sequence[Pod],
    cluster: Cluster,
    start: int = 1,
    accept: Callable[[Layout], bool] = lambda layout: True,
    step: int = 1,
) -> tuple[int, Layout]:
    """The fewest nodes (from `start`, in steps of `step`) on which some heuristic's layout
    holds the pods and satisfies `accept`."""
    count = max(start, lower_bound(pods, cluster.room))
    # One pod per node always fits (every pod fits an empty node, and spread with at most
    # one pod of a group per node has skew 1); the loss check may need one more than that.
    limit = max(count, len(pods) + 1) + step
    while count <= limit:
        for layout in layouts(pods, count, cluster.room, cluster.zones):
            if accept(layout):
                return count, layout
        count += step
    raise PlanError(f"no layout of {len(pods)} pods found on up to {limit} nodes")


def _requests(pods: Sequence[Pod]) -> Resources:
    return total(pod.workload.pod for pod in pods)


def _steady(w: Workload) -> int:
    return w.replicas if w.kind != "Job" else 0


def _rollout_extra(workloads: Sequence[Workload], environments: int, room: Resources) -> list[Pod]:
    """The surge of every Deployment and the largest init Job (Jobs run one at a time) of
    the `environments` environments that need the most for it: a fleet deploy rolls that
    many environments at once (`campus deploy --parallel`)."""
    extra: dict[str, list[Pod]] = {}
    for w in workloads:
        pods = extra.setdefault(w.environment, [])
        if w.kind != "Job":
            pods += [Pod(w, w.replicas + k) for k in range(w.surge)]
    for w in workloads:
        if w.kind != "Job":
            continue
        pods = extra[w.environment]
        current = next((p for p in pods if p.workload.kind == "Job"), None)
        if current is None or w.pod > current.workload.pod:
            if current is not None:
                pods.remove(current)
            pods.append(Pod(w, 0))
    heaviest = sorted(extra.values(), key=lambda pods: -_requests(pods).share_of(room))
    return [pod for pods in heaviest[:environments] for pod in pods]


def _deploy_phases(workloads: Sequence[Workload]) -> tuple[list[Pod], list[Pod], list[Pod]]:
    """The steady-state pods by the deploy step that creates them: backing services, then
    applications at their first count (one pod where an HPA owns the count, since the
    Deployment is applied without `replicas`), then the pods the HPAs add."""
    backing: list[Pod] = []
    applications: list[Pod] = []
    scaled: list[Pod] = []
    for w in workloads:
        if w.kind == "Job":
            continue
        first = min(1, w.replicas) if w.autoscaled else w.replicas
        phase = backing if w.backing else applications
        phase += [Pod(w, index) for index in range(first)]
        scaled += [Pod(w, index) for index in range(first, w.replicas)]
    return backing, applications, scaled


def deploy_order(workloads: Sequence[Workload]) -> list[Pod]:
    """The steady-state pods in the order a fleet deploy creates them, phase by phase."""
    backing, applications, scaled = _deploy_phases(workloads)
    return backing + applications + scaled


# Interleavings sampled beside the structured orders; a fixed seed keeps the plan
# reproducible. On the two-environment test fleet about one interleaving in thirteen needs
# a node more than phase-by-phase order: sixteen make missing it unlikely.
SAMPLED_ORDERS = 16


def _bursts(pods: Sequence[Pod]) -> list[list[Pod]]:
    """The pods of each workload together, in first-seen order."""
    by_workload: dict[int, list[Pod]] = {}
    for pod in pods:
        by_workload.setdefault(id(pod.workload), []).append(pod)
    return list(by_workload.values())


def creation_orders(
    workloads: Sequence[Workload], samples: int = SAMPLED_ORDERS
) -> list[list[Pod]]:
    """Orders in which a fleet deploy plausibly creates the steady-state pods. Environments
    deploy concurrently and the Deployments of a phase roll out concurrently, so the real
    order is any interleaving of the environments that keeps each one's phases in turn:
    phase by phase across the fleet, one environment after another (either way round), and
    `samples` random interleavings of Deployment bursts."""
    environments = list(dict.fromkeys(w.environment for w in workloads))
    by_environment = {
        name: _deploy_phases([w for w in workloads if w.environment == name])
        for name in environments
    }

    def one_by_one(names: Sequence[str]) -> list[Pod]:
        return [pod for name in names for phase in by_environment[name] for pod in phase]

    orders = [deploy_order(workloads), one_by_one(environments), one_by_one(environments[::-1])]
    rng = random.Random(0)
    for _ in range(samples):
        # A Deployment's controller creates its replicas in one burst: whole bursts move.
        queues: dict[str, list[list[Pod]]] = {}
        for name, phases in by_environment.items():
            queue: list[list[Pod]] = []
            for phase in phases:
                bursts = _bursts(phase)
                queue += rng.sample(bursts, len(bursts))
            queues[name] = queue[::-1]  # popped from the end
        order: list[Pod] = []
        while queues:
            name = rng.choice(sorted(queues))
            order += queues[name].pop()
            if not queues[name]:
                del queues[name]
        orders.append(order)
    return [order for i, order in enumerate(orders) if order not in orders[:i]]


def as_scheduled(pods: Sequence[Pod], cluster: Cluster, start: int = 1) -> int:
    """The fewest nodes on which the pods fit when each, in the given order, goes to the
    node the default scheduler prefers: the emptiest (its LeastAllocated score), or the
    emptiest and most balanced (with BalancedAllocation, as the scheduler sums them). It
    spreads load instead of packing it, so it can need more nodes than bin packing; of the
    two scorings the one needing more nodes counts, as the plan cannot know the tie-breaks."""
    count = max(start, lower_bound(pods, cluster.room))
    while any(
        pack(pods, count, cluster.room, cluster.zones, choice) is None
        for choice in (least_allocated, scheduler_scored)
    ):
        count += 1
    return count


def _scheduled_count(orders: Sequence[Sequence[Pod]], cluster: Cluster, start: int) -> int:
    """The fewest nodes that hold the pods in every one of the orders; each order starts
    from the count the previous ones needed, so most orders cost one packing per scoring."""
    count = start
    for order in orders:
        count = as_scheduled(order, cluster, count)
    return count


def fewest_surviving_a_node(pods: Sequence[Pod], cluster: Cluster) -> int:
    """Losing a node that holds pods leaves the others to hold them all: no fewer nodes
    than that survive it, so the search for the count that does starts there."""
    return lower_bound(pods, cluster.room) + 1 if pods else 1


def fewest_surviving_a_zone(pods: Sequence[Pod], cluster: Cluster) -> int:
    """Likewise for a zone: its nodes (one in `zones`, round robin) lost, the others."""
    zones = len(cluster.zones)
    if not pods or zones < 2:
        return 1
    return -(-lower_bound(pods, cluster.room) * zones // (zones - 1))


def _round_to_zones(count: int, zones: int) -> int:
    return math.ceil(count / zones) * zones


def plan_fleet(
    requests: Sequence[tuple[str, Sequence[KubeObject], Sequence[KubeObject]]],
    cluster: Cluster,
    rolling_environments: int = 4,
) -> FleetPlan:
    """`requests`: (environment, hardened objects, init Jobs) per environment;
    `rolling_environments`: how many roll at once."""
    by_environment = {name: workloads_of(name, objects, jobs) for name, objects, jobs in requests}
    workloads = [w for ws in by_environment.values() for w in ws]
    check_pod_count(workloads)
    check_pods_fit(workloads, cluster)

    steady_pods = pods_of(workloads, _steady)
    steady_count, steady_layout = smallest(steady_pods, cluster)
    steady = Scenario(
        "steady state",
        len(steady_pods),
        _requests(steady_pods),
        steady_count,
        "replicas, or the HPA's minReplicas",
    )

    rolling = min(rolling_environments, len(by_environment))
    orders = creation_orders(workloads)
    scheduled = Scenario(
        "steady, as scheduled",
        len(orders[0]),
        _requests(orders[0]),
        _scheduled_count(orders, cluster, steady_count),
        "pods in the orders a fleet deploy creates them, each on the node the default "
        "scheduler prefers: the nodes that always hold the fleet, what --verify checks",
    )

    extra = _rollout_extra(workloads, rolling, cluster.room)

    def rolls(layout: Layout) -> bool:
        return add_pods(layout.copy(), extra) is None

    rollout_count, _ = smallest(steady_pods, cluster, steady_count, rolls)
    rollout = Scenario(
        "rolling update",
        len(steady_pods) + len(extra),
        _requests(steady_pods) + _requests(extra),
        rollout_count,
        f"{rolling} environment{'s' if rolling > 1 else ''} rolling at once: every "
        "Deployment's surge and an init Job",
    )

    most_pods = pods_of(workloads, lambda w: w.max_replicas if w.kind != "Job" else 0)
    autoscaled_count, _ = smallest(most_pods, cluster, steady_count)
    autoscaled = Scenario(
        "autoscaled to max",
        len(most_pods),
        _requests(most_pods),
        autoscaled_count,
        "every HPA at maxReplicas",
    )

    def survives(layout: Layout) -> bool:
        return stranded_by_loss(layout) is None

    loss_start = max(steady_count, fewest_surviving_a_node(steady_pods, cluster))
    loss_count, _ = smallest(steady_pods, cluster, loss_start, survives)
    stranded = stranded_by_loss(steady_layout)
    loss_note = "any one node lost or drained: its pods find room on the others"
    if stranded is not None:
        node, pod = stranded
        loss_note += f" (on {steady_count} nodes, losing {node} strands {pod.name})"
    node_loss = Scenario(
        "survives a lost node", len(steady_pods), _requests(steady_pods), loss_count, loss_note
    )

    recommended, _ = smallest(
        steady_pods,
        cluster,
        _round_to_zones(max(scheduled.nodes, rollout_count, loss_count), len(cluster.zones)),
        lambda layout: rolls(layout) and survives(layout),
        step=len(cluster.zones),
    )

    zone_loss = _zone_loss(steady_pods, cluster, loss_count) if len(cluster.zones) > 1 else None

    addresses = {name: service_addresses(objects) for name, objects, _ in requests}
    environments = []
    for name, env_workloads in by_environment.items():
        pods = pods_of(env_workloads, _steady)
        alone, _ = smallest(pods, cluster)
        servers = one_server_per_service(
            env_workloads, cluster.shape, cluster.overhead.daemons, cluster.node_price
        )
        environments.append(
            EnvironmentPlan(
                name, len(pods), _requests(pods), alone, tuple(servers), addresses[name]
            )
        )
    return FleetPlan(
        cluster,
        tuple(environments),
        steady,
        scheduled,
        rollout,
        autoscaled,
        node_loss,
        recommended,
        steady_layout,
        zone_loss,
    )


def _zone_loss(pods: Sequence[Pod], cluster: Cluster, start: int) -> Scenario:
    """The nodes, a multiple of the zones, on which losing a whole zone leaves room for
    its pods on the others. Not part of the recommendation: a fleet that must survive a
    zone outage provisions this many (see docs/drill.md, zone failure)."""
    zones = len(cluster.zones)
    count, _ = smallest(
        pods,
        cluster,
        _round_to_zones(max(start, fewest_surviving_a_zone(pods, cluster)), zones),
        lambda layout: stranded_by_zone_loss(layout) is None,
        step=zones,
    )
    return Scenario(
        "survives a lost zone",
        len(pods),
        _requests(pods),
        count,
        f"every node of one zone lost at once ({count // zones} per zone): its pods find room "
        "in the other zones",
    )
