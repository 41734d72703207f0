"""Rule: traffic enters through the cluster's shared ingress controller, or Tutor's Caddy.

With many environments on one cluster, one LoadBalancer (and one public IP) per
environment is costly, and Caddy's certificate volume is ReadWriteOnce, which pins it to
one node. In `ingress` mode each environment gets an Ingress for its hosts, routed to its
Caddy (which still routes by host inside the namespace), with TLS from cert-manager when
asked. In `caddy` mode Tutor's LoadBalancer stays as it is.
"""

from __future__ import annotations

from campus.harden.rule import Rule, Violation, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment

NAME = "entry"


def hosts(rendered: RenderedEnvironment) -> list[str]:
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
        "metadata": {"name": "openedx", "namespace": environment.namespace, "annotations": {}},
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


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    if rendered.environment.ingress_mode != "ingress":
        return objects
    return [*objects, ingress(rendered)]


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    for obj in objects:
        if (
            rendered.environment.ingress_mode == "ingress"
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
    if rendered.environment.ingress_mode == "ingress" and not any(
        o["kind"] == "Ingress" for o in objects
    ):
        found.append(
            violation(
                NAME,
                {"kind": "Namespace", "metadata": {"name": rendered.environment.namespace}},
                "no Ingress",
            )
        )
    return found


RULE = Rule(NAME, "Tutor exposes each environment with its own LoadBalancer", apply, check)
