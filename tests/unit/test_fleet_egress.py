"""The fleet file's egress: destinations declared, inherited and overridden like other
mappings; the cluster's API server and DNS copied into every environment; a CIDR that
would open every address or a cloud metadata endpoint refused at its line unless meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus.fleet.checks import api_server_unknown
from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.model import Cluster, Egress, Fleet

FLEET = """\
cluster:
  context: prod
  api_server_cidrs: [10.0.0.10/32, 10.0.0.11]
  dns_cidrs: [169.254.20.10/32]
defaults:
  egress:
    relay: {cidr: 203.0.113.25/32, ports: [587], reason: the campus mail relay}
environments:
  a:
    hosts: {lms: a.example.org}
    egress:
      database: {cidr: 10.0.5.0/24, ports: [3306]}
  b:
    hosts: {lms: b.example.org}
    egress:
      relay: null
      syslog: {cidr: "2001:db8::/64", ports: [514], protocol: UDP}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(FleetFileError) as raised:
        load_fleet(write(tmp_path, text))
    return [problem.render(Path("fleet.yml")) for problem in raised.value.problems]


def test_destinations_merge_by_name_and_null_drops_one(tmp_path: Path) -> None:
    a, b = load_fleet(write(tmp_path, FLEET)).environments
    relay = Egress(cidr="203.0.113.25/32", ports=[587], reason="the campus mail relay")
    assert a.egress == {"relay": relay, "database": Egress(cidr="10.0.5.0/24", ports=[3306])}
    assert b.egress == {"syslog": Egress(cidr="2001:db8::/64", ports=[514], protocol="UDP")}


def test_the_clusters_api_server_and_dns_reach_every_environment(tmp_path: Path) -> None:
    for environment in load_fleet(write(tmp_path, FLEET)).environments:
        assert environment.api_server_cidrs == ("10.0.0.10/32", "10.0.0.11/32")
        assert environment.api_server_ports == (443, 6443)
        assert environment.dns_cidrs == ("169.254.20.10/32",)
        assert environment.ingress_controller_ports == (80, 443)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            "10.0.5.0/24",
            "10.0.5.0/33",
            "fleet.yml:12:18: environments.a.egress.database.cidr: '10.0.5.0/33' is not a "
            "CIDR (an address and a prefix length, such as 10.0.5.0/24)",
        ),
        (
            "10.0.5.0/24",
            "db.example.org",
            "fleet.yml:12:18: environments.a.egress.database.cidr: 'db.example.org' is not a "
            "CIDR (an address and a prefix length, such as 10.0.5.0/24)",
        ),
        (
            "10.0.5.0/24",
            "10.0.5.7/24",
            "fleet.yml:12:18: environments.a.egress.database.cidr: 10.0.5.7/24 has host bits "
            "set: write 10.0.5.0/24 for the network, or 10.0.5.7/32 for the one host",
        ),
        (
            "ports: [3306]}",
            "ports: []}",
            "fleet.yml:12:37: environments.a.egress.database.ports: List should have at least 1 "
            "item after validation, not 0",
        ),
        (
            "ports: [3306]}",
            "ports: [70000]}",
            "fleet.yml:12:45: environments.a.egress.database.ports.0: Input should be less than "
            "or equal to 65535, not 70000",
        ),
        (
            "ports: [3306]}",
            "ports: [3306], protocol: ICMP}",
            "fleet.yml:12:52: environments.a.egress.database.protocol: Input should be 'TCP', "
            "'UDP' or 'SCTP', not 'ICMP'",
        ),
        (
            "      database:",
            "      Database:",
            "fleet.yml:11:5: environments.a.egress: 'Database' is not a valid DNS-1123 label",
        ),
    ],
)
def test_a_malformed_destination_is_refused_at_load(
    tmp_path: Path, before: str, after: str, expected: str
) -> None:
    found = problems(tmp_path, FLEET.replace(before, after, 1))
    assert any(line.startswith(expected) for line in found), found


@pytest.mark.parametrize(
    ("cidr", "extra", "expected"),
    [
        (
            "169.254.0.0/16",
            "",
            "fleet.yml:12:18: environments.a.egress.database.cidr: 169.254.0.0/16 covers the "
            "cloud metadata endpoint 169.254.169.254: name the destination's own CIDR, or set "
            "allow_any: true with a reason (the cloud metadata endpoints stay excepted)",
        ),
        (
            "0.0.0.0/0",
            "",
            "fleet.yml:12:18: environments.a.egress.database.cidr: 0.0.0.0/0 is every IPv4 "
            "address: name the destination's own CIDR, or set allow_any: true with a reason "
            "(the cloud metadata endpoints stay excepted)",
        ),
        ("::/0", "", "environments.a.egress.database.cidr: ::/0 is every IPv6 address"),
        (
            "fd00::/8",
            "",
            "environments.a.egress.database.cidr: fd00::/8 covers the cloud metadata endpoint "
            "fd00:ec2::254",
        ),
        (
            "0.0.0.0/0",
            ", allow_any: true",
            "fleet.yml:12:50: environments.a.egress.database.allow_any: allow_any needs a "
            "reason: say why every pod of the environment may reach 0.0.0.0/0",
        ),
        (
            "169.254.169.254/32",
            ", allow_any: true, reason: instance roles",
            "fleet.yml:12:18: environments.a.egress.database.cidr: 169.254.169.254/32 is a "
            "cloud metadata endpoint, which no environment may reach: it hands out the nodes' "
            "credentials",
        ),
    ],
)
def test_a_destination_opening_everything_or_the_metadata_endpoint_names_its_line(
    tmp_path: Path, cidr: str, extra: str, expected: str
) -> None:
    text = FLEET.replace(
        "{cidr: 10.0.5.0/24, ports: [3306]}", f"{{cidr: {cidr}, ports: [3306]{extra}}}"
    )
    found = problems(tmp_path, text)
    assert any(line.startswith(expected) or expected in line for line in found), found


def test_allow_any_with_a_reason_is_accepted(tmp_path: Path) -> None:
    text = FLEET.replace(
        "{cidr: 10.0.5.0/24, ports: [3306]}",
        "{cidr: 0.0.0.0/0, ports: [443], allow_any: true, reason: S3 has no fixed range}",
    )
    [a, _] = load_fleet(write(tmp_path, text)).environments
    assert a.egress["database"].allow_any


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            "api_server_cidrs: [10.0.0.10/32, 10.0.0.11]",
            "api_server_cidrs: [10.0.0.10/32, 0.0.0.0/0]",
            "fleet.yml:3:36: cluster.api_server_cidrs.1: 0.0.0.0/0 is every IPv4 address: give "
            "the servers' own addresses",
        ),
        (
            "dns_cidrs: [169.254.20.10/32]",
            "dns_cidrs: [169.254.0.0/16]",
            "fleet.yml:4:15: cluster.dns_cidrs.0: 169.254.0.0/16 covers the cloud metadata "
            "endpoint 169.254.169.254: give the servers' own addresses",
        ),
        (
            "dns_cidrs: [169.254.20.10/32]",
            "dns_cidrs: [cluster-dns]",
            "fleet.yml:4:15: cluster.dns_cidrs.0: 'cluster-dns' is not a CIDR",
        ),
    ],
)
def test_the_clusters_cidrs_are_checked_too(
    tmp_path: Path, before: str, after: str, expected: str
) -> None:
    found = problems(tmp_path, FLEET.replace(before, after))
    assert any(line.startswith(expected) for line in found), found


def test_a_service_of_the_api_needs_the_api_server_located_but_on_a_sandbox() -> None:
    def fleet(cluster: Cluster) -> Fleet:
        return Fleet(source="fleet.yml", cluster=cluster, environments=())

    needing = {"a": ["jupyterhub"], "b": []}
    [(where, message)] = api_server_unknown(fleet(Cluster(context="prod")), needing)
    assert where == ["cluster", "api_server_cidrs"]
    assert message.startswith("jupyterhub of a talk to the Kubernetes API")
    assert "kubectl get endpointslices -n default" in message
    located = Cluster(context="prod", api_server_cidrs=("10.0.0.10/32",))
    assert api_server_unknown(fleet(located), needing) == []
    assert api_server_unknown(fleet(Cluster(sandbox="campus")), needing) == []
    assert api_server_unknown(fleet(Cluster(context="prod")), {"b": []}) == []
