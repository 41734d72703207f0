"""What the fleet file is checked for beyond the corpus: valid input that must pass, the
bounds on size, what is said as a warning, the checks fed after loading (services that run,
limits completed by the size's profile), `render -o` at a file and plan's bound."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from campus.cli.main import cli
from campus.fleet.checks import limits_below_requests, unknown_services
from campus.fleet.errors import FleetFileError, FleetWarning
from campus.fleet.load import MAX_BYTES, load_fleet
from campus.harden.sizing import known_resources_for
from campus.plan.model import NodeShape, Overhead
from campus.plan.planner import Cluster, PlanError, plan_fleet

BASE = "environments:\n  acme-dev:\n    hosts: {lms: learn.acme.example.org}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    return path


def test_unquoted_numbers_are_quantities_as_kubernetes_reads_them(tmp_path: Path) -> None:
    fleet = load_fleet(
        write(
            tmp_path,
            BASE + "    resources: {lms: {cpu: 1, cpu_limit: 1.5, memory_limit: 1073741824}}\n",
        )
    )
    lms = fleet.environment("acme-dev").resources["lms"]
    assert (lms.cpu, lms.cpu_limit, lms.memory_limit) == ("1", "1.5", "1073741824")


def test_a_file_larger_than_the_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(FleetFileError) as raised:
        load_fleet(path)
    assert str(raised.value) == f"{path}: larger than 512 KiB: not a fleet file"


def test_a_wide_alias_bomb_is_refused_in_bounded_time(tmp_path: Path) -> None:
    # Nine levels of ten aliases: a billion values once expanded.
    lines = ["    tutor:", "      L0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        aliases = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"      L{level}: &l{level} [{aliases}]")
    started = time.monotonic()
    with pytest.raises(FleetFileError, match="more than 50000 values once aliases are expanded"):
        load_fleet(write(tmp_path, BASE + "\n".join(lines) + "\n"))
    assert time.monotonic() - started < 2


def test_what_campus_overrides_is_a_warning(tmp_path: Path) -> None:
    text = BASE + "    ingress: {mode: ingress}\n    tutor: {ENABLE_WEB_PROXY: true}\n"
    path = write(tmp_path, text)
    with pytest.warns(FleetWarning) as caught:
        load_fleet(path)
    assert [str(w.message) for w in caught] == [
        f"{path}:5:13: environments.acme-dev.tutor.ENABLE_WEB_PROXY: ignored for acme-dev: "
        "with ingress mode 'ingress' campus sets ENABLE_WEB_PROXY to false (the shared "
        "ingress controller terminates TLS, not Caddy)"
    ]
    result = CliRunner().invoke(cli, ["render", "absent", "-f", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "Warning: " + str(caught[0].message)


def test_the_example_fleet_loads_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetWarning)
        load_fleet(Path(__file__).parents[2] / "examples" / "fleet.yml")


TWO = """\
defaults:
  autoscaling: {forum: {min: 1, max: 2}}
  resources: {lms: {memory: 8Gi}}
environments:
  a-dev:
    hosts: {lms: a.example.org}
    resources: {cms: {cpu_limit: 10m}}
  b-dev:
    hosts: {lms: b.example.org}
    replicas: {lms-wroker: 2}
"""


def test_services_are_checked_against_what_each_environment_runs(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path, TWO))
    with_forum = {"lms", "cms", "lms-worker", "forum"}
    without = {"lms", "cms", "lms-worker"}
    assert unknown_services(fleet, {"a-dev": with_forum, "b-dev": without}) == [
        (
            ["environments", "b-dev", "replicas", "lms-wroker"],
            "no service 'lms-wroker' runs in b-dev; did you mean 'lms-worker'? "
            "(services: cms, lms, lms-worker)",
        )
    ]
    # A default needs some environment to run it, judged once every environment is known.
    problems = unknown_services(fleet, {"a-dev": without, "b-dev": without})
    assert (
        ["defaults", "autoscaling", "forum"],
        "no service 'forum' runs in any environment (services: cms, lms, lms-worker)",
    ) in problems
    assert unknown_services(fleet, {"a-dev": without}) == []


def test_limits_are_checked_once_the_size_fills_them_in(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path, TWO))
    assert limits_below_requests(fleet, known_resources_for) == [
        (
            ["defaults", "resources", "lms", "memory"],
            "memory request 8Gi is above its limit 2Gi (small size's default): "
            "set memory_limit too",
        ),
        (
            ["environments", "a-dev", "resources", "cms", "cpu"],
            "cpu request 250m is above its limit 10m: the small size requests 250m, set cpu too",
        ),
    ]


def test_render_output_at_an_existing_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "build"
    target.write_text("not a folder")
    fleet = write(tmp_path, BASE)
    result = CliRunner().invoke(cli, ["render", "-f", str(fleet), "-o", str(target / "sub")])
    assert result.exit_code == 2
    assert f"{target} is a file, not a folder" in result.output
    assert isinstance(result.exception, SystemExit)


def test_plan_refuses_more_pods_than_any_cluster_holds_without_building_them() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "lms"},
        "spec": {
            "replicas": 2**31 - 1,
            "template": {"spec": {"containers": [{"name": "lms", "resources": {}}]}},
        },
    }
    shape = NodeShape.parse("8", "32Gi")
    started = time.monotonic()
    with pytest.raises(PlanError, match=r"lms up to 2147483647\), more than the 150000"):
        plan_fleet([("acme", [deployment], [])], Cluster(shape, Overhead.default(shape)))
    assert time.monotonic() - started < 1


def test_a_key_holding_a_line_break_stays_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'defaults:\n  autoscaling: {lms: {"\\r": 1, min: 1, max: 2}}\n' + BASE)
    with pytest.raises(FleetFileError) as raised:
        load_fleet(path)
    assert str(raised.value).splitlines() == [
        f"{path}:2:23: defaults.autoscaling.lms.\\r: unknown key '\\r'"
    ]


@pytest.mark.parametrize(("value", "refused"), [("0", True), ("1234", True), ('""', False)])
def test_any_secret_value_is_refused_but_an_empty_one(
    tmp_path: Path, value: str, refused: bool
) -> None:
    path = write(tmp_path, BASE + f"    tutor: {{SMTP_PASSWORD: {value}}}\n")
    if not refused:
        assert load_fleet(path).environment("acme-dev").tutor == {"SMTP_PASSWORD": ""}
        return
    with pytest.raises(FleetFileError, match="SMTP_PASSWORD is a secret"):
        load_fleet(path)
