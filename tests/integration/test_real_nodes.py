"""Real nodes: a kubelet and containerd on this machine, joined to the sandbox's control
plane, running hardened pods as processes."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest
from lightkube import KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Node, Pod

from campus.kube.client import KubeClient
from campus.sandbox import cluster, network
from campus.sandbox.node_config import PAUSE_IMAGE, REAL_NODE, RealNode

pytestmark = pytest.mark.integration

RESTRICTED = {
    "runAsUser": 1000,
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def client_of(info: cluster.SandboxInfo) -> KubeClient:
    return KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="campus-test")


def real_pod(name: str, image: str, **container: object) -> Pod:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "nodeSelector": {REAL_NODE: "true"},
                "tolerations": [{"key": REAL_NODE, "operator": "Exists"}],
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "securityContext": RESTRICTED,
                        **container,
                    }
                ],
            },
        }
    )


def wait_running(client: KubeClient, name: str, timeout: float = 90) -> Pod:
    deadline = time.monotonic() + timeout
    while True:
        pod = client.get(Pod, name, namespace="default")
        if pod.status and pod.status.phase == "Running":
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {name} not Running: {pod.status}")
        time.sleep(0.5)


def test_the_real_node_joins_with_its_own_identity_and_a_pod_range(
    real_sandbox: cluster.SandboxInfo,
) -> None:
    assert real_sandbox.real_nodes == ("real-0",)
    node = client_of(real_sandbox).get(Node, "real-0")
    assert node.metadata and node.spec and node.status and node.status.nodeInfo
    assert (node.metadata.labels or {})[REAL_NODE] == "true"
    # The node controller's own taints (not-ready, right after Ready) may linger a moment;
    # campus's taint is the one that must be there, and nothing else of campus's.
    taints = {(t.key, t.effect) for t in node.spec.taints or []}
    assert (REAL_NODE, "NoSchedule") in taints
    assert all(key == REAL_NODE or key.startswith("node.kubernetes.io/") for key, _ in taints)
    assert node.status.nodeInfo.containerRuntimeVersion == "containerd://2.4.2"
    assert node.status.nodeInfo.kubeletVersion == "v1.36.3"
    # The controller-manager gave it a range inside the cluster's, apart from the KWOK
    # nodes' (campus gives those theirs).
    pod_range = ipaddress.ip_network(node.spec.podCIDR or "")
    assert pod_range.subnet_of(ipaddress.ip_network(network.CLUSTER_POD_RANGE))
    assert str(pod_range) not in {network.pod_range(index) for index in range(2)}


def test_a_hardened_pod_runs_as_a_process_on_the_real_node(
    real_sandbox: cluster.SandboxInfo,
) -> None:
    client = client_of(real_sandbox)
    client.create(real_pod("hardened", PAUSE_IMAGE))
    pod = wait_running(client, "hardened")
    assert pod.spec and pod.spec.nodeName == "real-0" and pod.status
    node = client.get(Node, "real-0")
    assert node.spec
    assert ipaddress.ip_address(pod.status.podIP or "") in ipaddress.ip_network(
        node.spec.podCIDR or ""
    )
    [status] = pod.status.containerStatuses or []
    assert status.ready and (status.containerID or "").startswith("containerd://")
    # A process of the node's cgroup runs as the pod's user: it is not a simulation.
    layout = RealNode(real_sandbox.name, "real-0", Path(), "", 0, 0, "")
    procs = Path("/sys/fs/cgroup/pids") / layout.cgroup_root.lstrip("/")
    users = set()
    for listing in procs.rglob("cgroup.procs"):
        for pid in listing.read_text().split():
            status_text = (Path("/proc") / pid / "status").read_text()
            uid_line = next(line for line in status_text.splitlines() if line.startswith("Uid:"))
            users.add(int(uid_line.split()[1]))
    assert 1000 in users
    client.delete(Pod, "hardened", namespace="default", grace_period=0)


def test_a_stopped_sandbox_leaves_nothing_of_its_real_nodes(
    real_sandbox: cluster.SandboxInfo,
) -> None:
    """Stops the session's real sandbox and starts it again (one sandbox at a time may
    have real nodes on a machine)."""
    name = real_sandbox.name
    client = client_of(real_sandbox)
    client.create(real_pod("doomed", PAUSE_IMAGE))
    wait_running(client, "doomed")
    directory = real_sandbox.kubeconfig.parent / "real-nodes" / "real-0"
    layout = RealNode(name, "real-0", directory, "", 0, 0, "")
    assert (Path("/sys/class/net") / layout.bridge).exists()
    assert cluster.down(name)
    try:
        mounts = Path("/proc/self/mountinfo").read_text()
        assert f"/sandboxes/{name}/" not in mounts
        assert str(layout.run_dir) not in mounts and not layout.run_dir.exists()
        assert not (Path("/sys/fs/cgroup/pids") / layout.cgroup_root.lstrip("/")).exists()
        assert not (Path("/sys/class/net") / layout.bridge).exists()
        leftover = [
            proc.name
            for proc in Path("/proc").iterdir()
            if proc.name.isdigit()
            and any(
                marker in _cmdline(proc)
                for marker in (f"/sandboxes/{name}/".encode(), str(layout.run_dir).encode())
            )
        ]
        assert leftover == []
    finally:
        cluster.up(name, nodes=2, zones=("a", "b"), real_nodes=1)


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
