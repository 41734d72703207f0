"""Capacity planning, pure: demands read from hardened manifests, packing with the
scheduler's spread rule, the lost-node check, the one-server-per-service comparison."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from campus.harden import harden_all
from campus.kube.resources import GIB, MIB, Resources
from campus.labels import HOSTNAME, ZONE
from campus.plan.demand import workloads_of
from campus.plan.model import (
    NodeShape,
    Overhead,
    Spread,
    Workload,
    kubelet_reservation,
)
from campus.plan.packing import (
    Choice,
    Layout,
    Pod,
    best_fit,
    first_fit,
    least_allocated,
    pack,
    pods_of,
    scheduler_scored,
    stranded_by_loss,
    stranded_by_zone_loss,
)
from campus.plan.planner import (
    Cluster,
    PodDoesNotFit,
    as_scheduled,
    creation_orders,
    deploy_order,
    fewest_surviving_a_node,
    fewest_surviving_a_zone,
    plan_fleet,
    smallest,
)
from campus.plan.servers import one_server_per_service
from campus.plan.verify import Trial, Verification, judge
from campus.render.model import RenderedEnvironment

NODE = NodeShape.parse("8", "32Gi")
BARE = Cluster(NODE, Overhead(Resources(), Resources()))  # no overhead: round numbers


def workload(
    name: str, cpu: int, replicas: int = 1, spread: bool = False, memory: int = GIB
) -> Workload:
    return Workload(
        environment="env",
        name=name,
        kind="Deployment",
        pod=Resources(cpu, memory, 1),
        replicas=replicas,
        max_replicas=replicas,
        surge=0,
        spread=(Spread(HOSTNAME, 1),) if spread else (),
    )


def steady(*workloads: Workload) -> list[Pod]:
    return pods_of(workloads, lambda w: w.replicas)


def test_kubelet_reservation_follows_the_published_ladder() -> None:
    reserved = kubelet_reservation(NODE)
    # 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest.
    assert reserved.cpu == 60 + 10 + 10 + 10
    # 25% of 4Gi, 20% of 4Gi, 10% of 8Gi, 6% of 16Gi, plus the 100Mi eviction threshold.
    assert reserved.memory == pytest.approx((1 + 0.8 + 0.8 + 0.96) * GIB + 100 * MIB, abs=1)


def test_workloads_read_from_the_hardened_example(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    objects, jobs = harden_all(rendered_example["acme-prod"])
    found = {w.name: w for w in workloads_of("acme-prod", objects, jobs)}
    lms = found["lms"]
    assert (lms.replicas, lms.max_replicas, lms.surge) == (3, 8, 1)  # HPA 3-8, maxSurge 1
    assert lms.spread == (Spread(HOSTNAME, 1),)  # zone spread is only preferred
    assert lms.disruption_budget
    assert lms.pod == Resources(1000, 3 * GIB, 1)
    mysql = found["mysql"]
    assert (mysql.replicas, mysql.surge, mysql.spread) == (1, 0, ())  # Recreate, no spread
    assert not mysql.disruption_budget
    assert any(w.kind == "Job" for w in found.values())
    dev = {w.name: w for w in workloads_of("acme-dev", *harden_all(rendered_example["acme-dev"]))}
    assert dev["lms"].spread == ()  # ScheduleAnyway outside production


def test_required_spread_can_cost_a_node() -> None:
    """Three 3-CPU replicas that must not share a node leave no 7-CPU gap on three nodes;
    packed freely they would."""
    big = workload("big", 7000)
    spread_out = smallest(steady(workload("web", 3000, 3, spread=True), big), BARE)
    packed = smallest(steady(workload("web", 3000, 3, spread=False), big), BARE)
    assert (spread_out[0], packed[0]) == (4, 3)
    hosts = [n.name for n in spread_out[1].nodes for p in n.pods if p.workload.name == "web"]
    assert len(set(hosts)) == 3


def test_one_node_balances_any_spread() -> None:
    """With a single node there is a single domain: skew 0, so spread never blocks."""
    count, _ = smallest(steady(workload("web", 100, 3, spread=True)), BARE)
    assert count == 1


def test_a_lost_node_stays_a_spread_domain() -> None:
    """Two replicas that must spread, on two nodes: when one node dies it still counts as a
    domain with none of them, so the replacement may not join its sibling: three nodes."""
    pods = steady(workload("web", 100, 2, spread=True))
    _, layout = smallest(pods, BARE, start=2)
    stranded = stranded_by_loss(layout)
    assert stranded is not None and stranded[1].workload.name == "web"
    count, _ = smallest(pods, BARE, 1, lambda layout: stranded_by_loss(layout) is None)
    assert count == 3


def test_loss_check_needs_room_for_the_biggest_node() -> None:
    pods = steady(workload("a", 5000), workload("b", 5000))
    _, layout = smallest(pods, BARE)
    assert len(layout.used_nodes) == 2
    assert stranded_by_loss(layout) is not None  # 5 + 5 CPU do not fit one 8-CPU node
    count, _ = smallest(pods, BARE, 1, lambda layout: stranded_by_loss(layout) is None)
    assert count == 3


def test_deploy_order_and_the_schedulers_spreading_can_cost_a_node() -> None:
    """Placed in deploy order on the emptiest node, two 4-CPU pods take both nodes' middle
    and leave no room for the 6-CPU pod that bin packing fits beside them."""
    small = workload("small", 4000, replicas=2)
    big = Workload("env", "lms", "Deployment", Resources(6000, GIB, 1), 1, 3, 1, autoscaled=True)
    database = dataclasses.replace(workload("mysql", 4000, replicas=1), backing=True)
    ordered = deploy_order([small, big, database])
    assert [p.workload.name for p in ordered] == ["mysql", "small", "small", "lms"]
    assert smallest(ordered, BARE)[0] == 3  # 6 | 4+4 | 4
    assert as_scheduled(ordered, BARE) == 4


def test_environments_deployed_concurrently_can_cost_a_node() -> None:
    """Phase by phase, the two 6-CPU pods come first and take a node each; when the other
    environment's two 4-CPU pods come first, they take the middle of two nodes and the
    second 6-CPU pod finds no room on three. The plan counts the worse order."""
    big = dataclasses.replace(workload("lms", 6000, replicas=2), environment="a")
    small = dataclasses.replace(workload("small", 4000, replicas=2), environment="b")
    database = dataclasses.replace(workload("db", 0, memory=0), environment="a", backing=True)
    fleet = [big, small, database]
    orders = creation_orders(fleet)
    assert orders[0] == deploy_order(fleet)
    assert as_scheduled(orders[0], BARE) == 3  # 6 | 6 | 4+4
    assert max(as_scheduled(order, BARE) for order in orders) == 4
    for order in orders:  # each environment's backing service still comes first
        assert sorted(order, key=lambda p: p.name) == sorted(orders[0], key=lambda p: p.name)
        assert next(p.workload.name for p in order if p.workload.environment == "a") == "db"


def test_layout_places_nodes_round_robin_over_zones() -> None:
    layout = Layout(5, BARE.room, ("a", "b", "c"))
    assert [n.zone for n in layout.nodes] == ["a", "b", "c", "a", "b"]


def _requests(rendered: dict[str, RenderedEnvironment]) -> list[tuple[str, Any, Any]]:
    return [(name, *harden_all(r)) for name, r in rendered.items()]


def test_example_fleet_plan(rendered_example: dict[str, RenderedEnvironment]) -> None:
    cluster = Cluster(NODE, Overhead.default(NODE), node_price=100)
    plan = plan_fleet(_requests(rendered_example), cluster)
    room = cluster.room
    # Never below what the requests add up to, never more than a node or two above it.
    floor = max(
        -(-plan.steady.requests.cpu // room.cpu), -(-plan.steady.requests.memory // room.memory)
    )
    assert floor <= plan.steady.nodes <= floor + 1
    assert plan.scheduled.nodes >= plan.steady.nodes
    assert plan.rolling_update.nodes >= plan.steady.nodes
    assert plan.autoscaled.nodes >= plan.steady.nodes
    assert plan.node_loss.nodes > plan.steady.nodes  # the steady layout has no spare node
    assert plan.recommended % 3 == 0
    assert plan.recommended >= max(plan.rolling_update.nodes, plan.node_loss.nodes)
    assert plan.zone_loss is not None and plan.zone_loss in plan.scenarios
    assert plan.zone_loss.nodes % 3 == 0 and plan.zone_loss.nodes >= plan.node_loss.nodes
    # The planned layout honours what it promises: resources and required spread.
    for node in plan.steady_layout.nodes:
        assert node.used.fits_in(room)
        groups = [p.workload.group for p in node.pods if p.workload.spread]
        for group in set(groups):
            replicas = next(p.workload.replicas for p in node.pods if p.workload.group == group)
            if replicas <= plan.steady.nodes:
                assert groups.count(group) == 1, f"{group} twice on {node.name}"
    servers = plan.servers
    assert len(servers) == plan.steady.pods  # every pod of a service on a server of its own
    assert sum(s.price for s in servers) > plan.recommended * cluster.node_price


def test_pod_too_big_for_a_node_is_named(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    shape = NodeShape.parse("2", "4Gi")
    with pytest.raises(PodDoesNotFit) as error:
        plan_fleet(_requests(rendered_example), Cluster(shape, Overhead.default(shape)))
    message = str(error.value)
    assert message.startswith("acme-prod: a pod of Deployment lms requests 1 CPU and 3.00Gi")
    assert "left for pods" in message and "--node-memory" in message


def test_one_server_per_service_picks_the_smallest_size() -> None:
    web = workload("web", 1500, replicas=2, memory=3 * GIB)
    cache = workload("cache", 50, memory=64 * MIB)
    servers = one_server_per_service([web, cache], NODE, Resources(), node_price=100)
    assert [(s.service, s.shape.cpu, s.shape.memory // GIB) for s in servers] == [
        ("web", 2000, 8),  # 2 vCPU/4Gi minus the OS reservation is under 3Gi
        ("web", 2000, 8),
        ("cache", 1000, 2),
    ]
    assert servers[0].price == pytest.approx(100 * (2 / 8 + 8 / 32) / 2)


def _pod(name: str, conditions: list[dict[str, str]], phase: str = "Pending") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "status": {"phase": phase, "conditions": conditions},
    }


def test_judge_reports_pending_pods_with_the_scheduler_message() -> None:
    deployment = {
        "metadata": {"name": "lms", "namespace": "ns"},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1},
    }
    pending = _pod(
        "lms-2",
        [
            {
                "type": "PodScheduled",
                "status": "False",
                "message": "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes "
                "are available: 3 No preemption victims found for incoming pod.",
            }
        ],
    )
    ready = _pod("lms-1", [{"type": "Ready", "status": "True"}], "Running")
    done = _pod("init-1", [], "Succeeded")
    seen = judge([deployment], [], [pending, ready, done])
    assert not seen.ready
    assert seen.pending == ("ns/lms-2: 0/3 nodes are available: 3 Insufficient cpu.",)
    scaler = {
        "metadata": {"name": "lms", "namespace": "ns"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "lms"}, "minReplicas": 3},
    }
    assert "HPA to scale to 3" in judge([deployment], [scaler], [ready]).waiting
    deployment["status"] = {"readyReplicas": 2}
    assert judge([deployment], [], [ready, done]).ready


def test_verification_verdicts() -> None:
    confirmed = Verification(4, [Trial(4, fits=True), Trial(3, fits=False)])
    assert confirmed.scheduler_needed == 4 and confirmed.verdict.startswith("confirmed")
    more = Verification(4, [Trial(4), Trial(5, fits=True)])
    assert more.scheduler_needed == 5 and "more than the 4 planned" in more.verdict
    fewer = Verification(4, [Trial(4, fits=True), Trial(3, fits=True), Trial(2)])
    assert fewer.scheduler_needed == 3 and "fewer" in fewer.verdict
    assert Verification(4, [Trial(4), Trial(5)]).scheduler_needed is None


def test_a_lost_zone_strands_what_the_other_zones_cannot_hold() -> None:
    # Two zones of one 8-CPU node each, 5 CPU used on each: neither zone's pods fit beside
    # the other's; four nodes (two per zone) leave room for a whole zone's pods.
    pods = steady(workload("web", 5000, replicas=2, spread=True))
    tight = Layout(2, BARE.room, ("a", "b"))
    for pod, node in zip(pods, tight.nodes, strict=True):
        tight.place(pod, node)
    lost = stranded_by_zone_loss(tight)
    assert lost is not None and lost[0] == "a"
    roomy = Layout(4, BARE.room, ("a", "b"))
    for pod, node in zip(pods, roomy.nodes, strict=False):
        roomy.place(pod, node)
    assert stranded_by_zone_loss(roomy) is None


def test_plan_counts_the_service_addresses_a_fleet_needs(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    from campus.output.plan import plan_document
    from campus.plan.planner import service_addresses

    headless = {"kind": "Service", "spec": {"clusterIP": "None"}}
    external = {"kind": "Service", "spec": {"type": "ExternalName"}}
    assert service_addresses([headless, external, {"kind": "Service", "spec": {}}]) == 1
    plan = plan_fleet(_requests(rendered_example), Cluster(NODE, Overhead.default(NODE)))
    for environment in plan.environments:
        assert 5 <= environment.service_addresses <= 12  # about nine for each environment
    document = plan_document(plan)["serviceAddresses"]
    assert document["needed"] == plan.service_addresses
    assert document["fits"] and document["smallestRange"] == "/24"


@pytest.mark.parametrize("choice", [first_fit, best_fit, least_allocated, scheduler_scored])
def test_placing_runs_of_identical_pods_matches_placing_them_one_by_one(choice: Choice) -> None:
    """The run shortcuts (fill the chosen node, a heap of scores) are an optimisation only:
    the layout is the one pod-by-pod placement gives, on random fleets with and without
    spread."""
    rng = random.Random(7)
    for trial in range(40):
        workloads = [
            workload(
                f"w{i}",
                rng.choice([0, 100, 250, 500, 1000, 3000]),
                replicas=rng.randint(1, 12),
                spread=rng.random() < 0.3,
                memory=rng.choice([0, 128 * MIB, GIB, 3 * GIB]),
            )
            for i in range(rng.randint(1, 6))
        ]
        pods = steady(*workloads)
        if trial % 2:
            rng.shuffle(pods)
        count = rng.randint(1, 6)
        expected = Layout(count, BARE.room, BARE.zones)
        fits = True
        for pod in pods:
            node = choice(expected, pod)
            if node is None:
                fits = False
                break
            expected.place(pod, node)
        layout = pack(pods, count, BARE.room, BARE.zones, choice)
        assert (layout is not None) == fits
        if layout is not None:
            assert [(n.pods, n.used, n.free) for n in layout.nodes] == [
                (n.pods, n.used, n.free) for n in expected.nodes
            ]


def _random_workloads(rng: random.Random, zone_spread: bool = True) -> list[Workload]:
    found = []
    for i in range(rng.randint(1, 6)):
        spread: tuple[Spread, ...] = ()
        if rng.random() < 0.5:
            spread += (Spread(HOSTNAME, rng.randint(1, 2)),)
        if zone_spread and rng.random() < 0.4:
            spread += (Spread(ZONE, rng.randint(1, 2)),)
        found.append(
            dataclasses.replace(
                workload(
                    f"w{i}",
                    rng.choice([0, 100, 500, 1000, 3000]),
                    replicas=rng.randint(1, 9),
                    memory=rng.choice([0, 128 * MIB, GIB, 5 * GIB]),
                ),
                spread=spread,
            )
        )
    return found


def test_candidates_are_the_nodes_the_spread_filter_accepts() -> None:
    """Every node whose domain, holding the pod, stays within maxSkew of the emptiest
    domain (lost nodes are domains too), and that has room: checked one by one."""
    rng = random.Random(11)
    for _ in range(60):
        workloads = _random_workloads(rng)
        layout = Layout(rng.randint(1, 7), BARE.room, ("a", "b", "c")[: rng.randint(1, 3)])
        pods = steady(*workloads)
        rng.shuffle(pods)
        for pod in pods:
            expected = []
            for node in layout.nodes:
                within = True
                for constraint in pod.workload.spread:
                    counts = {n.domain(constraint.topology_key): 0 for n in layout.nodes}
                    for other in layout.nodes:
                        domain = other.domain(constraint.topology_key)
                        counts[domain] += sum(
                            p.workload.group == pod.workload.group for p in other.pods
                        )
                    skew = counts[node.domain(constraint.topology_key)] + 1 - min(counts.values())
                    within = within and skew <= constraint.max_skew
                if node.alive and pod.workload.pod.fits_in(node.free) and within:
                    expected.append(node)
            assert layout.candidates(pod) == expected
            if expected:
                layout.place(pod, rng.choice(expected))
            if rng.random() < 0.05:
                layout.lose(rng.choice(layout.nodes))


def test_loss_searches_may_start_where_the_survivors_can_hold_the_pods() -> None:
    """No count below the bounds survives a lost node (or zone): starting there finds the
    count a search from the steady state finds."""
    rng = random.Random(5)
    for _ in range(25):
        pods = steady(*_random_workloads(rng, zone_spread=False))
        cluster = dataclasses.replace(BARE, zones=("a", "b", "c")[: rng.randint(2, 3)])
        zones = len(cluster.zones)
        start, _ = smallest(pods, cluster)

        def node(layout: Layout) -> bool:
            return stranded_by_loss(layout) is None

        def zone(layout: Layout) -> bool:
            return stranded_by_zone_loss(layout) is None

        bound = fewest_surviving_a_node(pods, cluster)
        assert (
            smallest(pods, cluster, max(start, bound), node)[0]
            == (smallest(pods, cluster, start, node)[0])
        )
        round_up = -(-max(start, fewest_surviving_a_zone(pods, cluster)) // zones) * zones
        assert (
            smallest(pods, cluster, round_up, zone, zones)[0]
            == (smallest(pods, cluster, -(-start // zones) * zones, zone, zones)[0])
        )
