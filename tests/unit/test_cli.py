"""The command-line surface: every planned group is listed, unbuilt ones fail honestly."""

from __future__ import annotations

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
    "plan",
    "drill",
    "sandbox",
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


def test_unbuilt_command_fails_and_says_so() -> None:
    from campus.cli.pending import pending_command

    result = CliRunner().invoke(pending_command("frobnicate", "x"), [])
    assert result.exit_code != 0
    assert "not built yet" in result.output
