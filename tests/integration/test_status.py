"""`campus status` against a deployed fleet on the operations sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Pod

from campus.cli.main import cli
from campus.sandbox import cluster

pytestmark = pytest.mark.integration


def status(fleet: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["status", "-f", str(fleet), *arguments])
    return result.exit_code, result.output


def test_json_describes_every_environment(ops_fleet: Path) -> None:
    code, output = status(ops_fleet, "-o", "json")
    assert code == 0, output
    document = json.loads(output)
    assert document["kind"] == "FleetStatus"
    environments = {e["name"]: e for e in document["environments"]}
    assert set(environments) == {"ops-prod", "ops-dev"}
    for environment in environments.values():
        assert environment["healthy"], environment["problems"]
        assert environment["revision"] >= 1 and environment["deployed_at"]
        assert all(s["ready"] >= s["desired"] >= 1 for s in environment["services"])
        assert all(p["node"].startswith("node-") for p in environment["pods"])
    lms = {s["name"]: s for s in environments["ops-prod"]["services"]}["lms"]
    assert lms["hpa_min"] == 2 and lms["desired"] >= 2
    assert {s["name"]: s for s in environments["ops-dev"]["services"]}["lms"]["hpa_max"] is None


def test_namespace_filter_and_table(ops_fleet: Path) -> None:
    code, output = status(ops_fleet, "-n", "ops-dev", "-o", "yaml")
    assert code == 0, output
    assert "name: ops-dev" in output and "ops-prod" not in output
    code, output = status(ops_fleet, "-o", "wide")
    assert code == 0, output
    for heading in ("HEALTH", "REVISION", "SERVICE", "NODE", "ago"):
        assert heading in output


def test_unknown_environment_and_namespace_are_errors(ops_fleet: Path) -> None:
    code, output = status(ops_fleet, "nope")
    assert code != 0 and "no environment nope" in output
    code, output = status(ops_fleet, "-n", "elsewhere")
    assert code != 0 and "namespace elsewhere" in output


def test_a_pod_that_cannot_schedule_is_a_problem_with_the_schedulers_reason(
    ops_fleet: Path, ops_sandbox: str
) -> None:
    kube = Client(KubeConfig.from_file(cluster.kubeconfig_path(ops_sandbox)))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "stranded",
            "namespace": "ops-dev",
            "labels": {"app.kubernetes.io/name": "stranded"},
        },
        "spec": {
            "nodeSelector": {"campus.test/nowhere": "true"},
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "securityContext": {
                        "runAsUser": 1000,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"memory": "16Mi"},
                    },
                }
            ],
        },
    }
    kube.create(from_dict(pod))
    try:
        deadline = time.monotonic() + 30
        while True:
            code, output = status(ops_fleet, "ops-dev", "-o", "json")
            [environment] = json.loads(output)["environments"]
            if environment["problems"] or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert not environment["healthy"]
        assert any(
            "pod stranded Pending" in p and "node affinity/selector" in p
            for p in environment["problems"]
        ), environment["problems"]
        code, output = status(ops_fleet, "ops-dev")
        assert code == 0, output
        assert "degraded" in output
    finally:
        kube.delete(Pod, "stranded", namespace="ops-dev", grace_period=0)


def test_status_and_history_work_from_a_kubeconfig_alone(
    ops_fleet: Path, ops_sandbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a folder without a fleet file, as `kubectl` or `helm list`: the environments are
    the namespaces campus labelled, read with the kubeconfig."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = ["--kubeconfig", str(cluster.kubeconfig_path(ops_sandbox))]

    def run(*arguments: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, [*arguments, *config])
        return result.exit_code, result.output

    code, output = run("status", "-o", "json")
    assert code == 0, output
    found = {e["name"]: e for e in json.loads(output)["environments"]}
    # Every labelled namespace of the shared sandbox: other tests deploy there too.
    assert {"ops-prod", "ops-dev"} <= set(found)
    environments = {name: found[name] for name in ("ops-prod", "ops-dev")}
    assert all(e["deployed"] and e["revision"] >= 1 for e in environments.values())
    code, output = run("status", "-o", "wide")
    assert code == 0 and "ops-prod" in output and "RELEASE" in output, output
    code, output = run("status", "-n", "ops-dev", "-o", "yaml")
    assert code == 0 and "name: ops-dev" in output and "ops-prod" not in output, output
    code, output = run("history", "ops-prod", "-o", "json")
    assert code == 0, output
    assert json.loads(output)["revisions"][-1]["revision"] >= 1
    code, output = run("history", "nope")
    assert code == 1 and "no environment nope in the cluster" in output and "ops-dev" in output

    # ./fleet.yml is read when there is one: what it plans but the cluster lacks shows.
    planned = ops_fleet.read_text() + "  ops-next:\n    hosts: {lms: learn.next.ops.example.org}\n"
    (elsewhere / "fleet.yml").write_text(planned)
    code, output = run("status", "-o", "json")
    assert code == 0, output
    deployed = {e["name"]: e["deployed"] for e in json.loads(output)["environments"]}
    assert deployed == {"ops-prod": True, "ops-dev": True, "ops-next": False}
    code, output = run("status")
    assert code == 0 and "not deployed" in output, output
