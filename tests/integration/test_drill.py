"""The node-failure drill, and logs/exec refusing simulated pods, on a sandbox of their own
(a drill fails a node, which must not disturb the other tests' fleets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node, Pod

from campus.cli.main import cli
from campus.kube.connect import FIELD_MANAGER
from campus.sandbox import cluster

pytestmark = pytest.mark.integration

FLEET = """\
cluster:
  sandbox: {sandbox}
defaults:
  plugins: []
  size: small
  ingress: {{mode: ingress}}
environments:
  drill-prod:
    hosts: {{lms: learn.prod.drill.example.org}}
    production: true
  drill-dev:
    hosts: {{lms: learn.dev.drill.example.org}}
"""


@pytest.fixture(scope="module")
def drill_sandbox(sandbox: cluster.SandboxInfo) -> Iterator[str]:
    name = f"{sandbox.name}-drill"
    cluster.down(name)
    cluster.up(name, nodes=3, node_cpu="8", node_memory="32Gi", zones=("a", "b", "c"))
    try:
        yield name
    finally:
        cluster.down(name)


@pytest.fixture(scope="module")
def fleet(drill_sandbox: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drill") / "fleet.yml"
    path.write_text(FLEET.format(sandbox=drill_sandbox))
    result = CliRunner().invoke(cli, ["deploy", "-f", str(path), "--timeout", "180"])
    assert result.exit_code == 0, result.output
    return path


def kube_for(sandbox: str) -> Client:
    return Client(
        KubeConfig.from_file(cluster.kubeconfig_path(sandbox)), field_manager=FIELD_MANAGER
    )


def test_node_failure_drill_keeps_production_serving(fleet: Path, drill_sandbox: str) -> None:
    kube = kube_for(drill_sandbox)
    placement = {
        (p.metadata.namespace, (p.metadata.labels or {}).get("app.kubernetes.io/name")): []
        for p in kube.list(Pod, namespace="*")
        if p.metadata
    }
    for pod in kube.list(Pod, namespace="*"):
        assert pod.metadata and pod.spec
        key = (pod.metadata.namespace, (pod.metadata.labels or {}).get("app.kubernetes.io/name"))
        if pod.spec.nodeName and pod.status and pod.status.phase == "Running":
            placement[key].append(pod.spec.nodeName)

    result = CliRunner().invoke(cli, ["drill", "node-failure", "-f", str(fleet), "-o", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert report["podsOnNode"] > 0
    assert 0 < report["detectedAfterSeconds"] < report["recoveredAfterSeconds"] < 120
    services = {(s["environment"], s["service"]): s for s in report["services"]}
    assert services["drill-prod", "lms"]["desired"] >= 2
    for (environment, service), outcome in services.items():
        if environment == "drill-prod" and service in ("lms", "cms", "caddy"):
            assert outcome["secondsWithoutReady"] == 0, outcome
    # A single-replica dev service whose pod was on the failed node really was down.
    lost = [
        service
        for (namespace, service), nodes in placement.items()
        if namespace == "drill-dev" and nodes == [report["node"]]
    ]
    assert lost, "the busiest node should hold a dev pod"
    for service in lost:
        assert services["drill-dev", service]["secondsWithoutReady"] > 0

    node = kube.get(Node, report["node"])
    assert node.status and any(
        c.type == "Ready" and c.status == "True" for c in node.status.conditions or []
    )


def test_drill_rejects_an_unknown_node_and_a_real_cluster(fleet: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["drill", "node-failure", "-f", str(fleet), "--node", "nope"])
    assert result.exit_code != 0
    assert "node 'nope' is not a Ready node" in result.output
    real = tmp_path / "fleet.yml"
    real.write_text(fleet.read_text().replace("  sandbox:", "  context:"))
    result = CliRunner().invoke(cli, ["drill", "node-failure", "-f", str(real)])
    assert result.exit_code != 0
    assert "runs only on a sandbox" in result.output


@pytest.mark.parametrize("command", [["logs"], ["exec", "--", "true"]])
def test_logs_and_exec_say_sandbox_pods_have_no_containers(fleet: Path, command: list[str]) -> None:
    verb, *rest = command
    flag = "--file" if verb == "logs" else "-f"
    result = CliRunner().invoke(cli, [verb, "drill-dev", "lms", flag, str(fleet), *rest])
    assert result.exit_code != 0
    assert "sandbox pods have no containers" in result.output


def test_logs_names_the_services_of_an_environment(fleet: Path) -> None:
    result = CliRunner().invoke(cli, ["logs", "drill-dev", "nginx", "--file", str(fleet)])
    assert result.exit_code != 0
    assert "drill-dev has no service 'nginx'; services:" in result.output
    assert "lms" in result.output
