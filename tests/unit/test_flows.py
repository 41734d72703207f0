"""The NetworkPolicy evaluator (`campus.harden.flows`) against Kubernetes' semantics, one
rule of the specification at a time, before the egress tests trust it with the matrix."""

from __future__ import annotations

from typing import Any

from campus.harden.flows import Network, address, pod, policy_types

WEB = pod("a", {"app": "web"}, "10.1.0.1", {"http": 8080})
DB = pod("a", {"app": "db"}, "10.1.0.2")
OTHER = pod("b", {"app": "web"}, "10.2.0.1")


def policy(namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": spec,
    }


def test_no_policy_allows_everything_and_a_deny_all_isolates() -> None:
    assert Network(()).allows(WEB, OTHER, 80)
    deny = Network((policy("a", {"podSelector": {}, "policyTypes": ["Egress"]}),))
    assert not deny.allows(WEB, OTHER, 80)
    assert not deny.allows(WEB, address("192.0.2.1"), 80)
    assert deny.allows(OTHER, WEB, 80)  # an egress policy says nothing of ingress


def test_policy_types_default_to_ingress_and_egress_when_rules_are_given() -> None:
    assert policy_types(policy("a", {"podSelector": {}})) == ["Ingress"]
    assert policy_types(policy("a", {"podSelector": {}, "egress": []})) == ["Ingress", "Egress"]
    ingress_only = Network((policy("a", {"podSelector": {}}),))
    assert not ingress_only.allows(OTHER, WEB, 80) and ingress_only.allows(WEB, OTHER, 80)


def test_both_sides_must_allow() -> None:
    allow_out = policy("a", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    deny_in = policy("b", {"podSelector": {}, "policyTypes": ["Ingress"]})
    assert not Network((allow_out, deny_in)).allows(WEB, OTHER, 80)
    assert Network((allow_out,)).allows(WEB, OTHER, 80)


def test_peers_pod_selector_is_the_policys_namespace_namespace_selector_any() -> None:
    def egress_to(peer: dict[str, Any]) -> Network:
        rule = {"to": [peer]}
        spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]}
        return Network((policy("a", spec),), {"a": {}, "b": {"team": "x"}})

    same = egress_to({"podSelector": {"matchLabels": {"app": "web"}}})
    assert same.allows(DB, WEB, 80) and not same.allows(DB, OTHER, 80)
    by_name = egress_to(
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}
    )
    assert by_name.allows(DB, OTHER, 80) and not by_name.allows(DB, WEB, 80)
    both = egress_to(
        {"namespaceSelector": {"matchLabels": {"team": "x"}}, "podSelector": {"matchLabels": {}}}
    )
    assert both.allows(DB, OTHER, 80)
    wrong_pod = egress_to(
        {
            "namespaceSelector": {"matchLabels": {"team": "x"}},
            "podSelector": {"matchLabels": {"app": "db"}},
        }
    )
    assert not wrong_pod.allows(DB, OTHER, 80)
    assert not same.allows(DB, address("10.1.0.1"), 80)  # selectors match pods only


def test_ip_blocks_with_exceptions_match_addresses_and_pod_ips() -> None:
    block = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.2.0.0/16"]}}
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [block]}]}
    network = Network((policy("a", spec),))
    assert network.allows(WEB, address("10.9.9.9"), 5432)
    assert not network.allows(WEB, address("10.2.0.9"), 5432)
    assert not network.allows(WEB, address("192.0.2.1"), 5432)
    assert not network.allows(WEB, address("fd00::1"), 5432)  # another family
    assert network.allows(WEB, DB, 5432)  # a pod's address counts: the permissive reading
    assert not network.allows(WEB, OTHER, 5432)  # inside the exception


def test_ports_protocols_ranges_and_named_ports() -> None:
    ports = [
        {"port": 53, "protocol": "UDP"},
        {"port": 443},  # TCP by default
        {"port": 9000, "endPort": 9010},
        {"port": "http"},
        {"protocol": "SCTP"},  # every SCTP port
    ]
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": ports}]}
    network = Network((policy("b", spec),))
    assert network.allows(OTHER, WEB, 53, "UDP") and not network.allows(OTHER, WEB, 53, "TCP")
    assert network.allows(OTHER, WEB, 443) and not network.allows(OTHER, WEB, 443, "UDP")
    assert network.allows(OTHER, WEB, 9005) and not network.allows(OTHER, WEB, 9011)
    assert network.allows(OTHER, WEB, 8080)  # WEB names 8080 "http"
    assert not network.allows(OTHER, DB, 8080)  # DB names no port "http"
    assert network.allows(OTHER, address("192.0.2.1"), 7, "SCTP")


def test_rules_of_all_selecting_policies_add_up() -> None:
    first = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 1}]}]}
    second = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 2}]}],
    }
    network = Network((policy("a", first), policy("a", second)))
    assert network.allows(WEB, OTHER, 1) and network.allows(WEB, OTHER, 2)
    assert network.allows(DB, OTHER, 1) and not network.allows(DB, OTHER, 2)
