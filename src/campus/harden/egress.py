"""Rule: an environment's pods reach nothing outside their namespace but what they need.

Tutor's pods may connect anywhere: an LMS pod reaches the cloud metadata endpoint (the
node's credentials) and other environments' databases, in the cluster or outside. Per
namespace, campus denies all egress by default and allows:

- the namespace's own pods: the init Jobs reach mysql, Caddy its upstreams, the hub its
  notebooks;
- the cluster DNS: the pods labelled `k8s-app=kube-dns` in kube-system (CoreDNS or
  kube-dns as kubeadm, k3s, EKS, GKE and AKS label them), UDP and TCP 53, and the
  fleet's `cluster.dns_cidrs`, for a DNS cache on the nodes' network (NodeLocal
  DNSCache), which no pod selector matches;
- in `ingress` and `gateway` modes, the ingress controller's pods (on hostNetwork: its
  nodes, `ingress.from_cidrs`) on its public ports only (`ingress.controller_ports`): a
  service calling its environment's own public host from the server side (tutor-minio's
  S3 endpoint, tutor-discovery's course refresh) arrives there once kube-proxy has
  rewritten the load balancer's address. The controller's own connections to Caddy need
  no egress: replies to a connection the ingress side admitted pass (conntrack), and
  Caddy itself reaches nothing outside. Not the controller's other ports: ingress-nginx's
  admission webhook, reachable from any pod, was a remote code execution (CVE-2025-1974);
- the API server's endpoints (`cluster.api_server_cidrs`, on `api_server_ports`), from
  the pods of a service whose catalogue entry names `needs_api`, which `api_access`
  labels: never from the notebooks KubeSpawner starts;
- public internet addresses (no private, shared, link-local or metadata one) on the ports
  a service's catalogue entry names (`internet`): smtp's mail delivery, Caddy's ACME in
  `caddy` mode;
- each destination the fleet file declares under `egress`, on its ports.

cert-manager needs nothing here: its ACME client runs in its own namespace, and the
HTTP-01 solver pod it starts here only answers (ingress). Every ipBlock excepts the cloud
metadata endpoints it covers (`campus.fleet.addresses`). The check proves the result with
`campus.harden.flows`: no pod reaches a metadata endpoint or another namespace's pods, and
every pod reaches the cluster DNS, its namespace's services and what it was given.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from campus.fleet.addresses import METADATA_ADDRESSES, is_metadata, metadata_within, network
from campus.harden.flows import Endpoint, Network, address, pod
from campus.harden.rule import (
    Rule,
    Violation,
    catalogue,
    pod_labels,
    pod_spec,
    service_of,
    violation,
)
from campus.kube.objects import KubeObject
from campus.labels import API_ACCESS, EGRESS_REASON, NAMESPACE_NAME
from campus.labels import NAME as SERVICE_LABEL
from campus.render.model import RenderedEnvironment

NAME = "egress"
KUBE_SYSTEM = "kube-system"
CLUSTER_DNS = {"k8s-app": "kube-dns"}
DNS_PORT = 53
# An address of the public internet, for the check (TEST-NET-3, documentation's own).
PUBLIC = "203.0.113.10"
# Public addresses: every one but the ranges no internet host has, which hold the metadata
# endpoints (169.254.0.0/16, 100.64.0.0/10, fc00::/7), the pod and Service ranges of nearly
# every cluster, and the private networks other environments keep their databases in.
INTERNET: tuple[dict[str, Any], ...] = (
    {
        "cidr": "0.0.0.0/0",
        "except": [
            "0.0.0.0/8",  # "this network"
            "10.0.0.0/8",
            "100.64.0.0/10",  # shared address space (carrier NAT, Alibaba's metadata)
            "127.0.0.0/8",
            "169.254.0.0/16",  # link-local: the metadata endpoint
            "172.16.0.0/12",
            "192.168.0.0/16",
            "224.0.0.0/4",  # multicast
            "240.0.0.0/4",  # reserved, broadcast
        ],
    },
    {
        "cidr": "::/0",
        "except": [
            "::1/128",
            "fc00::/7",  # unique local: AWS's fd00:ec2::254
            "fe80::/10",  # link-local
            "ff00::/8",  # multicast
        ],
    },
)
# A pod of another namespace, for the check: no address, so only a selector could admit
# it, and a name no namespace can have, so no selector of the fleet's names it.
ELSEWHERE = "another environment's namespace"


def _policy(namespace: str, name: str, pods: dict[str, Any], egress: list[Any]) -> KubeObject:
    spec: dict[str, Any] = {"podSelector": pods, "policyTypes": ["Egress"]}
    if egress:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def ip_block(cidr: str) -> dict[str, Any] | None:
    """The ipBlock of a CIDR, less the metadata endpoints it covers; None for a metadata
    endpoint itself, which no `except` can take out of its own CIDR."""
    parsed = network(cidr)
    if is_metadata(parsed):
        return None
    excepted = metadata_within(parsed)
    return {"cidr": str(parsed), **({"except": excepted} if excepted else {})}


def _to_blocks(cidrs: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": block} for cidr in cidrs if (block := ip_block(cidr)) is not None]


def _ports(ports: tuple[int, ...] | list[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for port in ports]


def terminates_tls(rendered: RenderedEnvironment) -> bool:
    """Whether Tutor's Caddy terminates TLS itself (and so runs its own ACME client)."""
    config = rendered.tutor_config
    return bool(config.get("ENABLE_WEB_PROXY", True)) and bool(config.get("ENABLE_HTTPS"))


def _controller_rules(rendered: RenderedEnvironment) -> list[dict[str, Any]]:
    environment = rendered.environment
    if environment.ingress_mode == "caddy":
        return []  # the world comes to Caddy; its own public hosts lead back to this namespace
    ports = _ports(environment.ingress_controller_ports)
    rules = []
    if environment.ingress_controller_namespace != environment.namespace:
        controller = {NAMESPACE_NAME: environment.ingress_controller_namespace}
        rules.append({"to": [{"namespaceSelector": {"matchLabels": controller}}], "ports": ports})
    if environment.ingress_from_cidrs:
        rules.append({"to": _to_blocks(environment.ingress_from_cidrs), "ports": ports})
    return rules


def policies(rendered: RenderedEnvironment) -> list[KubeObject]:
    environment = rendered.environment
    namespace = environment.namespace
    services = catalogue(rendered).services
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: KUBE_SYSTEM}},
        "podSelector": {"matchLabels": CLUSTER_DNS},
    }
    found = [
        _policy(namespace, "default-deny-egress", {}, []),
        _policy(namespace, "allow-egress-within-namespace", {}, [{"to": [{"podSelector": {}}]}]),
        _policy(
            namespace,
            "allow-egress-dns",
            {},
            [
                {
                    "to": [dns, *_to_blocks(environment.dns_cidrs)],
                    "ports": _ports((DNS_PORT,), "UDP") + _ports((DNS_PORT,)),
                }
            ],
        ),
    ]
    controller = _controller_rules(rendered)
    if controller:
        found.append(_policy(namespace, "allow-egress-ingress-controller", {}, controller))
    api = _to_blocks(environment.api_server_cidrs)
    if api and any(s.needs_api for s in services.values()):
        found.append(
            _policy(
                namespace,
                "allow-egress-kubernetes-api",
                {"matchLabels": {API_ACCESS: "true"}},
                [{"to": api, "ports": _ports(environment.api_server_ports)}],
            )
        )
    tls = terminates_tls(rendered)
    for name in sorted(services):
        wanted = [o for o in services[name].internet if tls or not o.when_terminating_tls]
        if wanted:
            found.append(
                _policy(
                    namespace,
                    f"allow-egress-internet-{name}",
                    {"matchLabels": {SERVICE_LABEL: name}},
                    [
                        {
                            "to": [{"ipBlock": copy.deepcopy(b)} for b in INTERNET],
                            "ports": _ports(o.ports, o.protocol),
                        }
                        for o in wanted
                    ],
                )
            )
    for name, destination in environment.egress.items():
        to = _to_blocks([destination.cidr])
        if not to:
            continue  # a metadata endpoint itself: the fleet file's checks refuse it
        policy = _policy(
            namespace,
            f"allow-egress-to-{name}",
            {},
            [{"to": to, "ports": _ports(destination.ports, destination.protocol)}],
        )
        if destination.reason:
            policy["metadata"]["annotations"] = {EGRESS_REASON: destination.reason}
        found.append(policy)
    return found


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    return objects + policies(rendered)


def _ports_of(obj: KubeObject) -> list[int]:
    spec = pod_spec(obj) or {}
    containers = spec.get("containers") or []
    ports = (containers[0].get("ports") or []) if containers else []
    return [int(p["containerPort"]) for p in ports if "containerPort" in p]


def _representative(cidr: str) -> str:
    """An address a CIDR admits: its first host, or its only address."""
    parsed = ipaddress.ip_network(cidr)
    return str(next(iter(parsed.hosts()), parsed.network_address))


def _unreached(
    rendered: RenderedEnvironment, network_: Network, source: Endpoint
) -> list[tuple[str, str]]:
    """(check, message) for each thing the pod was given and cannot reach: the API
    server, the public internet, the fleet file's destinations."""
    environment = rendered.environment
    missing = []
    if source.labels.get(API_ACCESS) == "true":
        for cidr in environment.api_server_cidrs:
            for port in environment.api_server_ports:
                if not network_.allows(source, address(_representative(cidr)), port):
                    missing.append(
                        ("api", f"its pods cannot reach the API server at {cidr}:{port}")
                    )
    service = source.labels.get(SERVICE_LABEL)
    tls = terminates_tls(rendered)
    for outbound in catalogue(rendered).get(service).internet if service else ():
        for port in outbound.ports if tls or not outbound.when_terminating_tls else ():
            if not network_.allows(source, address(PUBLIC), port, outbound.protocol):
                why = f"it {outbound.why}"
                missing.append(("internet", f"its pods cannot reach the internet on {port}: {why}"))
    for name, destination in environment.egress.items():
        if ip_block(destination.cidr) is None:
            continue
        target = address(_representative(destination.cidr))
        for port in destination.ports:
            if not network_.allows(source, target, port, destination.protocol):
                where = f"egress.{name} ({destination.cidr}) on {destination.protocol} {port}"
                missing.append(("declared", f"its pods cannot reach {where}"))
    return missing


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    namespace = rendered.environment.namespace
    network_ = Network.of(objects, [namespace, KUBE_SYSTEM])
    dns = pod(KUBE_SYSTEM, CLUSTER_DNS)
    workloads = [o for o in objects if pod_spec(o) is not None]
    targets = [
        (service_of(o), pod(namespace, pod_labels(o)), port)
        for o in workloads
        if o["kind"] != "Job"
        for port in _ports_of(o)
    ]
    # Another namespace's pods, as alike to this one's as labels go: only a selector that
    # forgot the namespace would admit them.
    others = [(pod(ELSEWHERE, t.labels), port, "TCP") for _, t, port in targets]
    others.append((pod(ELSEWHERE), DNS_PORT, "UDP"))
    found = []
    for obj in workloads:
        source = pod(namespace, pod_labels(obj))
        problems: list[tuple[str, str]] = []
        reached = [m for m in METADATA_ADDRESSES if network_.allows(source, address(str(m)), 80)]
        if reached:
            problems.append(
                (
                    "metadata",
                    f"its pods may reach the cloud metadata endpoint {reached[0]}, which "
                    "hands out the node's credentials",
                )
            )
        for protocol in ("UDP", "TCP"):
            if not network_.allows(source, dns, DNS_PORT, protocol):
                where = f"k8s-app=kube-dns in {KUBE_SYSTEM}) on {protocol} {DNS_PORT}"
                problems.append(("dns", f"its pods cannot reach the cluster DNS ({where}"))
        if any(network_.allows(source, *other) for other in others):
            problems.append(("others", "its pods may reach other namespaces' pods"))
        for name, target, port in targets:
            if not network_.allows(source, target, port):
                where = f"{name} on port {port} in their own namespace"
                problems.append(("namespace", f"its pods cannot reach {where}"))
        problems += _unreached(rendered, network_, source)
        found += [violation(NAME, obj, message, kind) for kind, message in problems]
    return found


RULE = Rule(
    NAME,
    "Tutor's pods may connect anywhere: the cloud metadata endpoint, other environments' databases",
    apply,
    check,
)
