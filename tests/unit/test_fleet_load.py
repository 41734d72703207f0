"""Fleet files: good ones resolve with inheritance, bad ones name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"

GOOD = """\
defaults:
  size: small
  plugins: [mfe, forum]
  tutor: {PLATFORM_NAME: Default, LANGUAGE_CODE: en}
  ingress: {mode: ingress, class: nginx}
environments:
  a-dev:
    hosts: {lms: a.example.org}
  a-prod:
    namespace: a-production
    hosts: {lms: prod.example.org}
    size: large
    plugins: [mfe]
    tutor: {PLATFORM_NAME: Prod}
    ingress: {class: traefik}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(FleetFileError) as raised:
        load_fleet(write(tmp_path, text))
    return str(raised.value)


def test_example_fleet_loads() -> None:
    fleet = load_fleet(EXAMPLE)
    names = [e.name for e in fleet.environments]
    assert names == [
        "acme-dev",
        "acme-test",
        "acme-staging",
        "acme-prod",
        "globex-staging",
        "globex-prod",
    ]
    assert fleet.environment("globex-staging").namespace == "globex-stage"


def test_environment_wins_and_mappings_merge(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path, GOOD))
    dev, prod = fleet.environments
    assert dev.namespace == "a-dev" and dev.size == "small" and dev.plugins == ("mfe", "forum")
    assert prod.namespace == "a-production" and prod.size == "large" and prod.plugins == ("mfe",)
    assert prod.tutor == {"PLATFORM_NAME": "Prod", "LANGUAGE_CODE": "en"}
    assert (prod.ingress_mode, prod.ingress_class) == ("ingress", "traefik")


def test_gateway_mode_admits_the_gateways_namespace_by_default(tmp_path: Path) -> None:
    text = GOOD.replace("{mode: ingress, class: nginx}", "{mode: gateway, gateway: edge/shared}")
    text = text.replace("ingress: {class: traefik}", "ingress: {gateway: shared}")
    dev, prod = load_fleet(write(tmp_path, text)).environments
    assert dev.ingress_controller_namespace == "edge"
    assert prod.ingress_controller_namespace == "a-production"  # a Gateway beside it
    pinned = text.replace(
        "gateway: edge/shared}", "gateway: edge/shared, controller_namespace: gw}"
    )
    assert load_fleet(write(tmp_path, pinned)).environments[0].ingress_controller_namespace == "gw"
    dev, _ = load_fleet(write(tmp_path, GOOD)).environments
    assert dev.ingress_controller_namespace == "ingress-nginx"


def test_from_cidrs_are_read_and_checked(tmp_path: Path) -> None:
    text = GOOD.replace(
        "{mode: ingress, class: nginx}", "{mode: ingress, from_cidrs: [10.0.0.1/16]}"
    )
    assert load_fleet(write(tmp_path, text)).environments[0].ingress_from_cidrs == ("10.0.0.0/16",)
    assert "not a CIDR" in error_of(tmp_path, text.replace("10.0.0.1/16", "nodes"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("  size: small\n", "  sise: small\n"),
            "fleet.yml:2:3: defaults.sise: unknown key 'sise'; did you mean 'size'?",
        ),
        (
            GOOD.replace("    size: large\n", "    size: huge\n"),
            "fleet.yml:12:5: environments.a-prod.size",
        ),
        (GOOD.replace("a-dev:", "A_Dev:"), "not a valid DNS-1123 label"),
        (
            GOOD.replace("namespace: a-production", "namespace: a-dev"),
            "fleet.yml:10:5: environments.a-prod.namespace: "
            "namespace 'a-dev' is also used by a-dev",
        ),
        (
            GOOD.replace("prod.example.org", "a.example.org"),
            "environments.a-prod.hosts.lms: host 'a.example.org' is also used by a-dev (lms)",
        ),
        (
            GOOD + "    autoscaling: {lms: {min: 5, max: 2}}\n",
            "environments.a-prod.autoscaling.lms: min (5) is above max (2)",
        ),
        (
            GOOD + "    autoscaling: {lms: {min: 2, max: 4}}\n    replicas: {lms: 6}\n",
            "replicas.lms: 6 replicas is outside the autoscaling range 2-4",
        ),
        (
            GOOD + "    resources: {lms: {memory: 2GB}}\n",
            "resources.lms.memory: '2GB' is not a Kubernetes memory quantity",
        ),
        (
            GOOD + "    resources: {lms: {memory: 2Gi, memory_limit: 1Gi}}\n",
            "memory_limit 1Gi is below the memory request 2Gi",
        ),
        (
            GOOD.replace("PLATFORM_NAME: Prod", "platform_name: Prod"),
            "is not an upper-case Tutor key",
        ),
        (
            "cluster: {context: x, sandbox: y}\n" + GOOD,
            "fleet.yml:1:1: cluster: set either context or sandbox, not both",
        ),
        (GOOD.replace("lms: a.example.org", "lms: not_a_host"), "is not a valid DNS hostname"),
        ("environments: [a, b]\n", "environments: Input should be a valid dictionary"),
        ("defaults: {size: small}\ndefaults: {size: large}\n", "fleet.yml:2:1: invalid YAML"),
        ("environments:\n  a: {hosts: {lms: x.org}\n", "invalid YAML"),
        ("", "fleet.yml:1:1: the file is empty"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_bad_input_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FleetFileError, match="no such file"):
        load_fleet(tmp_path / "absent.yml")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("  size: small\n", "  sise: small\n").replace("size: large", "size: huge")
    message = error_of(tmp_path, text)
    assert "sise" in message and "huge" in message
