"""The sandbox behaves like a real cluster: nodes, scheduling, Jobs, HPA, node failure."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Namespace, Node, Pod, Service
from ruamel.yaml import YAML

from campus.kube.errors import NotFound
from campus.labels import ZONE
from campus.sandbox import cluster
from campus.sandbox.paths import state_dir

pytestmark = pytest.mark.integration


def eventually(check: Callable[[], Any], timeout: float = 90, every: float = 1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__doc__ or check}")
        time.sleep(every)


@pytest.fixture
def namespace(kube: Client, request: pytest.FixtureRequest) -> Any:
    name = "sbx-" + request.node.name.removeprefix("test_").replace("_", "-")[:40]
    kube.create(Namespace(metadata={"name": name}))  # type: ignore[arg-type]
    yield name
    kube.delete(Namespace, name)


def web(namespace: str, replicas: int, spread: str = "DoNotSchedule", **annotations: str) -> Any:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}, "annotations": annotations},
                    "spec": {
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": spread,
                                "labelSelector": {"matchLabels": {"app": "web"}},
                            }
                        ],
                        "containers": [
                            {
                                "name": "web",
                                "image": "web",
                                "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}},
                            }
                        ],
                    },
                },
            },
        }
    )


def ready_pods(kube: Client, namespace: str) -> list[Pod]:
    return [
        pod
        for pod in kube.list(Pod, namespace=namespace)
        if not pod.metadata.deletionTimestamp
        and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    ]


def test_nodes_ready_with_capacity_and_zones(kube: Client, sandbox: cluster.SandboxInfo) -> None:
    nodes = {node.metadata.name: node for node in kube.list(Node)}
    assert sorted(nodes) == sorted(sandbox.nodes) == ["node-0", "node-1", "node-2"]
    assert sorted(n.metadata.labels[ZONE] for n in nodes.values()) == ["a", "b", "c"]
    for node in nodes.values():
        assert node.status.allocatable["cpu"] == "16"
        assert node.status.allocatable["memory"] == "64Gi"
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def test_more_services_than_the_default_range_holds_and_pods_in_node_ranges(
    kube: Client, sandbox: cluster.SandboxInfo, namespace: str
) -> None:
    """260 Services, more than the API server's default /24 gives (253): what stopped a
    100-environment deploy at its 28th environment. Pods take their node's addresses."""
    assert sandbox.service_range == "10.96.0.0/23"  # 3 nodes of 110 pods: 330 addresses
    for index in range(260):
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"s{index}", "namespace": namespace},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
        kube.create(from_dict(service))
    services = ipaddress.ip_network(sandbox.service_range)
    addresses = {s.spec.clusterIP for s in kube.list(Service, namespace=namespace)}
    assert len(addresses) == 260
    assert all(ipaddress.ip_address(a) in services for a in addresses)

    kube.create(web(namespace, 3))

    def three_with_addresses() -> list[Pod] | None:
        pods = [p for p in ready_pods(kube, namespace) if p.status.podIP]
        return pods if len(pods) == 3 else None

    ranges = {n.metadata.name: n.spec.podCIDR for n in kube.list(Node)}
    for pod in eventually(three_with_addresses):
        node_range = ipaddress.ip_network(ranges[pod.spec.nodeName])
        assert ipaddress.ip_address(pod.status.podIP) in node_range


def test_spread_deployment_lands_on_three_nodes(kube: Client, namespace: str) -> None:
    kube.create(web(namespace, 3))

    def three_ready() -> list[Pod] | None:
        pods = ready_pods(kube, namespace)
        return pods if len(pods) == 3 else None

    pods = eventually(three_ready)
    assert len({pod.spec.nodeName for pod in pods}) == 3


def test_job_runs_to_complete(kube: Client, namespace: str) -> None:
    kube.create(
        from_dict(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "migrate", "namespace": namespace},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "migrate", "image": "lms"}],
                        }
                    }
                },
            }
        )
    )

    def complete() -> bool:
        job = kube.get(Job, "migrate", namespace=namespace)
        return any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or [])

    eventually(complete)


def test_hpa_scales_on_simulated_cpu(kube: Client, namespace: str) -> None:
    # Each pod "uses" 900m of its 500m request: 180% against a 50% target.
    kube.create(web(namespace, 2, **{"kwok.x-k8s.io/usage-cpu": "900m"}))
    kube.create(
        from_dict(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                    },
                    "minReplicas": 2,
                    "maxReplicas": 5,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 50},
                            },
                        }
                    ],
                },
            }
        )
    )

    def scaled_up() -> bool:
        hpa = kube.get(HorizontalPodAutoscaler, "web", namespace=namespace)
        deployment = kube.get(Deployment, "web", namespace=namespace)
        return bool(hpa.status.currentMetrics) and deployment.spec.replicas > 2

    eventually(scaled_up, timeout=150, every=2)


def test_failed_node_pods_move_and_become_ready(
    kube: Client, sandbox: cluster.SandboxInfo, namespace: str
) -> None:
    # ScheduleAnyway: with three nodes and one lost, the replacement must fit somewhere.
    kube.create(web(namespace, 3, spread="ScheduleAnyway"))
    eventually(lambda: len(ready_pods(kube, namespace)) == 3)
    victim = ready_pods(kube, namespace)[0].spec.nodeName
    cluster.fail_node(sandbox.name, victim)
    try:

        def not_ready() -> bool:
            node = kube.get(Node, victim)
            return any(c.type == "Ready" and c.status != "True" for c in node.status.conditions)

        eventually(not_ready, timeout=60)

        def moved() -> bool:
            pods = ready_pods(kube, namespace)
            return len(pods) == 3 and all(p.spec.nodeName != victim for p in pods)

        eventually(moved, timeout=120)
    finally:
        cluster.restore_node(sandbox.name, victim)


def test_down_leaves_no_process_and_no_state(sandbox: cluster.SandboxInfo) -> None:
    name = f"{sandbox.name}-down"
    cluster.down(name)
    cluster.up(name, nodes=1, zones=("a",))
    directory = state_dir(name)
    pids = cluster._pids(directory)
    assert pids and all(cluster._alive(pid) for pid in pids)
    assert cluster.down(name)
    assert not directory.exists()
    assert not any(cluster._alive(pid) for pid in pids)


def test_second_sandbox_with_same_name_is_refused(sandbox: cluster.SandboxInfo) -> None:
    with pytest.raises(cluster.SandboxError, match="already running"):
        cluster.up(sandbox.name)


def test_sandboxes_started_at_once_each_get_a_control_plane_of_their_own(
    sandbox: cluster.SandboxInfo,
) -> None:
    """Started together, two sandboxes once picked the same etcd port and the second API
    server joined the first one's etcd: its nodes "already existed"."""
    names = [f"{sandbox.name}-twin-{n}" for n in (1, 2)]
    for name in names:
        cluster.down(name)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            infos = list(pool.map(lambda name: cluster.up(name, nodes=1, zones=("a",)), names))
        options = [YAML().load(state_dir(n) / "kwokctl.yaml")["options"] for n in names]
        listening = [{v for k, v in o.items() if k.endswith("Port")} for o in options]
        assert len(listening[0]) == len(listening[1]) == len(cluster.COMPONENT_PORTS) + 1
        assert not listening[0] & listening[1]
        clients = [cluster.client_for(info.name, timeout=30) for info in infos]
        clients[0].create(Namespace(metadata=ObjectMeta(name="only-in-the-first")))
        with pytest.raises(NotFound):
            clients[1].get(Namespace, "only-in-the-first")
        assert [len(list(c.list(Node))) for c in clients] == [1, 1]
    finally:
        for name in names:
            cluster.down(name)
