"""The simulated nodes and the sandbox's default StorageClass, as plain objects. Pure."""

from __future__ import annotations

import re

from campus.fleet.quantity import parse_cpu, parse_memory, parse_memory_input
from campus.kube.objects import KubeObject
from campus.labels import (
    ARCH,
    DEFAULT_STORAGE_CLASS,
    HEARTBEAT,
    HOSTNAME,
    KWOK_NODE,
    METRICS_PATH,
    NODE_TTL,
    NODE_TYPE,
    OS,
    SANDBOX,
    WORKER_ROLE,
    ZONE,
)
from campus.sandbox.network import pod_range

STORAGE_CLASS = "sandbox-hostpath"
NODE_PODS = 110  # pods a simulated node runs, a kubelet's default
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


def node_names(count: int) -> list[str]:
    return [f"node-{index}" for index in range(count)]


def validate_shape(count: int, cpu: str, memory: str, zones: list[str]) -> None:
    """Reject a sandbox that cannot exist before starting anything."""
    if count < 1:
        raise ValueError(f"--nodes must be at least 1, not {count}")
    if count > 1000:
        raise ValueError(f"--nodes {count} is more than a sandbox should simulate (1000)")
    if parse_cpu(cpu) <= 0:
        raise ValueError(f"--node-cpu must be above zero, not {cpu}")
    try:
        above_zero = parse_memory_input(memory) > 0
    except ValueError as error:
        raise ValueError(f"--node-memory: {error}") from None
    if not above_zero:
        raise ValueError(f"--node-memory must be above zero, not {memory}")
    if not zones or any(not zone for zone in zones):
        raise ValueError("--zones needs at least one non-empty zone name")


def node_manifest(
    name: str,
    sandbox: str,
    zone: str,
    cpu: str,
    memory: str,
    pods: int = NODE_PODS,
    reserved: tuple[str, str] | None = None,
) -> KubeObject:
    """`reserved` (CPU, memory) is kept off allocatable, as a kubelet's kube-reserved and
    system-reserved are on a real node."""
    capacity = {"cpu": cpu, "memory": memory, "pods": str(pods), "ephemeral-storage": "100Gi"}
    allocatable = dict(capacity)
    if reserved is not None:
        allocatable["cpu"] = f"{int((parse_cpu(cpu) - parse_cpu(reserved[0])) * 1000)}m"
        allocatable["memory"] = str(int(parse_memory(memory) - parse_memory(reserved[1])))
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                KWOK_NODE: "fake",
                NODE_TTL: "0",
                # KWOK serves each node's kubelet resource metrics under its own path.
                METRICS_PATH: f"/metrics/nodes/{name}/metrics/resource",
            },
            "labels": {
                HOSTNAME: name,
                OS: "linux",
                ARCH: "amd64",
                WORKER_ROLE: "",
                NODE_TYPE: "kwok",
                ZONE: zone,
                SANDBOX: sandbox,
                HEARTBEAT: "on",
            },
        },
        "status": {
            "allocatable": allocatable,
            "capacity": capacity,
        },
    }


def nodes_for(
    sandbox: str,
    count: int,
    cpu: str,
    memory: str,
    zones: list[str],
    reserved: tuple[str, str] | None = None,
) -> list[KubeObject]:
    """Nodes spread round-robin over the zones, as a cloud node group would be, each with
    a pod range of its own (`network.pod_range`) that KWOK gives its pods addresses from."""
    manifests = []
    for index, name in enumerate(node_names(count)):
        manifest = node_manifest(
            name, sandbox, zones[index % len(zones)], cpu, memory, reserved=reserved
        )
        manifest["spec"] = {"podCIDR": pod_range(index), "podCIDRs": [pod_range(index)]}
        manifests.append(manifest)
    return manifests


def storage_class() -> KubeObject:
    """A default StorageClass served by the controller-manager's host-path provisioner, so
    Open edX's PersistentVolumeClaims bind as they would on a cloud cluster."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {DEFAULT_STORAGE_CLASS: "true"},
        },
        "provisioner": "kubernetes.io/host-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def next_node_name(existing: set[str]) -> str:
    """The name after the highest `node-N` in use (a replacement never reuses a name)."""
    numbers = [int(n.removeprefix("node-")) for n in existing if re.fullmatch(r"node-\d+", n)]
    return f"node-{max(numbers, default=-1) + 1}"
