"""Addresses no environment may reach, and what the fleet file's CIDRs are checked
against. Pure.

The cloud metadata endpoints hand out the node's own credentials (AWS, GCP, Azure, Oracle
and DigitalOcean at 169.254.169.254, AWS also at fd00:ec2::254 over IPv6, Alibaba Cloud at
100.100.100.200) to any process that asks: a pod that reaches one acts as the node. Every
ipBlock campus renders excepts them (`campus.harden.egress`), and the fleet file may not
name a CIDR that covers one without saying why (`campus.fleet.checks`).
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = (
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
)


def network(cidr: str) -> Network:
    """A CIDR the fleet file gives, exactly as written (an address alone is its /32 or
    /128); ValueError says what is wrong with it, host bits set included: 10.0.5.7/24 is
    either a typo for the network or for the host, and an allow-list should not guess."""
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError(
            f"{cidr!r} is not a CIDR (an address and a prefix length, such as 10.0.5.0/24)"
        ) from None
    host = cidr.split("/", 1)[0]
    raise ValueError(
        f"{cidr} has host bits set: write {loose} for the network, or "
        f"{host}/{loose.max_prefixlen} for the one host"
    )


def metadata_within(cidr: Network) -> list[str]:
    """The metadata addresses inside `cidr`, as the single-address CIDRs an ipBlock's
    `except` lists."""
    return [
        f"{address}/{address.max_prefixlen}"
        for address in METADATA_ADDRESSES
        if address.version == cidr.version and address in cidr
    ]


def is_any(cidr: Network) -> bool:
    """0.0.0.0/0 or ::/0: every address of its family."""
    return cidr.prefixlen == 0


def is_metadata(cidr: Network) -> bool:
    """The metadata address itself: no `except` can take it out of its own CIDR."""
    return cidr.num_addresses == 1 and cidr.network_address in METADATA_ADDRESSES
