"""The node-failure drill, and logs/exec refusing simulated pods, on the operations sandbox
(a drill fails a node, which must not disturb the other tests' fleets)."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.policy_v1 import PodDisruptionBudgetSpec
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from campus.cli.main import cli
from campus.kube.connect import FIELD_MANAGER
from campus.sandbox import cluster

pytestmark = pytest.mark.integration


def kube_for(sandbox: str) -> Client:
    return Client(
        KubeConfig.from_file(cluster.kubeconfig_path(sandbox)), field_manager=FIELD_MANAGER
    )


def test_node_failure_drill_keeps_production_serving(ops_fleet: Path, ops_sandbox: str) -> None:
    kube = kube_for(ops_sandbox)
    placement: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pod in kube.list(Pod, namespace="*"):
        assert pod.metadata and pod.spec and pod.metadata.namespace
        service = (pod.metadata.labels or {}).get("app.kubernetes.io/name", "")
        if pod.spec.nodeName and pod.status and pod.status.phase == "Running":
            placement[pod.metadata.namespace, service].append(pod.spec.nodeName)
    # Production web services are spread: no node holds two replicas of one.
    for web in ("lms", "cms", "caddy", "lms-worker"):
        nodes = placement["ops-prod", web]
        assert len(nodes) >= 2 and len(set(nodes)) == len(nodes), (web, nodes)

    result = CliRunner().invoke(cli, ["drill", "node-failure", "-f", str(ops_fleet), "-o", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert report["podsOnNode"] > 0
    assert 0 < report["detectedAfterSeconds"] < report["recoveredAfterSeconds"] < 120
    services = {(s["environment"], s["service"]): s for s in report["services"]}
    assert services["ops-prod", "lms"]["desired"] >= 2
    for (environment, service), outcome in services.items():
        if environment == "ops-prod" and service in ("lms", "cms", "caddy"):
            assert outcome["secondsWithoutReady"] == 0, outcome
    # A single-replica dev service whose pod was on the failed node really was down.
    lost = [
        service
        for (namespace, service), nodes in placement.items()
        if namespace == "ops-dev" and nodes == [report["node"]]
    ]
    assert lost, "the busiest node should hold a dev pod"
    for service in lost:
        assert services["ops-dev", service]["secondsWithoutReady"] > 0

    node = kube.get(Node, report["node"])
    assert node.status and any(
        c.type == "Ready" and c.status == "True" for c in node.status.conditions or []
    )


def test_zone_failure_drill_fails_every_node_of_the_zone_and_draws_it(
    ops_fleet: Path, ops_sandbox: str, tmp_path: Path
) -> None:
    kube = kube_for(ops_sandbox)
    zone_of = {
        n.metadata.name: _labels(n)["topology.kubernetes.io/zone"]
        for n in kube.list(Node)
        if n.metadata and n.metadata.name
    }
    # The zone running most of the fleet (an earlier drill may have emptied a node).
    pods = Counter(
        zone_of[node]
        for namespace in ("ops-prod", "ops-dev")
        for service in ("lms", "cms", "caddy", "mysql", "redis")
        for node in _node_of(kube, namespace, service)
    )
    [(zone, _)] = pods.most_common(1)
    in_zone = sorted(node for node, z in zone_of.items() if z == zone)
    picture = tmp_path / "zone.png"
    args = ["drill", "zone-failure", "--zone", zone, "-f", str(ops_fleet), "-o", "json"]
    result = CliRunner().invoke(cli, [*args, "--report", str(picture)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["zone"] == zone and report["nodes"] == in_zone and report["passed"]
    assert report["podsOnNode"] > 0
    assert 0 < report["detectedAfterSeconds"] < report["recoveredAfterSeconds"] < 120
    for outcome in report["services"]:
        if outcome["environment"] == "ops-prod" and outcome["service"] in ("lms", "cms", "caddy"):
            assert outcome["secondsWithoutReady"] == 0, outcome
    assert picture.read_bytes()[:4] == b"\x89PNG"
    for node in in_zone:  # restored
        status = kube.get(Node, node).status
        assert status and any(
            c.type == "Ready" and c.status == "True" for c in status.conditions or []
        )
    result = CliRunner().invoke(cli, ["drill", "zone-failure", "--zone", "z", "-f", str(ops_fleet)])
    assert result.exit_code != 0 and "zone 'z' has no Ready node" in result.output


def test_drill_rejects_an_unknown_node_and_a_real_cluster(ops_fleet: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["drill", "node-failure", "-f", str(ops_fleet), "--node", "nope"]
    )
    assert result.exit_code != 0
    assert "node 'nope' is not a Ready node" in result.output
    real = tmp_path / "fleet.yml"
    real.write_text(ops_fleet.read_text().replace("  sandbox:", "  context:"))
    result = CliRunner().invoke(cli, ["drill", "node-failure", "-f", str(real)])
    assert result.exit_code != 0
    assert "runs only on a sandbox" in result.output


def _node_of(kube: Client, namespace: str, service: str) -> list[str]:
    return sorted(
        pod.spec.nodeName
        for pod in kube.list(Pod, namespace=namespace, labels={"app.kubernetes.io/name": service})
        if pod.spec and pod.spec.nodeName and not (pod.metadata and pod.metadata.deletionTimestamp)
    )


def _labels(node: Node) -> dict[str, str]:
    return dict((node.metadata.labels if node.metadata else None) or {})


def _expected_pods(kube: Client, namespace: str, name: str) -> int:
    status = kube.get(PodDisruptionBudget, name, namespace=namespace).status
    return status.expectedPods if status else 0


def _cordoned(kube: Client, node: str) -> bool:
    spec = kube.get(Node, node).spec
    return bool(spec and spec.unschedulable)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} after {timeout:.0f}s"
        time.sleep(0.5)


def test_node_rotation_names_the_budget_that_blocks_it_then_rotates_without_gaps(
    ops_fleet: Path, ops_sandbox: str, tmp_path: Path
) -> None:
    kube = kube_for(ops_sandbox)
    [node] = _node_of(kube, "ops-dev", "redis")
    zone = _labels(kube.get(Node, node))["topology.kubernetes.io/zone"]
    # The classic trap: a budget of minAvailable 1 over a single replica.
    trap = PodDisruptionBudget(
        metadata=ObjectMeta(name="redis-trap", namespace="ops-dev"),
        spec=PodDisruptionBudgetSpec(
            minAvailable=1, selector=LabelSelector(matchLabels={"app.kubernetes.io/name": "redis"})
        ),
    )
    kube.create(trap)
    try:
        _wait(lambda: _expected_pods(kube, "ops-dev", "redis-trap") == 1, "counted")
        args = ["drill", "node-rotation", "-f", str(ops_fleet), "--node", node, "-o", "json"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        assert not report["completed"] and report["blockedEvictions"] >= 1
        [stuck] = report["stuckBudgets"]
        assert (stuck["budget"], stuck["service"]) == ("redis-trap", "redis")
        assert "maxUnavailable: 1" in stuck["fix"]
        assert set(report["productionSecondsWithoutReady"].values()) == {0}
        assert not _cordoned(kube, node)  # put back
    finally:
        kube.delete(PodDisruptionBudget, "redis-trap", namespace="ops-dev")

    picture = tmp_path / "rotation.html"
    result = CliRunner().invoke(cli, [*args, "--report", str(picture)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["completed"]
    [rotated] = report["rotated"]
    assert rotated["node"] == node and rotated["deleted"] and rotated["evicted"] > 0
    production = report["productionSecondsWithoutReady"]
    assert "ops-prod/lms" in production and set(production.values()) == {0}
    # redis ran on the rotated node and moved; a KWOK pod is Ready within the sampler's
    # second, so its downtime is at most a few seconds here (a real volume's detach and
    # attach takes longer).
    [moved_to] = _node_of(kube, "ops-dev", "redis")
    assert moved_to != node
    assert report["dataDowntimeSeconds"].get("ops-dev", 0) < 10
    names = {n.metadata.name for n in kube.list(Node) if n.metadata}
    assert node not in names and rotated["replacement"] in names
    assert _labels(kube.get(Node, rotated["replacement"]))["topology.kubernetes.io/zone"] == zone
    assert "<svg" in picture.read_text()


@pytest.mark.parametrize("component", ["kube-apiserver", "kube-controller-manager"])
def test_a_control_plane_restart_mid_deploy_leaves_nothing_half_applied(
    ops_fleet: Path, component: str, tmp_path: Path
) -> None:
    picture = tmp_path / "control-plane.html"
    args = ["drill", "control-plane", "-f", str(ops_fleet), "--component", component]
    args += ["--report", str(picture)]
    result = CliRunner().invoke(cli, [*args, "--delay", "2", "--timeout", "120", "-o", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert report["component"] == component and report["backAfterSeconds"] < 60
    for outcome in report["during"]:  # finished, or failed saying why
        assert outcome["outcome"] != "failed" or outcome["message"], outcome
    assert {o["outcome"] for o in report["after"]} <= {"deployed", "unchanged"}
    # A deploy the restart made fail leaves the Lease marked unfinished, so the deploy
    # after it applies every object instead of skipping unchanged ones: nothing is left.
    assert report["leftOver"] == {"ops-prod": 0, "ops-dev": 0}
    # Sampled all along by the drill runner: every application rolled twice, and no
    # production stateless service lost its last ready replica.
    held = [s for s in report["services"] if s["mustStayUp"]]
    assert {s["service"] for s in held} >= {"lms", "cms", "caddy"}
    assert all(s["secondsWithoutReady"] == 0 for s in held), held
    assert "<svg" in picture.read_text()
    assert result.exit_code == 0 and report["passed"]


def test_a_lease_left_by_a_deploy_that_died_is_taken_over_after_expiry(
    ops_fleet: Path, ops_sandbox: str
) -> None:
    kube = kube_for(ops_sandbox)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    dead = LeaseSpec(
        holderIdentity="operator@laptop/4242/1",
        leaseDurationSeconds=30,
        acquireTime=long_ago,
        renewTime=long_ago,
    )
    kube.apply(
        Lease(metadata=ObjectMeta(name="campus-deploy", namespace="ops-dev"), spec=dead),
        force=True,
    )
    result = CliRunner().invoke(cli, ["deploy", "ops-dev", "-f", str(ops_fleet)])
    assert result.exit_code == 0, result.output
    assert "4242" not in result.output  # taken over at once, not waited on
    lease = kube.get(Lease, "campus-deploy", namespace="ops-dev")
    assert not (lease.spec and lease.spec.holderIdentity == dead.holderIdentity)


def _scale(kube: Client, namespace: str, name: str, replicas: int) -> None:
    kube.patch(Deployment, name, {"spec": {"replicas": replicas}}, namespace=namespace)
    _wait(lambda: len(_node_of(kube, namespace, name)) == replicas, f"{replicas} {name} pods")


def test_drain_refuses_to_take_a_production_service_to_zero(
    ops_fleet: Path, ops_sandbox: str
) -> None:
    kube = kube_for(ops_sandbox)
    _scale(kube, "ops-prod", "caddy", 1)  # as if its other replica were lost
    try:
        [lone] = _node_of(kube, "ops-prod", "caddy")
        for dry_run in (["--dry-run"], []):
            result = CliRunner().invoke(cli, ["drain", lone, "-f", str(ops_fleet), *dry_run])
            assert result.exit_code == 1, result.output
            assert "production service ops-prod/caddy with no ready replica" in result.output
            assert not _cordoned(kube, lone)  # nothing was changed
        other = next(n for n in sorted(_node_of(kube, "ops-prod", "lms")) if n != lone)
        result = CliRunner().invoke(cli, ["drain", other, "-f", str(ops_fleet), "--dry-run"])
        assert result.exit_code == 0, result.output
        assert f"draining {other} would evict" in result.output
        assert "ops-prod/lms-" in result.output and "dry run: nothing was changed" in result.output
        assert not _cordoned(kube, other)
        kube.patch(Node, other, {"spec": {"unschedulable": True}})
        result = CliRunner().invoke(cli, ["uncordon", other, "-f", str(ops_fleet)])
        assert result.exit_code == 0 and not _cordoned(kube, other), result.output
    finally:
        _scale(kube, "ops-prod", "caddy", 2)


@pytest.mark.parametrize("command", [["logs"], ["exec", "--", "true"]])
def test_logs_and_exec_say_sandbox_pods_have_no_containers(
    ops_fleet: Path, command: list[str]
) -> None:
    verb, *rest = command
    flag = "--file" if verb == "logs" else "-f"
    result = CliRunner().invoke(cli, [verb, "ops-dev", "lms", flag, str(ops_fleet), *rest])
    assert result.exit_code != 0
    assert "sandbox pods have no containers" in result.output


def test_logs_names_the_services_of_an_environment(ops_fleet: Path) -> None:
    result = CliRunner().invoke(cli, ["logs", "ops-dev", "nginx", "--file", str(ops_fleet)])
    assert result.exit_code != 0
    assert "ops-dev has no service 'nginx'; services:" in result.output
    assert "lms" in result.output


# A plugin the catalogue has never heard of: one Deployment serving a port with no volume,
# so the fallback classifies it as a stateless web service.
WIDGET_PLUGIN = '''
from tutor import hooks

hooks.Filters.ENV_PATCHES.add_item(("k8s-deployments", """
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: widget
  labels:
    app.kubernetes.io/name: widget
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: widget
  template:
    metadata:
      labels:
        app.kubernetes.io/name: widget
    spec:
      containers:
        - name: widget
          image: docker.io/example/widget:1.0
          ports:
            - containerPort: 8123
"""))
'''

# smtp, stateless by the catalogue, made single and stateful by the fleet file.
PLUGIN_FLEET = """\
cluster:
  sandbox: {sandbox}
defaults:
  plugins: [widget]
  size: small
  ingress: {{mode: ingress}}
environments:
  ops-widget:
    hosts: {{lms: learn.widget.ops.example.org}}
    production: true
    services:
      smtp: {{stateless: false}}
"""


@pytest.fixture(scope="module")
def widget_fleet(ops_sandbox: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("widget")
    (folder / "plugins").mkdir()
    (folder / "plugins" / "widget.py").write_text(WIDGET_PLUGIN)
    path = folder / "fleet.yml"
    path.write_text(PLUGIN_FLEET.format(sandbox=ops_sandbox))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUTOR_PLUGINS_ROOT", str(folder / "plugins"))
        deployed = CliRunner().invoke(cli, ["deploy", "-f", str(path), "--timeout", "180"])
        assert deployed.exit_code == 0, deployed.output
        try:
            yield path
        finally:
            CliRunner().invoke(cli, ["destroy", "ops-widget", "-f", str(path), "--yes"])


def test_drill_and_status_count_a_fallback_service_and_an_override_as_hardened(
    widget_fleet: Path, ops_sandbox: str
) -> None:
    kube = kube_for(ops_sandbox)
    [lone_smtp] = _node_of(kube, "ops-widget", "smtp")
    result = CliRunner().invoke(cli, ["status", "-f", str(widget_fleet), "-o", "json"])
    assert result.exit_code == 0, result.output
    [environment] = json.loads(result.stdout)["environments"]
    kinds = {s["name"]: s["kind"] for s in environment["services"]}
    assert (kinds["widget"], kinds["smtp"], kinds["mysql"]) == ("web", "web", "data")

    # The node running the only smtp: by its name smtp would be a production stateless
    # service gone to zero; the fleet file says it is not one, and the drill reads that.
    args = ["drill", "node-failure", "-f", str(widget_fleet), "--node", lone_smtp, "-o", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    outcomes = {s["service"]: s for s in report["services"]}
    assert outcomes["smtp"]["secondsWithoutReady"] > 0
    assert not outcomes["smtp"]["mustStayUp"]
    # The plugin's service, known to no catalogue entry, is held to the promise.
    widget = outcomes["widget"]
    assert widget["mustStayUp"] and widget["kind"] == "web" and widget["desired"] == 2
    assert widget["secondsWithoutReady"] == 0
    assert outcomes["mysql"]["kind"] == "data" and not outcomes["mysql"]["mustStayUp"]
