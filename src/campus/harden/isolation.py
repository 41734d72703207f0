"""Rule: environments sharing a cluster cannot reach or starve each other.

Per namespace: deny all ingress by default, allow traffic within the namespace and from
the ingress controller's namespace to the entry pods (and, with TLS from cert-manager, to
its HTTP-01 solver pods on port 8089); a ResourceQuota sized from the
environment's own requests (at full autoscaling, plus a rolling-update surge and an init
Job); a LimitRange that gives any container without resources sane defaults; and pods that
run without privilege escalation, with all capabilities dropped and the runtime's default
seccomp profile. The official MySQL, MongoDB and Redis images start as root to fix volume
ownership, so they keep their default user (recorded as an exemption).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, pod_spec, service_of, violation
from campus.kube.objects import KubeObject
from campus.kube.resources import MIB, Resources, memory_bytes, pod_request
from campus.kube.workloads import autoscaler_of, autoscalers, max_replicas
from campus.labels import EXEMPT_PREFIX, NAMESPACE_NAME
from campus.labels import NAME as SERVICE_LABEL
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


def _secure(services: Catalogue, obj: KubeObject, spec: dict[str, Any]) -> None:
    spec.setdefault("securityContext", {})["seccompProfile"] = {"type": "RuntimeDefault"}
    service = services.get(service_of(obj)) if obj["kind"] != "Job" else None
    root = service is not None and service.runs_as_root
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        context = container.setdefault("securityContext", {})
        context["allowPrivilegeEscalation"] = False
        if root:
            continue
        context["capabilities"] = {
            "drop": ["ALL"],
            # Caddy binds port 80 as a non-root user.
            **({"add": ["NET_BIND_SERVICE"]} if service is not None and service.entry else {}),
        }
    if root:
        obj["metadata"].setdefault("annotations", {})[EXEMPT_PREFIX + NAME] = (
            "official image starts as root to own its data volume"
        )
    elif spec.get("securityContext", {}).get("runAsUser"):
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
    kinds = {o["kind"] for o in objects}
    namespace_object = next((o for o in objects if o["kind"] == "Namespace"), None)
    for kind in ("NetworkPolicy", "ResourceQuota", "LimitRange"):
        if kind not in kinds and namespace_object is not None:
            found.append(violation(NAME, namespace_object, f"namespace has no {kind}"))
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in spec.get("containers") or []:
            if (container.get("securityContext") or {}).get(
                "allowPrivilegeEscalation"
            ) is not False:
                found.append(
                    violation(NAME, obj, f"container {container['name']} may escalate privileges")
                )
    return found


RULE = Rule(NAME, "Tutor has no NetworkPolicy, quota or pod security settings", apply, check)
