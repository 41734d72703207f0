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
