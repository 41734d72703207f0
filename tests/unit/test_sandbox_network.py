"""The sandbox's Service and pod ranges, sized for the fleet it holds."""

from __future__ import annotations

import ipaddress

import pytest

from campus.sandbox import network
from campus.sandbox.nodes import NODE_PODS, nodes_for


def test_the_service_range_holds_an_address_per_pod_slot() -> None:
    assert network.service_range(1, NODE_PODS) == "10.96.0.0/24"  # never below the default
    assert network.service_range(3, NODE_PODS) == "10.96.0.0/23"
    # The 100-environment fleet: 27 nodes, about 900 Services.
    assert network.service_range(27, NODE_PODS) == "10.96.0.0/20"
    for nodes in (1, 3, 6, 27, 50, 100, 1000):
        prefix = int(network.service_range(nodes, NODE_PODS).split("/")[1])
        assert network.usable_addresses(prefix) >= nodes * NODE_PODS
        assert prefix == 24 or network.usable_addresses(prefix + 1) < nodes * NODE_PODS


def test_a_default_range_is_full_at_254_addresses() -> None:
    # What stopped the 100-environment deploy: 251 fleet Services in the default /24.
    assert network.usable_addresses(24) == 253
    assert network.service_prefix(254) == 23


def test_an_explicit_service_range_is_checked() -> None:
    assert network.checked_service_range("10.100.0.0/16") == "10.100.0.0/16"
    for wrong in ("10.100.0.1/16", "10.0.0.0/8", "10.0.0.0/30", "not-a-range"):
        with pytest.raises(ValueError, match="--service-cidr"):
            network.checked_service_range(wrong)


def test_every_node_has_its_own_pod_range_apart_from_services() -> None:
    nodes = nodes_for("s", 300, "8", "32Gi", ["a", "b", "c"])
    ranges = [ipaddress.ip_network(n["spec"]["podCIDR"]) for n in nodes]
    assert len(set(ranges)) == 300
    assert all(r.num_addresses - 2 >= NODE_PODS for r in ranges)
    services = ipaddress.ip_network(network.service_range(300, NODE_PODS))
    assert not any(r.overlaps(services) for r in ranges)
    assert all(n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]] for n in nodes)
