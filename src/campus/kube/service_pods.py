"""Finding the pods behind one service of one environment, for `logs` and `exec`."""

from __future__ import annotations

from dataclasses import dataclass

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod

from campus.errors import CampusError
from campus.kube.errors import ApiFailure
from campus.kube.objects import KubeObject, is_ready
from campus.labels import JOB_NAME, KWOK_NODE, NAME


@dataclass(frozen=True)
class ServicePod:
    name: str
    container: str
    node: str
    ready: bool


def pick_pods(pods: list[KubeObject], service: str) -> list[ServicePod]:
    """The service's scheduled, not terminating pods, ready ones first. Pure."""
    found = []
    for pod in pods:
        metadata = pod["metadata"]
        node = pod.get("spec", {}).get("nodeName")
        if (metadata.get("labels") or {}).get(NAME) != service or not node:
            continue
        if metadata.get("deletionTimestamp") or metadata.get("labels", {}).get(JOB_NAME):
            continue
        containers = pod["spec"].get("containers") or [{}]
        found.append(
            ServicePod(metadata["name"], containers[0].get("name", ""), node, is_ready(pod))
        )
    return sorted(found, key=lambda p: (not p.ready, p.name))


def service_pods(
    client: Client, environment: str, namespace: str, service: str
) -> list[ServicePod]:
    """Pods of `service` of `environment`, or an error naming the services it has."""
    try:
        services = sorted(
            d.metadata.name
            for d in client.list(Deployment, namespace=namespace)
            if d.metadata and d.metadata.name
        )
        if service not in services:
            known = ", ".join(services) or "none: deploy it first"
            raise CampusError(f"{environment} has no service {service!r}; services: {known}")
        pods = pick_pods(
            [p.to_dict() for p in client.list(Pod, namespace=namespace, labels={NAME: service})],
            service,
        )
    except ApiFailure as error:
        raise error.saying(f"cannot read {namespace}: {error.reason}") from None
    if not pods:
        raise CampusError(f"{environment}/{service} has no running pod")
    return pods


def refuse_simulated(client: Client, pods: list[ServicePod], what: str) -> None:
    """Sandbox pods are simulated by KWOK: no container runs, so there is nothing to read
    or enter. Say so instead of failing with a cryptic proxy error."""
    node = client.get(Node, pods[0].node)
    annotations = (node.metadata.annotations if node.metadata else None) or {}
    if annotations.get(KWOK_NODE) == "fake":
        raise CampusError(
            f"{pods[0].name} runs on simulated node {pods[0].node}: sandbox pods have no "
            f"containers, so there is no {what}. `campus {what}` works on real clusters."
        )


def on_real_nodes(client: Client, pods: list[KubeObject], what: str) -> list[KubeObject]:
    """The pods whose node runs containers; none (a sandbox environment on KWOK's
    simulated nodes) is refused with what to do instead."""
    fake = {
        node.metadata.name
        for node in client.list(Node)
        if node.metadata and (node.metadata.annotations or {}).get(KWOK_NODE) == "fake"
    }
    real = [p for p in pods if p.get("spec", {}).get("nodeName") not in fake]
    if pods and not real:
        raise CampusError(
            f"every pod runs on a simulated node: no container runs, so there is no {what}. "
            "In the sandbox, place the environment on real nodes (`cluster.real_nodes` in "
            "the fleet file, `campus sandbox up --real-nodes 1`)."
        )
    return real
