"""Toolchains: their pins and keys (pure), the worker's own modules that run inside one
without campus, and the toolchain store's refusals (no index, a killed build)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.model import Release
from campus.render import render_fleet
from campus.render.runtime import copy_worker, foreign_imports, worker_modules
from campus.toolchain import store
from campus.toolchain.spec import ToolchainSpec, python_tag, spec_for, unpinned_plugins

PY = python_tag("cpython", (3, 11), "x86_64")


def test_pins_name_tutor_and_each_plugin_distribution_exactly() -> None:
    spec = spec_for(Release(tutor="21.0.9", plugins={"mfe": "21.0.2", "forum": "21.0.0"}), PY, "")
    assert spec is not None
    assert spec.pins == ("tutor==21.0.9", "tutor-forum==21.0.0", "tutor-mfe==21.0.2")
    assert spec.describe() == "tutor 21.0.9, forum 21.0.0, mfe 21.0.2"
    assert spec.key.startswith("tutor-21.0.9-")


def test_a_plugin_not_published_as_tutor_name_is_pinned_under_its_distribution() -> None:
    release = Release(
        tutor="21.0.9",
        plugins={"aspects": "2.1.0", "mfe": "21.0.2"},
        distributions={"aspects": "tutor-contrib-aspects"},
    )
    spec = spec_for(release, PY, "")
    plain = spec_for(Release(tutor="21.0.9", plugins={"aspects": "2.1.0", "mfe": "21.0.2"}), PY, "")
    assert spec is not None and plain is not None
    assert spec.pins == ("tutor==21.0.9", "tutor-contrib-aspects==2.1.0", "tutor-mfe==21.0.2")
    assert spec.key != plain.key


def test_release_distributions_inherit_key_by_key_and_refuse_a_bad_name(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yml"
    fleet_file.write_text(
        "defaults:\n"
        "  release: {plugins: {aspects: 2.1.0}, distributions: {aspects: tutor-contrib-aspects}}\n"
        "environments:\n"
        "  dev:\n"
        "    hosts: {lms: learn.dev.example.org}\n"
        '    release: {tutor: "21.0.9"}\n'
    )
    release = load_fleet(fleet_file).environment("dev").release
    assert release == Release(
        tutor="21.0.9",
        plugins={"aspects": "2.1.0"},
        distributions={"aspects": "tutor-contrib-aspects"},
    )
    fleet_file.write_text(fleet_file.read_text().replace("tutor-contrib-aspects", "tutor contrib"))
    with pytest.raises(
        FleetFileError,
        match=r":2:\d+: defaults\.release\.distributions: 'tutor contrib' is not a distribution",
    ):
        load_fleet(fleet_file)


def test_nothing_pinned_is_campus_s_own_tutor() -> None:
    assert spec_for(None, PY, "22.0.3") is None
    assert spec_for(Release(), PY, "22.0.3") is None
    assert spec_for(Release(plugins={}), PY, "22.0.3") is None


def test_plugin_pins_alone_go_with_the_tutor_installed_beside_campus() -> None:
    spec = spec_for(Release(plugins={"mfe": "22.1.0"}), PY, "22.0.3")
    assert spec is not None and spec.pins == ("tutor==22.0.3", "tutor-mfe==22.1.0")


def test_the_key_covers_every_pin_and_the_python_but_not_the_order() -> None:
    base = spec_for(Release(tutor="21.0.9", plugins={"mfe": "21.0.2", "forum": "21.0.0"}), PY, "")
    same = spec_for(Release(tutor="21.0.9", plugins={"forum": "21.0.0", "mfe": "21.0.2"}), PY, "")
    assert base is not None and same is not None and base.key == same.key
    others = [
        spec_for(Release(tutor="21.0.8", plugins={"mfe": "21.0.2", "forum": "21.0.0"}), PY, ""),
        spec_for(Release(tutor="21.0.9", plugins={"mfe": "21.0.1", "forum": "21.0.0"}), PY, ""),
        spec_for(Release(tutor="21.0.9", plugins={"mfe": "21.0.2"}), PY, ""),
        spec_for(
            Release(tutor="21.0.9", plugins={"mfe": "21.0.2", "forum": "21.0.0"}),
            python_tag("cpython", (3, 12), "x86_64"),
            "",
        ),
    ]
    keys = {base.key, *(other.key for other in others if other is not None)}
    assert len(keys) == 5


def test_a_plugin_enabled_but_not_pinned_is_named_unless_tutor_s_folder_has_it() -> None:
    spec = ToolchainSpec("21.0.9", (("mfe", "21.0.2"),), PY)
    assert unpinned_plugins(["mfe", "forum", "local"], spec, frozenset({"local"})) == ["forum"]


def test_the_worker_imports_only_the_standard_library_and_tutor() -> None:
    modules = worker_modules()
    assert {"campus.render.worker", "campus.render.forkserver"} <= set(modules)
    assert foreign_imports(modules) == {}


def test_a_worker_importing_beyond_tutor_and_its_requirements_is_caught(tmp_path: Path) -> None:
    render = tmp_path / "campus" / "render"
    render.mkdir(parents=True)
    (render / "worker.py").write_text(
        "import json\nfrom campus.shared import helper\n\ndef f():\n    import jinja2\n"
    )
    (render / "forkserver.py").write_text("from campus.render import worker\n")
    (tmp_path / "campus" / "shared.py").write_text("import pydantic\n")
    modules = worker_modules(tmp_path / "campus")
    assert set(modules) == {"campus.render.worker", "campus.render.forkserver", "campus.shared"}
    assert foreign_imports(modules) == {"campus.shared": {"pydantic"}}


def test_the_worker_s_copy_imports_without_campus_or_any_installed_package(
    tmp_path: Path,
) -> None:
    """As a toolchain runs it: `-S` leaves every installed package (campus, pydantic,
    lightkube, Tutor) off the path; only the copy and the standard library remain."""
    copy_worker(tmp_path)
    probe = "import campus.render.worker, campus.render.forkserver, campus; print(campus.__file__)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tmp_path)}
    found = subprocess.run(
        [sys.executable, "-S", "-P", "-c", probe], capture_output=True, text=True, env=env
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "campus" / "__init__.py")
    assert (tmp_path / "campus" / "render" / "__init__.py").read_text() == ""


def test_no_index_reachable_is_one_clear_error_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    spec = ToolchainSpec("21.0.9", (("mfe", "21.0.2"),), store.this_python())
    said: list[str] = []
    with pytest.raises(store.ToolchainError) as raised:
        store.ensure(spec, said.append, tmp_path)
    assert str(raised.value).startswith("no package index reachable")
    assert "tutor==21.0.9 tutor-mfe==21.0.2" in str(raised.value)
    assert any("installing tutor==21.0.9" in line for line in said)
    assert [p.name for p in tmp_path.iterdir()] == [f".{spec.key}.lock"]


def test_a_ready_toolchain_is_used_without_installing_and_a_killed_build_is_not(
    tmp_path: Path,
) -> None:
    spec = ToolchainSpec("21.0.9", (), store.this_python())
    (tmp_path / f".{spec.key}.d-x").mkdir()  # a build killed midway: never used
    assert store.find(spec, tmp_path) is None
    (tmp_path / spec.key).mkdir()
    (tmp_path / spec.key / store.MANIFEST).write_text("{}")
    said: list[str] = []
    found = store.ensure(spec, said.append, tmp_path)  # would fail: no venv, no index here
    assert (found.path, found.created, said) == (tmp_path / spec.key, False, [])


def test_the_cache_folder_follows_campus_toolchains_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(store.ROOT_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.root() == tmp_path / "xdg" / "campus" / "toolchains"
    monkeypatch.setenv(store.ROOT_ENV, str(tmp_path / "ci"))
    assert store.root() == tmp_path / "ci"


def test_a_plugin_the_release_does_not_pin_is_refused_at_its_environment(tmp_path: Path) -> None:
    """Before any toolchain is made: its Tutor would not find the plugin."""
    fleet_file = tmp_path / "fleet.yml"
    fleet_file.write_text(
        "defaults:\n"
        "  plugins: [mfe, forum]\n"
        "environments:\n"
        "  old:\n"
        "    hosts: {lms: learn.old.example.org}\n"
        '    release: {tutor: "21.0.9", plugins: {mfe: "21.0.2"}}\n'
    )
    with pytest.raises(FleetFileError) as raised:
        render_fleet(load_fleet(fleet_file), state_dir=tmp_path / "state")
    message = str(raised.value)
    assert f"{fleet_file}:4:" in message
    assert "forum" in message and "release.plugins.forum: VERSION" in message
    assert "mfe," not in message


def test_status_wide_shows_each_environment_s_release() -> None:
    from rich.console import Console

    from campus.output.status import status_view
    from campus.status.model import summarise

    old = summarise("prod", "prod", [], [], [], [], (3, ""), release="tutor 21.0.9, mfe 21.0.2")
    new = summarise("dev", "dev", [], [], [], [], None)
    console = Console(width=200, record=True)
    console.print(status_view([old, new], wide=True))
    wide = console.export_text()
    assert "RELEASE" in wide and "tutor 21.0.9, mfe 21.0.2" in wide
    console.print(status_view([old, new], wide=False))
    assert "RELEASE" not in console.export_text()


def test_two_processes_making_one_toolchain_build_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second waits on the lock, then finds the first one's toolchain ready (each
    opens the lock file itself, as two processes do, so the lock is contended)."""
    spec = ToolchainSpec("21.0.9", (), store.this_python())
    builds: list[Path] = []
    building, waiting = threading.Event(), threading.Event()
    said: list[str] = []

    def hear(line: str) -> None:
        said.append(line)
        if line.startswith("waiting for another campus process"):
            waiting.set()

    def build_until_the_other_waits(_: ToolchainSpec, target: Path, __: store.Progress) -> None:
        builds.append(target)
        building.set()
        assert waiting.wait(10)  # the other caller is blocked on this build's lock
        (target / store.MANIFEST).write_text("{}")

    monkeypatch.setattr(store, "_build", build_until_the_other_waits)
    first: list[store.Toolchain] = []
    thread = threading.Thread(target=lambda: first.append(store.ensure(spec, hear, tmp_path)))
    thread.start()
    assert building.wait(10)
    second = store.ensure(spec, hear, tmp_path)
    thread.join()
    assert len(builds) == 1
    assert (first[0].created, second.created) == (True, False)
    assert first[0].path == second.path == tmp_path / spec.key


def _site(folder: Path, **versions: str) -> Path:
    """A site-packages folder holding only the metadata of `versions` (name -> version)."""
    for name, version in versions.items():
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder


def test_the_render_cache_key_covers_the_toolchain_s_release(tmp_path: Path) -> None:
    from campus.render import cache

    request = {"root": str(tmp_path), "environment": {"name": "dev"}, "settings": {}}
    keys = {
        cache.key(cache.toolchain(_site(tmp_path / name, **pins)), request, tmp_path)
        for name, pins in (
            ("21", {"tutor": "21.0.9", "tutor-mfe": "21.0.2"}),
            ("21-mfe", {"tutor": "21.0.9", "tutor-mfe": "21.0.1"}),
            ("22", {"tutor": "22.0.3", "tutor-mfe": "22.1.0"}),
        )
    }
    assert len(keys) == 3
    assert cache.key(cache.toolchain(), request, tmp_path) not in keys  # campus's own


def test_the_next_build_removes_what_a_killed_one_left_and_publishes_by_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ToolchainSpec("21.0.9", (), store.this_python())
    killed = tmp_path / f".{spec.key}.d-killed"
    (killed / "bin").mkdir(parents=True)
    (tmp_path / spec.key).symlink_to(killed.name)  # published, then its folder lost its files

    def build(_: ToolchainSpec, target: Path, __: store.Progress) -> None:
        (target / store.MANIFEST).write_text("{}")

    monkeypatch.setattr(store, "_build", build)
    made = store.ensure(spec, lambda _: None, tmp_path)
    assert made.created and not killed.exists()
    assert (tmp_path / spec.key).is_symlink()
    target = (tmp_path / spec.key).resolve()
    assert target.parent == tmp_path.resolve() and target.name.startswith(f".{spec.key}.d-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".{spec.key}.lock", spec.key, target.name]
    )
