"""Whether the shared Gateway of `ingress.mode: gateway` will carry an environment's
routes, judged from the live Gateway before a deploy and the route's status after. Pure.

In the Gateway API's roles the Gateway belongs to the cluster operator (its listeners,
addresses, certificates and which namespaces may attach routes), and an application team
owns only its HTTPRoutes, attached through `parentRefs` and admitted by the listener's
`allowedRoutes`. campus therefore never creates or edits the Gateway: it checks that the
named one exists, that a listener admits HTTPRoutes from the environment's namespace for
every public host, and, when the environment asks for TLS, that an HTTPS listener with a
certificate covers every host; and it says what is missing, with the listener to add.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from campus.kube.objects import KubeObject, selects

GATEWAY_API = "gateway.networking.k8s.io/v1"
ROUTE_PROTOCOLS = ("HTTP", "HTTPS")


@dataclass(frozen=True)
class GatewayRef:
    namespace: str
    name: str

    @staticmethod
    def parse(reference: str, route_namespace: str) -> GatewayRef:
        """NAMESPACE/NAME, or NAME in the route's own namespace (as a parentRef means)."""
        namespace, _, name = reference.rpartition("/")
        return GatewayRef(namespace or route_namespace, name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def hostname_matches(listener: str | None, host: str) -> bool:
    """A listener's hostname against a route host: none matches every host; `*.a.b`
    matches any name below `a.b` (not `a.b` itself)."""
    if not listener:
        return True
    if listener.startswith("*."):
        return host.endswith(listener[1:])
    return listener == host


def _uncovered(hosts: Sequence[str], listeners: Sequence[KubeObject]) -> list[str]:
    """The hosts no listener's hostname matches."""
    return [
        host
        for host in hosts
        if not any(hostname_matches(listener.get("hostname"), host) for listener in listeners)
    ]


def _admits(
    listener: Mapping[str, Any],
    gateway: GatewayRef,
    namespace: str,
    namespace_labels: Mapping[str, str],
) -> bool:
    """The listener takes HTTPRoutes from `namespace` (its `allowedRoutes`; by default only
    from the Gateway's own namespace)."""
    if listener.get("protocol") not in ROUTE_PROTOCOLS:
        return False
    allowed = listener.get("allowedRoutes") or {}
    kinds = allowed.get("kinds") or []
    if kinds and not any(k.get("kind") == "HTTPRoute" for k in kinds):
        return False
    namespaces = allowed.get("namespaces") or {}
    origin = namespaces.get("from", "Same")
    if origin == "All":
        return True
    if origin == "Selector":
        return selects(namespaces.get("selector"), namespace_labels)
    return namespace == gateway.namespace


def listener_snippet(namespace: str, hosts: Sequence[str], issuer: str | None) -> str:
    """The listeners an operator would add, one per host, for the message. With TLS, the
    certificate lives in the Gateway's namespace (a Secret per environment), issued by
    cert-manager for each listener once the Gateway carries the issuer's annotation."""
    lines = []
    for host in hosts:
        lines.append(
            f"  - {{name: {host.replace('.', '-')[:63]}, hostname: {host}, "
            + (
                "port: 443, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: "
                f"[{{name: {namespace}-tls}}]}}, "
                if issuer
                else "port: 80, protocol: HTTP, "
            )
            + "allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: "
            f"{{kubernetes.io/metadata.name: {namespace}}}}}}}}}"
        )
    if issuer:
        lines.append(f"  and annotate the Gateway {issuer} so that cert-manager issues them")
    return "\n".join(lines)


def gateway_problems(
    gateway: KubeObject | None,
    reference: GatewayRef,
    namespace: str,
    namespace_labels: Mapping[str, str],
    hosts: Sequence[str],
    issuer: str | None,
) -> list[str]:
    """What keeps the Gateway from carrying the environment's routes (none: it will).
    `issuer` (the cert-manager annotation, `cert-manager.io/cluster-issuer: NAME`) is set
    when the environment asks for TLS."""
    if gateway is None:
        return [
            f"Gateway {reference} does not exist: it belongs to the cluster operator, who "
            "creates it with listeners for these hosts (see docs/operations.md, Gateway "
            "mode); listeners to add:\n" + listener_snippet(namespace, hosts, issuer)
        ]
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    admitting = [
        listener
        for listener in listeners
        if _admits(listener, reference, namespace, namespace_labels)
    ]
    problems = []
    unrouted = _uncovered(hosts, admitting)
    if unrouted:
        problems.append(
            f"no listener of Gateway {reference} admits HTTPRoutes from namespace {namespace} "
            f"for {', '.join(unrouted)} (its allowedRoutes or hostname); listeners to add:\n"
            + listener_snippet(namespace, unrouted, issuer)
        )
    if issuer:
        secure = [
            listener
            for listener in admitting
            if listener.get("protocol") == "HTTPS"
            and ((listener.get("tls") or {}).get("certificateRefs") or [])
        ]
        bare = [host for host in _uncovered(hosts, secure) if host not in unrouted]
        if bare:
            problems.append(
                f"tls is set but no HTTPS listener of Gateway {reference} with a certificate "
                f"covers {', '.join(bare)}; listeners to add:\n"
                + listener_snippet(namespace, bare, issuer)
            )
    return problems


def route_refusals(route: KubeObject, reference: GatewayRef) -> list[str]:
    """What the Gateway's controller said against the route (its status for that parent):
    not accepted, or references it could not resolve. Nothing while no controller has
    written a status."""
    found = []
    for parent in (route.get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        if (ref.get("namespace") or route["metadata"].get("namespace"), ref.get("name")) != (
            reference.namespace,
            reference.name,
        ):
            continue
        for condition in parent.get("conditions") or []:
            if condition.get("type") in ("Accepted", "ResolvedRefs") and (
                condition.get("status") == "False"
            ):
                found.append(
                    f"Gateway {reference} did not accept HTTPRoute "
                    f"{route['metadata'].get('namespace')}/{route['metadata']['name']}: "
                    f"{condition.get('type')} False, {condition.get('reason')}: "
                    f"{condition.get('message', '')}".rstrip(": ")
                )
    return found
