"""`campus toolchains list|prune` over a store folder of published toolchains: the ones a
fleet file pins stay, the others go, link and folder, and --dry-run removes nothing."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from campus.cli.main import cli
from campus.fleet.model import Release
from campus.toolchain.spec import spec_for
from campus.toolchain.store import MANIFEST, stored, this_python

FLEET = """
environments:
  acme-dev:
    hosts: {lms: learn.dev.acme.example.org}
    release: {tutor: "21.0.9"}
  acme-prod:
    hosts: {lms: learn.acme.example.org}
"""


def publish(store: Path, key: str, pins: list[str]) -> Path:
    """A toolchain as `store.ensure` leaves it: a hidden folder and a link named by key."""
    folder = store / f".{key}.d-abc"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_bytes(b"x" * 1000)
    (folder / MANIFEST).write_text(json.dumps({"pins": pins, "python": this_python()}))
    (store / key).symlink_to(folder.name)
    return folder


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "toolchains"
    folder.mkdir()
    monkeypatch.setenv("CAMPUS_TOOLCHAINS", str(folder))
    return folder


def test_prune_keeps_what_the_fleet_pins_and_removes_the_rest(store: Path, tmp_path: Path) -> None:
    spec = spec_for(Release(tutor="21.0.9"), this_python(), version("tutor"))
    assert spec is not None
    used = publish(store, spec.key, list(spec.pins))
    unused = publish(store, "tutor-20.0.1-0123456789abcdef", ["tutor==20.0.1"])
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(FLEET)

    listed = CliRunner().invoke(cli, ["toolchains", "list", "-o", "json"])
    assert listed.exit_code == 0, listed.output
    assert [t["key"] for t in json.loads(listed.output)["toolchains"]] == sorted(
        [spec.key, "tutor-20.0.1-0123456789abcdef"]
    )

    dry = CliRunner().invoke(cli, ["toolchains", "prune", "-f", str(fleet), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove  tutor-20.0.1-0123456789abcdef" in dry.output
    assert unused.exists() and len(stored()) == 2

    pruned = CliRunner().invoke(cli, ["toolchains", "prune", "-f", str(fleet)])
    assert pruned.exit_code == 0, pruned.output
    assert f"keep    {spec.key} ({fleet}: acme-dev)" in pruned.output
    assert not unused.exists() and not (store / "tutor-20.0.1-0123456789abcdef").exists()
    assert used.exists() and [s.key for s in stored()] == [spec.key]


def test_prune_all_empties_the_store_and_refuses_fleet_files_beside_it(
    store: Path, tmp_path: Path
) -> None:
    publish(store, "tutor-20.0.1-0123456789abcdef", ["tutor==20.0.1"])
    both = CliRunner().invoke(cli, ["toolchains", "prune", "--all", "-f", "x.yml"])
    assert both.exit_code == 2 and "not both" in both.output
    pruned = CliRunner().invoke(cli, ["toolchains", "prune", "--all"])
    assert pruned.exit_code == 0, pruned.output
    assert stored() == [] and list(store.iterdir()) == [
        store / ".tutor-20.0.1-0123456789abcdef.lock"
    ]
