"""The sandbox's address ranges, sized for the fleets it is asked to hold. Pure.

The API server gives every Service but a headless one an address from its Service range;
its default is a /24 (254 addresses), and an Open edX environment uses about nine
Services, so a default sandbox filled up at 28 environments. The sandbox sizes the range
from its node count instead: one address per pod slot (a fleet runs fewer Services than
pods), or takes an explicit range. Pods take their addresses from their node's range.
"""

from __future__ import annotations

import ipaddress
import math

SERVICE_RANGE_START = ipaddress.IPv4Address("10.96.0.0")  # where kubeadm's default starts
# The API server allocates from at most 2^20 addresses for IPv4 (a /12).
WIDEST_SERVICE_PREFIX = 12
NARROWEST_SERVICE_PREFIX = 24  # the API server's own default: never smaller than that
# Addresses a range holds that no fleet Service gets: the network and broadcast addresses,
# and the first one, taken by the `kubernetes` Service.
RESERVED_ADDRESSES = 3
POD_RANGE_START = ipaddress.IPv4Address("10.128.0.0")  # apart from the Service range
POD_RANGE_PREFIX = 24  # per node: 254 addresses, more than the 110 pods a node runs
# Every node's pod range is inside this one (4096 nodes); real nodes' pods are routed to.
CLUSTER_POD_RANGE = f"{POD_RANGE_START}/12"


def service_prefix(addresses: int) -> int:
    """The narrowest prefix whose range leaves `addresses` for Services (at least a /24)."""
    bits = math.ceil(math.log2(max(1, addresses) + RESERVED_ADDRESSES))
    return max(WIDEST_SERVICE_PREFIX, min(NARROWEST_SERVICE_PREFIX, 32 - bits))


def usable_addresses(prefix: int) -> int:
    """Service addresses a range of this prefix leaves for a fleet."""
    return (1 << (32 - prefix)) - RESERVED_ADDRESSES


def service_range(nodes: int, max_pods: int) -> str:
    """The sandbox's Service range for `nodes` nodes of `max_pods` pods: an address per pod slot."""
    prefix = service_prefix(nodes * max_pods)
    if usable_addresses(prefix) < nodes * max_pods:
        raise ValueError(
            f"{nodes} nodes of {max_pods} pods need more Service addresses than a "
            f"/{WIDEST_SERVICE_PREFIX} holds; give --service-cidr"
        )
    return f"{SERVICE_RANGE_START}/{prefix}"


def checked_service_range(cidr: str) -> str:
    """`cidr` as the API server accepts it for its Service range, or ValueError."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        raise ValueError(f"--service-cidr {cidr!r}: {error}") from None
    if network.version == 4 and network.prefixlen < WIDEST_SERVICE_PREFIX:
        raise ValueError(
            f"--service-cidr {cidr}: the API server takes at most a /{WIDEST_SERVICE_PREFIX}"
        )
    if network.num_addresses < 8:
        raise ValueError(f"--service-cidr {cidr}: too small for any fleet")
    return str(network)


def pod_range(node_index: int) -> str:
    """Node `node_index`'s pod range: consecutive /24s, apart from the Service range."""
    start = int(POD_RANGE_START) + (node_index << (32 - POD_RANGE_PREFIX))
    return f"{ipaddress.IPv4Address(start)}/{POD_RANGE_PREFIX}"
