"""Rule: traffic enters through the cluster's shared ingress controller or Gateway, or
Tutor's Caddy, and every public site Tutor serves is routed.

With many environments on one cluster, one LoadBalancer (and one public IP) per
environment is costly, and Caddy's certificate volume is ReadWriteOnce, which pins it to
one node. In `ingress` mode each environment gets an Ingress, in `gateway` mode a Gateway
API HTTPRoute attached to the shared Gateway, routed to its Caddy (which still routes by
host inside the namespace), with TLS from cert-manager when asked (ingress mode; in
gateway mode the operator's Gateway terminates TLS, and a deploy checks its listeners:
`campus.deploy.gateway`). In `caddy` mode Tutor's LoadBalancer stays.

The hosts are the sites Tutor's Caddyfile serves, Tutor's and every plugin's
(`campus.services.routes`), never a fixed list: `meilisearch.<lms host>` for course
search, `files.` and `minio.` for tutor-minio, `notes.`, `xqueue.` and so on.
"""

from __future__ import annotations

from campus.harden.rule import Rule, Violation, catalogue, violation
from campus.kube.objects import KubeObject
from campus.labels import GATEWAY_TLS
from campus.render.model import RenderedEnvironment

NAME = "entry"
ROUTE_NAME = "openedx"
GATEWAY_API = "gateway.networking.k8s.io/v1"


def hosts(rendered: RenderedEnvironment) -> list[str]:
    """Every public host of the environment: Caddy's sites, else (no Caddyfile rendered)
    Tutor's LMS, CMS and MFE host settings."""
    sites = catalogue(rendered).sites
    if sites:
        return list(dict.fromkeys(site.host for site in sites))
    config = rendered.tutor_config
    names = [config.get("LMS_HOST"), config.get("CMS_HOST")]
    if "mfe" in rendered.environment.plugins:
        names.append(config.get("MFE_HOST"))
    return [str(name) for name in names if name]


def ingress(rendered: RenderedEnvironment) -> KubeObject:
    environment = rendered.environment
    backend = {"service": {"name": "caddy", "port": {"name": "http"}}}
    obj: KubeObject = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": ROUTE_NAME, "namespace": environment.namespace, "annotations": {}},
        "spec": {
            "ingressClassName": environment.ingress_class,
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
                for host in hosts(rendered)
            ],
        },
    }
    if environment.tls:
        issuer_kind = "cluster-issuer" if environment.tls.cluster_issuer else "issuer"
        obj["metadata"]["annotations"][f"cert-manager.io/{issuer_kind}"] = (
            environment.tls.cluster_issuer or environment.tls.issuer
        )
        obj["spec"]["tls"] = [{"hosts": hosts(rendered), "secretName": f"{environment.name}-tls"}]
    return obj


def http_route(rendered: RenderedEnvironment) -> KubeObject:
    """An HTTPRoute for every public host, attached to the shared Gateway, to Caddy.
    Written with the values the API server would default (group, kind, weight, the `/`
    prefix match), so the live route equals the rendered one and never looks drifted."""
    environment = rendered.environment
    namespace, _, name = environment.gateway.rpartition("/")
    parent = {
        "group": GATEWAY_API.split("/")[0],
        "kind": "Gateway",
        "name": name,
        **({"namespace": namespace} if namespace else {}),
    }
    backend = {"group": "", "kind": "Service", "name": "caddy", "port": _caddy_port(rendered)}
    metadata: dict[str, object] = {"name": ROUTE_NAME, "namespace": environment.namespace}
    if environment.tls:
        # TLS ends at the operator's Gateway: the deploy checks its listeners for it.
        issuer_kind = "cluster-issuer" if environment.tls.cluster_issuer else "issuer"
        issuer = environment.tls.cluster_issuer or environment.tls.issuer
        metadata["annotations"] = {GATEWAY_TLS: f"cert-manager.io/{issuer_kind}: {issuer}"}
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {
            "parentRefs": [parent],
            "hostnames": hosts(rendered),
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{**backend, "weight": 1}],
                }
            ],
        },
    }


def _caddy_port(rendered: RenderedEnvironment) -> int:
    for obj in rendered.objects:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "caddy":
            for port in obj["spec"].get("ports") or []:
                if port.get("name") == "http":
                    return int(port["port"])
    return 80


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    mode = rendered.environment.ingress_mode
    if mode == "ingress":
        return [*objects, ingress(rendered)]
    if mode == "gateway":
        return [*objects, http_route(rendered)]
    return objects


def routed_hosts(objects: list[KubeObject]) -> set[str]:
    """The hosts the environment's Ingresses and HTTPRoutes route."""
    found: set[str] = set()
    for obj in objects:
        if obj["kind"] == "Ingress":
            found |= {str(r.get("host")) for r in obj["spec"].get("rules") or []}
        elif obj["kind"] == "HTTPRoute":
            found |= {str(h) for h in obj["spec"].get("hostnames") or []}
    return found


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    mode = rendered.environment.ingress_mode
    namespace = {"kind": "Namespace", "metadata": {"name": rendered.environment.namespace}}
    for obj in objects:
        if (
            mode != "caddy"
            and obj["kind"] == "Service"
            and obj["spec"].get("type") == "LoadBalancer"
        ):
            found.append(
                violation(
                    NAME,
                    obj,
                    "a LoadBalancer per environment although a shared ingress is configured",
                )
            )
    route_kind = {"ingress": "Ingress", "gateway": "HTTPRoute"}.get(mode)
    if route_kind and not any(o["kind"] == route_kind for o in objects):
        found.append(violation(NAME, namespace, f"no {route_kind}"))
    if route_kind:
        routed = routed_hosts(objects)
        for site in catalogue(rendered).sites:
            if site.host not in routed:
                upstreams = ", ".join(f"{s}:{p}" for s, p in site.upstreams) or "nothing"
                found.append(
                    violation(
                        NAME,
                        namespace,
                        f"public site {site.host} (Caddy proxies it to {upstreams}) has no "
                        f"route in the {route_kind}",
                    )
                )
    return found


RULE = Rule(NAME, "Tutor exposes each environment with its own LoadBalancer", apply, check)
