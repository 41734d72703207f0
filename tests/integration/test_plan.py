"""`campus plan` against the real kube-scheduler: the planned node count holds every pod
and the scheduler needs no more; the lost-node rule is the scheduler's; bad input is named."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Pod

from campus.cli.main import cli
from campus.deploy.model import DeployRequest
from campus.kube.resources import Resources
from campus.labels import HOSTNAME
from campus.output.progress import QuietProgress
from campus.pipeline import deploy_requests, load
from campus.plan.model import NodeShape, Overhead, Spread, Workload
from campus.plan.packing import pods_of, stranded_by_loss
from campus.plan.planner import Cluster, plan_fleet, smallest
from campus.plan.verify import VerifyOptions, verify_plan
from campus.sandbox import cluster as sandboxes

pytestmark = pytest.mark.integration

# Its own sandboxes, sized per test, beside the session's shared one.
PLAN_SANDBOX = os.environ.get("CAMPUS_TEST_SANDBOX", "campus-test") + "-plan"

# Two environments on small nodes, so that the fleet needs several of them and required
# spread, the kubelet reservation and the daemon set all matter.
FLEET = """\
cluster:
  sandbox: {sandbox}
defaults:
  plugins: [mfe]
  size: small
  ingress: {{mode: ingress, class: nginx, controller_namespace: ingress-nginx}}
environments:
  shop-dev:
    hosts: {{lms: learn.dev.shop.example.org}}
  shop-prod:
    hosts: {{lms: learn.shop.example.org}}
    size: medium
    production: true
"""
NODE = NodeShape.parse("4", "8Gi")


@pytest.fixture(scope="module")
def fleet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "fleet.yml"
    path.write_text(FLEET.format(sandbox=PLAN_SANDBOX))
    return path


@pytest.fixture(scope="module")
def requests(fleet_file: Path) -> list[DeployRequest]:
    return deploy_requests(load(fleet_file))


@pytest.fixture(scope="module")
def small_nodes() -> Cluster:
    return Cluster(NODE, Overhead.default(NODE))


@pytest.fixture(autouse=True, scope="module")
def no_sandbox_left() -> Iterator[None]:
    yield
    sandboxes.down(PLAN_SANDBOX)


def test_the_scheduler_fits_the_fleet_on_the_planned_nodes(
    requests: list[DeployRequest], small_nodes: Cluster
) -> None:
    """The as-scheduled count holds the fleet however the concurrent deploy interleaves its
    environments; the scheduler may manage with fewer in a lucky order, never with fewer
    than the requests add up to, and what stays Pending is named with the scheduler's
    reason."""
    plan = plan_fleet([(r.environment, r.objects, r.init_jobs) for r in requests], small_nodes)
    planned = plan.scheduled.nodes
    steady, room = plan.steady.requests, small_nodes.room
    floor = max(-(-steady.cpu // room.cpu), -(-steady.memory // room.memory))
    assert floor >= 3  # several small nodes: a real packing problem
    # Generous bounds: a loaded machine is slow, and a trial that fits ends as soon as it does.
    options = VerifyOptions(PLAN_SANDBOX, phase_timeout=120, settle_seconds=10, max_extra=1)
    verification = verify_plan(requests, small_nodes, planned, QuietProgress(), options)
    first = verification.trials[0]
    assert (first.nodes, first.fits, first.failed) == (planned, True, [])
    assert not first.pending
    needed = verification.scheduler_needed
    assert needed is not None and floor <= needed <= planned, verification.verdict
    refused = [t for t in verification.trials if not t.fits]
    assert refused and all(t.nodes < planned for t in refused)
    for trial in refused:
        assert trial.pending, f"{trial.nodes} nodes: no pod Pending, yet it did not fit"
        assert all("Insufficient" in p or "topology spread" in p for p in trial.pending)


def test_sandbox_nodes_carry_the_planned_overhead(
    requests: list[DeployRequest], small_nodes: Cluster
) -> None:
    """Allocatable is capacity minus the kubelet reservation, and the daemon set runs on
    every node: what the planner subtracts is what the scheduler sees."""
    sandboxes.down(PLAN_SANDBOX)
    reserved = small_nodes.overhead.reserved
    info = sandboxes.up(
        PLAN_SANDBOX,
        nodes=1,
        node_cpu="4",
        node_memory="8Gi",
        zones=("a",),
        node_reserved=(f"{reserved.cpu}m", str(reserved.memory)),
    )
    try:
        from lightkube.resources.core_v1 import Node

        client = Client(KubeConfig.from_file(info.kubeconfig))
        node = client.get(Node, "node-0")
        assert node.status is not None and node.status.allocatable is not None
        allocatable = node.status.allocatable
        expected = small_nodes.overhead.node_allocatable(NODE)
        assert allocatable["cpu"] == f"{expected.cpu}m"
        assert int(allocatable["memory"]) == expected.memory
    finally:
        sandboxes.down(PLAN_SANDBOX)


def _spread_web(replicas: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "web", "image": "web"}],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": HOSTNAME,
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": labels},
                        }
                    ],
                },
            },
        },
    }


def _pods(client: Client) -> list[Pod]:
    return [
        p
        for p in client.list(Pod, namespace="default", labels={"app": "web"})
        if p.metadata is not None and p.metadata.deletionTimestamp is None
    ]


def test_lost_node_strands_a_spread_replica_as_planned() -> None:
    """Two replicas that must spread, on two nodes: the planner says losing a node strands
    one, because the dead node still counts as a domain. The scheduler agrees."""
    web = Workload("env", "web", "Deployment", Resources(0, 0, 1), 2, 2, 0, (Spread(HOSTNAME, 1),))
    bare = Cluster(NODE, Overhead(Resources(), Resources()))
    _, layout = smallest(pods_of([web], lambda w: w.replicas), bare, start=2)
    assert stranded_by_loss(layout) is not None

    sandboxes.down(PLAN_SANDBOX)
    info = sandboxes.up(PLAN_SANDBOX, nodes=2, zones=("a", "b"))
    try:
        client = Client(KubeConfig.from_file(info.kubeconfig), field_manager="test")
        client.create(from_dict(_spread_web(2)))
        deadline = time.monotonic() + 180
        while sum(1 for p in _pods(client) if p.spec and p.spec.nodeName) < 2:
            assert time.monotonic() < deadline, "the two replicas never scheduled"
            time.sleep(1)
        sandboxes.fail_node(PLAN_SANDBOX, "node-0")
        deadline = time.monotonic() + 240
        reason = ""
        while not reason:
            assert time.monotonic() < deadline, "no replacement pod went Pending"
            for pod in _pods(client):
                for condition in (pod.status.conditions if pod.status else None) or []:
                    if condition.type == "PodScheduled" and condition.status == "False":
                        reason = condition.message or ""
            time.sleep(1)
        assert "topology spread" in reason
    finally:
        sandboxes.down(PLAN_SANDBOX)


def test_plan_names_the_pod_that_fits_no_node(fleet_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["plan", "-f", str(fleet_file), "--node-cpu", "1", "--node-memory", "1Gi"]
    )
    assert result.exit_code == 1
    assert "shop-prod: a pod of Deployment" in result.output
    assert "left for pods" in result.output and "--node-cpu/--node-memory" in result.output


def test_plan_rejects_a_node_size_that_is_not_a_quantity(fleet_file: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "-f", str(fleet_file), "--node-cpu", "lots"])
    assert result.exit_code == 2
    assert "'lots' is not a Kubernetes CPU quantity" in result.output


def test_plan_json_document(fleet_file: Path) -> None:
    import json

    result = CliRunner().invoke(cli, ["plan", "-f", str(fleet_file), "-o", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["kind"] == "FleetPlan"
    assert [e["name"] for e in document["environments"]] == ["shop-dev", "shop-prod"]
    names = [s["name"] for s in document["scenarios"]]
    assert names == [
        "steady state",
        "steady, as scheduled",
        "rolling update",
        "autoscaled to max",
        "survives a lost node",
        "survives a lost zone",
    ]
    assert document["recommended"]["nodes"] % 3 == 0
