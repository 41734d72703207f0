"""An environment placed on the sandbox's real nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from campus.harden.flows import Network, address, pod
from campus.labels import API_ACCESS
from campus.sandbox import cluster_dns, real_nodes
from campus.sandbox.node_config import REAL_NODE
from campus.sandbox.paths import kubeconfig_path, state_dir
from campus.sandbox.placement import (
    IMAGE_STOOD_IN,
    IMAGES,
    MachineServices,
    machine_policies,
    place,
    sandbox_image_key,
)


def deployment(image: str, **pod: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": image,
        "ports": [{"containerPort": 8000}],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "3Gi"}},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsUser": 1000},
    }
    return {
        "kind": "Deployment",
        "metadata": {"name": "lms"},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [container], **pod}}},
    }


def test_images_are_the_same_software_or_the_stand_in() -> None:
    assert sandbox_image_key("docker.io/mysql:8.4.0") == "mysql"
    assert sandbox_image_key("docker.io/redis:7.4.5") == "redis"
    assert sandbox_image_key("docker.io/caddy:2.11.7") == "caddy"
    assert sandbox_image_key("docker.io/overhangio/openedx:21.0.0") == "openedx-standin"
    assert sandbox_image_key("docker.io/overhangio/openedx-mfe:21.0.0") == "openedx-standin"


def test_a_placed_pod_keeps_its_hardening_and_says_what_stands_in() -> None:
    original = deployment(
        "docker.io/overhangio/openedx:21.0.0",
        topologySpreadConstraints=[{"whenUnsatisfiable": "DoNotSchedule"}],
    )
    [placed] = place([original])
    template = placed["spec"]["template"]
    pod = template["spec"]
    [container] = pod["containers"]
    assert pod["nodeSelector"] == {REAL_NODE: "true"}
    assert {"key": REAL_NODE, "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["image"] == IMAGES["openedx-standin"]
    assert container["imagePullPolicy"] == "Never"
    assert container["securityContext"] == {"readOnlyRootFilesystem": True, "runAsUser": 1000}
    assert {"name": "PORT", "value": "8000"} in container["env"]
    assert container["resources"]["requests"] == {"cpu": "10m", "memory": "32Mi"}
    assert container["resources"]["limits"] == {"memory": "3Gi"}
    assert pod["topologySpreadConstraints"] == [{"whenUnsatisfiable": "ScheduleAnyway"}]
    assert (
        "stand-in for main=docker.io/overhangio/openedx:21.0.0"
        in (template["metadata"]["annotations"][IMAGE_STOOD_IN])
    )
    # The original is left as it was.
    assert original["spec"]["template"]["spec"]["containers"][0]["image"].startswith("docker.io")


def test_a_job_on_the_stand_in_reports_its_command_instead_of_running_it() -> None:
    job = deployment("docker.io/overhangio/openedx:21.0.0")
    job["kind"] = "Job"
    job["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-e", "-c", "migrate"]
    [placed] = place([job])
    [container] = placed["spec"]["template"]["spec"]["containers"]
    assert "command" not in container
    assert container["args"] == ["--job", "sh", "-e", "-c", "migrate"]


def test_claimed_volumes_are_given_to_the_pods_user_first() -> None:
    mysql = deployment(
        "docker.io/mysql:8.4.0",
        securityContext={"runAsUser": 999, "fsGroup": 999},
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "mysql"}}],
    )
    mysql["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/var/lib/mysql"}
    ]
    [placed] = place([mysql])
    [owner] = placed["spec"]["template"]["spec"]["initContainers"]
    assert owner["command"] == ["chown", "-R", "999:999", "/volumes/data"]
    assert owner["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["CHOWN", "DAC_READ_SEARCH"],
    }
    [container] = placed["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGES["mysql"] and "env" not in container


def test_the_sandbox_admits_its_dns_and_api_server_on_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both run on the machine, not in pods: the policies admit its address, on their ports."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    nodes = real_nodes.nodes_directory(state_dir("campus"))
    nodes.mkdir(parents=True)
    (nodes / "Corefile").write_text(cluster_dns.corefile("192.168.1.20", 41053, Path("/k")))
    server = "https://127.0.0.1:38443"
    kubeconfig_path("campus").write_text(f"clusters:\n- cluster:\n    server: {server}\n")
    machine = real_nodes.machine_services("campus")
    assert machine == MachineServices("192.168.1.20", 41053, 38443)
    assert real_nodes.machine_services("another") is None  # no real nodes there
    deny = {"kind": "NetworkPolicy", "metadata": {"name": "d", "namespace": "real-a"}}
    deny["spec"] = {"podSelector": {}, "policyTypes": ["Egress"]}
    network = Network.of([deny, *machine_policies("real-a", machine)])
    lms, hub = pod("real-a", {"app": "lms"}), pod("real-a", {API_ACCESS: "true"})
    there = address("192.168.1.20")
    assert network.allows(lms, there, 41053, "UDP") and network.allows(lms, there, 41053, "TCP")
    assert not network.allows(lms, there, 38443) and network.allows(hub, there, 38443)
    assert not network.allows(hub, there, 10250)  # a kubelet's port
    assert not network.allows(lms, address("192.168.1.21"), 41053, "UDP")
