"""The node-failure drill, and logs/exec refusing simulated pods, on the operations sandbox
(a drill fails a node, which must not disturb the other tests' fleets)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node, Pod

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
