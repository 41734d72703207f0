"""Rule: environments sharing a cluster cannot reach or starve each other.

Per namespace: deny all ingress by default (egress: `campus.harden.egress`), allow traffic
within the namespace and from the ingress controller's namespace to the entry pods (and,
with TLS from cert-manager, to its HTTP-01 solver pods on port 8089); a ResourceQuota
sized from the environment's own requests (at full autoscaling, plus a rolling-update
surge and an init Job); a LimitRange that gives any container without resources sane
defaults; and pods that run without privilege escalation and with the runtime's default
seccomp profile.

Every capability is dropped but those the service's image needs, which its catalogue entry
names (`Service.capabilities`), never a service's name: Caddy's official image, and the
MFE image built on it, ship a binary carrying the file capability `cap_net_bind_service`,
which the kernel refuses to execute (EPERM) unless that capability is in the container's
bounding set; Caddy also runs as root (Tutor sets no user, its image has none) and binds
port 80. MySQL, MongoDB and Redis need none: Tutor's Deployments run them as a non-root
user (999, 999 and 1000, with that fsGroup on their volume), so their images' entrypoints
skip their root step (fixing ownership, then gosu) and start the server as that user.
Where Tutor sets a user, the pod also says `runAsNonRoot`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, pod_spec, service_of, violation
from campus.kube.objects import KubeObject
from campus.kube.resources import MIB, Resources, memory_bytes, pod_request
from campus.kube.workloads import autoscaler_of, autoscalers, max_replicas
from campus.labels import NAME as SERVICE_LABEL
from campus.labels import NAMESPACE_NAME
from campus.render.model import RenderedEnvironment
from campus.services import Catalogue

NAME = "isolation"
# cert-manager's HTTP-01 solver: the label of the pod it starts in the Ingress's namespace
# and the port that pod listens on (acmesolver's default).
HTTP01_SOLVER = "acme.cert-manager.io/http01-solver"
HTTP01_PORT = 8089
HEADROOM = Decimal("1.25")


def _policy(namespace: str, name: str, spec: dict[str, Any]) -> KubeObject:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def network_policies(rendered: RenderedEnvironment) -> list[KubeObject]:
    environment = rendered.environment
    namespace = environment.namespace
    services = catalogue(rendered)
    entries = sorted(name for name, s in services.services.items() if s.entry) or ["caddy"]
    entry = {"matchExpressions": [{"key": SERVICE_LABEL, "operator": "In", "values": entries}]}
    if environment.ingress_mode in ("ingress", "gateway"):
        sources: list[dict[str, Any]] = [
            {
                "namespaceSelector": {
                    "matchLabels": {NAMESPACE_NAME: environment.ingress_controller_namespace}
                }
            }
        ]
        # A controller on hostNetwork: its packets carry the node's address.
        sources += [{"ipBlock": {"cidr": cidr}} for cidr in environment.ingress_from_cidrs]
    else:
        sources = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]  # Caddy behind a LoadBalancer: the world
    policies = [
        _policy(namespace, "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        _policy(
            namespace,
            "allow-same-namespace",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
            },
        ),
        _policy(
            namespace,
            "allow-entry",
            {"podSelector": entry, "policyTypes": ["Ingress"], "ingress": [{"from": sources}]},
        ),
    ]
    if environment.ingress_mode == "ingress" and environment.tls:
        # The Ingress's cert-manager annotation makes cert-manager start a solver pod here;
        # without this the default deny keeps the ingress controller from it and no
        # certificate is ever issued.
        policies.append(
            _policy(
                namespace,
                "allow-acme-http01-solver",
                {
                    "podSelector": {"matchLabels": {HTTP01_SOLVER: "true"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"from": sources, "ports": [{"protocol": "TCP", "port": HTTP01_PORT}]}
                    ],
                },
            )
        )
    return policies


def _pod_totals(spec: dict[str, Any]) -> tuple[Resources, int]:
    """What the quota counts for one pod: its requests (as the scheduler counts them) and
    its containers' memory limits."""
    limits = (
        ((c.get("resources") or {}).get("limits") or {}) for c in spec.get("containers") or []
    )
    return pod_request(spec), sum(memory_bytes(limit.get("memory", 0)) for limit in limits)


def quota(rendered: RenderedEnvironment, objects: list[KubeObject]) -> KubeObject:
    scalers = autoscalers(objects)
    requests, memory_limit, pods = Resources(), 0, 0
    largest_job: tuple[Resources, int] = (Resources(), 0)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        totals = _pod_totals(spec)
        if obj["kind"] == "Job":
            largest_job = max(largest_job, totals)
            continue
        scaler = autoscaler_of(scalers, obj["kind"], obj)
        count = (max_replicas(scaler) if scaler else obj["spec"].get("replicas", 1)) + 1  # surge
        pods += count
        requests += totals[0].times(count)
        memory_limit += totals[1] * count
    requests += largest_job[0]
    memory_limit += largest_job[1]
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "environment", "namespace": rendered.environment.namespace},
        "spec": {
            "hard": {
                "requests.cpu": f"{math.ceil(requests.cpu * HEADROOM)}m",
                "requests.memory": f"{math.ceil(requests.memory * HEADROOM / MIB)}Mi",
                "limits.memory": f"{math.ceil(memory_limit * HEADROOM / MIB)}Mi",
                "pods": str(math.ceil((pods + 2) * HEADROOM)),
            }
        },
    }


def limit_range(rendered: RenderedEnvironment) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "container-defaults", "namespace": rendered.environment.namespace},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {
                        "cpu": "100m",
                        "memory": "128Mi",
                        "ephemeral-storage": "256Mi",
                    },
                    "default": {"memory": "512Mi", "ephemeral-storage": "1Gi"},
                    "max": {"memory": "8Gi"},
                }
            ]
        },
    }


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def needed_capabilities(
    services: Catalogue, obj: KubeObject, spec: dict[str, Any]
) -> dict[str, list[str]]:
    """The capabilities each container keeps, by name: its service's entry's for the
    containers running the service's image (the first container's), none for the others
    and for init Jobs."""
    containers = _containers(spec)
    service = services.get(service_of(obj)) if obj["kind"] != "Job" and containers else None
    image = containers[0].get("image") if containers else None
    return {
        str(c["name"]): sorted(service.capabilities)
        if service is not None and c.get("image") == image
        else []
        for c in containers
    }


def _secure(services: Catalogue, obj: KubeObject, spec: dict[str, Any]) -> None:
    spec.setdefault("securityContext", {})["seccompProfile"] = {"type": "RuntimeDefault"}
    needs = needed_capabilities(services, obj, spec)
    for container in _containers(spec):
        context = container.setdefault("securityContext", {})
        context["allowPrivilegeEscalation"] = False
        add = needs[container["name"]]
        context["capabilities"] = {"drop": ["ALL"], **({"add": add} if add else {})}
    if spec["securityContext"].get("runAsUser"):
        spec["securityContext"]["runAsNonRoot"] = True


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            _secure(services, obj, spec)
    return objects + network_policies(rendered) + [quota(rendered, objects), limit_range(rendered)]


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    services = catalogue(rendered)
    kinds = {o["kind"] for o in objects}
    namespace_object = next((o for o in objects if o["kind"] == "Namespace"), None)
    for kind in ("NetworkPolicy", "ResourceQuota", "LimitRange"):
        if kind not in kinds and namespace_object is not None:
            found.append(violation(NAME, namespace_object, f"namespace has no {kind}"))
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        needs = needed_capabilities(services, obj, spec)
        for container in _containers(spec):
            context = container.get("securityContext") or {}
            name = container["name"]
            if context.get("allowPrivilegeEscalation") is not False:
                found.append(violation(NAME, obj, f"container {name} may escalate privileges"))
            capabilities = context.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []):
                found.append(
                    violation(NAME, obj, f"container {name} keeps every capability", "capabilities")
                )
            added, wanted = sorted(capabilities.get("add") or []), needs[name]
            if added != wanted:
                found.append(
                    violation(
                        NAME,
                        obj,
                        f"container {name} adds capabilities {added or 'none'}, its image "
                        f"needs {wanted or 'none'} (a binary carrying a file capability "
                        "missing from the bounding set is refused with EPERM)",
                        "capabilities",
                    )
                )
    return found


RULE = Rule(NAME, "Tutor has no NetworkPolicy, quota or pod security settings", apply, check)
