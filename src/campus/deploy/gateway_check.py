"""Asking the cluster whether the shared Gateway carries an environment's HTTPRoutes
(`campus.deploy.gateway` judges): before a deploy applies anything, and after it."""

from __future__ import annotations

from collections.abc import Callable

from lightkube import Client

from campus.deploy.gateway import GATEWAY_API, GatewayRef, gateway_problems, route_refusals
from campus.kube.apply import resource_type
from campus.kube.errors import Forbidden, NotFound
from campus.kube.objects import KubeObject, annotations_of, labels_of
from campus.labels import GATEWAY_TLS, NAMESPACE_NAME

Say = Callable[[str, str], None]


def _routes(objects: list[KubeObject]) -> list[KubeObject]:
    return [o for o in objects if o["kind"] == "HTTPRoute"]


def _parents(route: KubeObject, namespace: str) -> list[GatewayRef]:
    return [
        GatewayRef(ref.get("namespace") or namespace, ref["name"])
        for ref in route["spec"].get("parentRefs") or []
        if ref.get("kind", "Gateway") == "Gateway"
    ]


def gateway_before(
    client: Client, objects: list[KubeObject], namespace: str, say: Say
) -> list[str]:
    """What is missing on the Gateways the environment's routes attach to."""
    labels = {NAMESPACE_NAME: namespace}
    for obj in objects:
        if obj["kind"] == "Namespace":
            labels = {**labels_of(obj), **labels}
    problems: list[str] = []
    for route in _routes(objects):
        tls = annotations_of(route).get(GATEWAY_TLS)
        hosts = [str(h) for h in route["spec"].get("hostnames") or []]
        for reference in _parents(route, namespace):
            try:
                gateway: KubeObject | None = client.get(
                    resource_type(GATEWAY_API, "Gateway"),
                    reference.name,
                    namespace=reference.namespace,
                ).to_dict()
            except NotFound:
                gateway = None
            except Forbidden:
                say("configuration", f"cannot read Gateway {reference} (forbidden): not checked")
                continue
            problems += gateway_problems(gateway, reference, namespace, labels, hosts, tls)
    return problems


def gateway_after(client: Client, objects: list[KubeObject], namespace: str) -> list[str]:
    """What the Gateways' controllers said against the routes as applied."""
    refusals = []
    for route in _routes(objects):
        try:
            live = client.get(
                resource_type(GATEWAY_API, "HTTPRoute"),
                route["metadata"]["name"],
                namespace=namespace,
            ).to_dict()
        except (NotFound, Forbidden):
            continue
        for reference in _parents(route, namespace):
            refusals += route_refusals(live, reference)
    return refusals
