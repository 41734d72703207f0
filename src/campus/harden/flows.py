"""Which connections a set of NetworkPolicies allows, by Kubernetes' semantics. Pure.

Like cyclonus's matcher: a connection from one endpoint to another on a port and protocol
is allowed when the source's egress allows it and the destination's ingress does. A pod
is isolated in a direction once any policy of its namespace selects it with that
direction among its policyTypes (absent, they are Ingress, and Egress when the spec has
egress rules); an isolated pod allows what the union of those policies' rules allows,
a pod no policy isolates allows everything. A rule with no peers matches every peer,
with no ports every port. A peer is a pod selector (in the policy's namespace), a
namespace selector (any pod of those namespaces), both (those pods of those namespaces),
or an ipBlock: its CIDR less its exceptions.

Endpoints outside the pod network (an external database, the metadata endpoint, a node)
have an address and no namespace: only ipBlocks match them, and nothing polices their side.
Whether an ipBlock also matches a pod's address is left to each CNI by Kubernetes; here
it does, so that a "denied" verdict holds whichever reading the cluster's takes.
`campus.harden.egress` proves its rules with this; the unit tests prove the whole matrix
of two environments, the cluster DNS and the ingress controller.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from campus.kube.objects import KubeObject, selects
from campus.labels import NAMESPACE_NAME


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a pod (its namespace, labels and named container ports)
    or, with no namespace, an address outside the pod network."""

    ip: str | None = None
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    named_ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def pod(
    namespace: str,
    labels: Mapping[str, str] | None = None,
    ip: str | None = None,
    named_ports: Mapping[str, int] | None = None,
) -> Endpoint:
    return Endpoint(ip, namespace, dict(labels or {}), dict(named_ports or {}))


def address(ip: str) -> Endpoint:
    return Endpoint(ip)


def policy_types(policy: KubeObject) -> list[str]:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _in_block(block: Mapping[str, Any], ip: str | None) -> bool:
    if ip is None:
        return False
    where = ipaddress.ip_address(ip)
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if where.version != cidr.version or where not in cidr:
        return False
    return not any(
        where in ipaddress.ip_network(excepted, strict=False)
        for excepted in block.get("except") or []
        if ipaddress.ip_network(excepted, strict=False).version == where.version
    )


@dataclass(frozen=True)
class Network:
    """The policies of a cluster and the labels of its namespaces (each also labelled
    with its name, as Kubernetes labels every namespace)."""

    policies: tuple[KubeObject, ...]
    namespaces: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, objects: Iterable[KubeObject], namespaces: Iterable[str] | None = None) -> Network:
        """The NetworkPolicies among `objects`; every namespace they or `namespaces` name."""
        policies = tuple(o for o in objects if o.get("kind") == "NetworkPolicy")
        names = {str(p["metadata"].get("namespace", "")) for p in policies}
        return cls(policies, {name: {} for name in sorted(names | set(namespaces or ()))})

    def _namespace_labels(self, name: str) -> dict[str, str]:
        return {**self.namespaces.get(name, {}), NAMESPACE_NAME: name}

    def _peer_matches(self, peer: Mapping[str, Any], home: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            return _in_block(peer["ipBlock"], other.ip)
        if other.namespace is None:
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self._namespace_labels(other.namespace)):
                return False
        elif other.namespace != home:
            return False
        return selects(peer.get("podSelector"), other.labels)

    @staticmethod
    def _port_matches(
        ports: list[Mapping[str, Any]] | None, target: Endpoint, port: int, protocol: str
    ) -> bool:
        if not ports:
            return True
        for entry in ports:
            if entry.get("protocol", "TCP") != protocol:
                continue
            wanted = entry.get("port")
            if wanted is None:
                return True
            if isinstance(wanted, str):
                wanted = target.named_ports.get(wanted)
                if wanted is None:
                    continue
            if int(wanted) <= port <= int(entry.get("endPort", wanted)):
                return True
        return False

    def _selecting(self, subject: Endpoint, direction: str) -> list[KubeObject]:
        return [
            p
            for p in self.policies
            if p["metadata"].get("namespace") == subject.namespace
            and direction in policy_types(p)
            and selects((p.get("spec") or {}).get("podSelector"), subject.labels)
        ]

    def _side_allows(
        self,
        direction: str,
        subject: Endpoint,
        other: Endpoint,
        target: Endpoint,
        port: int,
        protocol: str,
    ) -> bool:
        """Whether `subject`'s policies let the connection through on its side: "Egress"
        when `subject` is the source and `other` the destination, "Ingress" when the other
        way round. `target` is the destination, whose named ports a port may name."""
        if not subject.is_pod:
            return True
        selecting = self._selecting(subject, direction)
        if not selecting:
            return True
        rules, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in selecting:
            home = str(policy["metadata"].get("namespace"))
            for rule in (policy.get("spec") or {}).get(rules) or []:
                listed = rule.get(peers) or []
                if listed and not any(self._peer_matches(p, home, other) for p in listed):
                    continue
                if self._port_matches(rule.get("ports"), target, port, protocol):
                    return True
        return False

    def allows(
        self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
    ) -> bool:
        """Whether a connection from `source` to `destination` on `port` is allowed."""
        return self._side_allows(
            "Egress", source, destination, destination, port, protocol
        ) and self._side_allows("Ingress", destination, source, destination, port, protocol)
