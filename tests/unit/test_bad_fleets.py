"""A corpus of broken and hostile fleet files (`bad_fleets/`), each run through the real
command line (`lint`, `render`, `plan`): the exact message, file:line:col and key, a
non-zero exit, no traceback, and no render of anything. `bad_fleets/expected.yml` holds
each file's expected lines (`{file}` stands for its path) and exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from campus.cli.main import cli

CORPUS = Path(__file__).parent / "bad_fleets"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "expected.yml").read_text())
COMMANDS = {
    "lint": ["lint"],
    "render": ["render", "-o", "{out}"],
    "plan": ["plan"],
}


def test_every_file_of_the_corpus_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(
        p.name for p in CORPUS.glob("*.yml") if p.name != "expected.yml"
    )


def run(command: str, fleet: Path, tmp_path: Path) -> Any:
    arguments = [a.replace("{out}", str(tmp_path / "build")) for a in COMMANDS[command]]
    return CliRunner().invoke(cli, [*arguments, "-f", str(fleet)])


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_fleet_file_is_one_clear_error(
    name: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path / "state"))
    expected = EXPECTED[name]
    fleet = CORPUS / name
    result = run(command, fleet, tmp_path)
    lines = [line.replace("{file}", str(fleet)) for line in expected["lines"]]
    assert result.output.splitlines() == ["Error: " + lines[0], *lines[1:]]
    assert result.exit_code == expected["exit"]
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "build").exists()
