"""The command-line surface: every command is listed."""

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
    "autoscale",
    "plan",
    "drill",
    "sandbox",
    "logs",
    "exec",
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
