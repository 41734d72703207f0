"""Generated fleet files fed to the loader: whatever the bytes, it returns a fleet or
raises one `FleetFileError` whose lines say where, in bounded time; and every fleet it
accepts renders through Tutor and hardens."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.model import Fleet
from campus.pipeline import build, load

# Every line of a fleet-file error: `path:line:col: [key: ]message` or `path: message`.
LINE = re.compile(r"^\S+?(:\d+:\d+)?: .+$")
FAST = settings(max_examples=150, deadline=None, database=None)


def outcome(data: bytes) -> Fleet | FleetFileError:
    """Load the bytes as a fleet file; any exception but a FleetFileError fails the test."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.yml"
        path.write_bytes(data)
        started = time.monotonic()
        try:
            return load_fleet(path)
        except FleetFileError as error:
            assert all(LINE.match(line) for line in str(error).splitlines()), str(error)
            return error
        finally:
            assert time.monotonic() - started < 5


@FAST
@given(st.binary(max_size=4096))
def test_any_bytes_load_or_fail_with_positions(data: bytes) -> None:
    outcome(data)


YAML_PIECES = st.sampled_from(
    [
        "environments:",
        "defaults:",
        "  acme-dev:",
        "    hosts: {lms: learn.example.org}",
        "    replicas: {lms: 2}",
        "    namespace: kube-system",
        "    tutor: {PLATFORM_NAME: x}",
        "&a [1, 2]",
        "*a",
        "[",
        "]",
        "{",
        "}",
        "- ",
        ": ",
        "!!python/object:os.system",
        "!tag",
        "'",
        '"',
        "\t",
        "%YAML 1.1",
        "---",
        "...",
        "? ",
        "<<: *a",
        "1e400",
        "0x10",
        "\u00e9",
        "\x07",
    ]
)


@FAST
@given(st.lists(YAML_PIECES | st.text(max_size=8), max_size=40))
def test_yaml_fragments_load_or_fail_with_positions(pieces: list[str]) -> None:
    outcome("\n".join(pieces).encode("utf-8", "surrogatepass"))


# Structured fleets: the right keys with values that are right or wrong in every way.
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
HOSTS = st.builds("{}.example.org".format, NAMES)
SERVICES = st.sampled_from(["lms", "cms", "lms-worker", "cms-worker"])
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
QUANTITIES = st.sampled_from(["100m", "1", "2Gi", "512Mi", "1000m", "-1", "1.5", "abc"]) | ANYTHING
SETTINGS = st.fixed_dictionaries(
    {},
    optional={
        "size": st.sampled_from(["small", "medium", "large", "huge"]) | ANYTHING,
        "production": st.booleans() | ANYTHING,
        "plugins": st.lists(st.sampled_from(["mfe", "forum"]), unique=True, max_size=2),
        "replicas": st.dictionaries(SERVICES, st.integers(0, 3) | ANYTHING, max_size=2),
        "autoscaling": st.dictionaries(
            SERVICES,
            st.fixed_dictionaries({"min": st.integers(1, 3), "max": st.integers(1, 5)}) | ANYTHING,
            max_size=2,
        ),
        "resources": st.dictionaries(
            SERVICES,
            st.fixed_dictionaries(
                {}, optional={"cpu": QUANTITIES, "memory": QUANTITIES, "memory_limit": QUANTITIES}
            ),
            max_size=2,
        ),
        "tutor": st.dictionaries(
            st.sampled_from(
                ["PLATFORM_NAME", "LANGUAGE_CODE", "ID", "K8S_NAMESPACE", "SMTP_PASSWORD"]
            ),
            st.text(max_size=12),
            max_size=2,
        ),
        "ingress": st.fixed_dictionaries(
            {}, optional={"mode": st.sampled_from(["caddy", "ingress"]), "class": NAMES | ANYTHING}
        ),
    },
)


def environment() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda settings, hosts, namespace: {**settings, "hosts": hosts, **namespace},
        SETTINGS,
        st.fixed_dictionaries({"lms": HOSTS | ANYTHING}, optional={"cms": HOSTS}),
        st.just({}) | st.builds(lambda n: {"namespace": n}, NAMES | ANYTHING),
    )


FLEETS = st.fixed_dictionaries(
    {"environments": st.dictionaries(NAMES, environment(), min_size=1, max_size=2)},
    optional={"defaults": SETTINGS},
)


@FAST
@given(FLEETS)
def test_generated_fleets_load_or_fail_with_positions(fleet: dict[str, Any]) -> None:
    outcome(yaml.safe_dump(fleet, allow_unicode=True).encode())


VALID = st.fixed_dictionaries(
    {
        "environments": st.dictionaries(
            NAMES,
            st.fixed_dictionaries(
                {"hosts": st.fixed_dictionaries({"lms": HOSTS})},
                optional={
                    "size": st.sampled_from(["small", "medium", "large"]),
                    "production": st.booleans(),
                    "plugins": st.lists(st.sampled_from(["mfe", "forum"]), unique=True),
                    "replicas": st.dictionaries(SERVICES, st.integers(1, 3), max_size=2),
                    "resources": st.dictionaries(
                        SERVICES,
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "cpu": st.sampled_from(["100m", "1", "250m"]),
                                "memory": st.sampled_from(["256Mi", "512Mi"]),
                            },
                        ),
                        max_size=2,
                    ),
                    "tutor": st.fixed_dictionaries(
                        {},
                        optional={
                            "PLATFORM_NAME": st.text(min_size=1, max_size=20)
                            | st.dates()
                            | st.integers()
                        },
                    ),
                },
            ),
            min_size=1,
            max_size=2,
        )
    }
)


@settings(
    max_examples=4,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(VALID)
def test_every_fleet_the_loader_accepts_renders(fleet: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.yml"
        path.write_text(yaml.safe_dump(fleet, allow_unicode=True))
        try:
            loaded = load(path)
        except FleetFileError:
            event("refused")
            return  # e.g. two environments given the same host: refused, with a position
        event("rendered")
        for built in build(loaded):
            assert any(o["kind"] == "Deployment" for o in built.objects) and built.init_jobs
