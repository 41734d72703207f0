"""The command-line surface: every command is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from campus import __version__
from campus.cli.main import cli

GROUPS = [
    "render",
    "lint",
    "deploy",
    "diff",
    "history",
    "rollback",
    "destroy",
    "status",
    "scale",
    "autoscale",
    "plan",
    "drill",
    "sandbox",
    "logs",
    "exec",
    "backup",
    "backups",
]


def test_help_lists_every_group() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("  ")}
    assert set(GROUPS) <= listed


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
    assert __version__ != "0.0.0"


def test_an_operator_error_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    """Errors from any command go through the one handler in `main`: no traceback."""
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("environments:\n  acme: {hosts: {lms: learn.acme.org}}\n")
    for arguments in (
        ["history", "nope"],
        ["lint", "nope"],
        ["drill", "node-failure"],
        ["backup", "nope"],
        ["backups", "nope"],
    ):
        result = CliRunner().invoke(cli, [*arguments, "-f", str(fleet)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: "), result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_each_command_loads_when_it_runs_and_not_before() -> None:
    import subprocess
    import sys

    import click

    from campus.cli.main import COMMANDS

    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, campus.cli.main; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "campus.cli.deploy" not in loaded and "campus.cli.plan" not in loaded


def test_memory_options_refuse_millibytes(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("environments:\n  acme: {hosts: {lms: learn.acme.org}}\n")
    for option in ("--node-memory", "--reserved-memory", "--daemon-memory"):
        result = CliRunner().invoke(cli, ["plan", "-f", str(fleet), option, "1000m"])
        assert result.exit_code == 2, result.output
        assert "millibytes" in result.output and option in result.output
    refused = CliRunner().invoke(cli, ["sandbox", "up", "--name", "x", "--node-memory", "64m"])
    assert refused.exit_code == 1 and "--node-memory: '64m' is in millibytes" in refused.output


def test_lint_and_plan_say_which_tutor_state_each_environment_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path / "state"))
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(
        "cluster: {sandbox: not-running-here}\n"
        "defaults: {plugins: [], size: small}\n"
        "environments:\n  acme: {hosts: {lms: learn.acme.example.org}}\n"
    )
    first = CliRunner().invoke(cli, ["lint", "-f", str(fleet), "-o", "json"])
    assert first.exit_code == 0, first.output
    [report] = json.loads(first.output)["environments"]
    assert report["ok"] and report["tutorState"]["source"] == "new"
    assert "sandbox 'not-running-here' is not running" in report["tutorState"]["detail"]
    again = CliRunner().invoke(cli, ["lint", "-f", str(fleet)])
    assert again.exit_code == 0, again.output
    assert "  Tutor state: local cache (cluster not asked)" in again.output
    planned = CliRunner().invoke(cli, ["plan", "-f", str(fleet), "-o", "json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.output)["tutorState"] == {
        "acme": {"source": "local cache", "detail": "cluster not asked"}
    }
    table = CliRunner().invoke(cli, ["plan", "-f", str(fleet)])
    assert "acme: Tutor state: local cache (cluster not asked)" in table.output


def test_a_tutor_state_origin_every_environment_shares_is_said_once() -> None:
    from campus.output.state import StateOrigin, state_lines

    reason = "new (first install: no cluster at hand: connection refused)"
    a, b, c = (StateOrigin(name, reason) for name in "abc")
    assert state_lines([a, b, c]) == [f"Tutor state of all 3 environments: {reason}"]
    assert state_lines([a, StateOrigin("b", "cluster (no local cache)")]) == [
        f"a: Tutor state: {reason}",
        "b: Tutor state: cluster (no local cache)",
    ]
    assert state_lines([a]) == [f"a: Tutor state: {reason}"]


def test_a_cluster_that_does_not_answer_is_said_once_for_the_fleet() -> None:
    """Some environments cached, some new: the reason the cluster was not asked is the
    same for all, said once, and each says only where its state came from."""
    from campus.output.state import StateOrigin, state_lines

    unasked = "no cluster at hand: cannot reach the API server: [Errno 111] Connection refused"
    origins = [
        StateOrigin("a", f"local cache ({unasked})", unasked, "local cache"),
        StateOrigin("b", f"new (first install: {unasked})", unasked, "new (first install)"),
        StateOrigin("c", f"new (first install: {unasked})", unasked, "new (first install)"),
    ]
    lines = state_lines(origins)
    assert lines == [
        f"Tutor state of all 3 environments: {unasked}",
        "a: Tutor state: local cache",
        "b: Tutor state: new (first install)",
        "c: Tutor state: new (first install)",
    ]
    assert sum(unasked in line for line in lines) == 1
