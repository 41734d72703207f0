"""The render cache, the fork server and rendering to memory: a hit, and a render in a forked
child, are byte-identical to rendering in a process of its own with Tutor writing its env
folder; every input change renders again; the cached files stay as private as Tutor's own
state."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import campus
from campus.fleet.model import Fleet
from campus.harden import harden_all
from campus.plain_yaml import to_text
from campus.render import cache, render_fleet
from campus.render import tutor as render_tutor
from campus.render.model import RenderedEnvironment
from campus.render.state import CONFIG_FILE
from campus.render.tutor import RenderError

TWO = ["acme-dev", "globex-prod"]


@pytest.fixture
def tutor_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The environments Tutor was run for, in order of completion."""
    runs: list[str] = []
    original = render_tutor._run_worker

    def counting(environment: Any, request: dict[str, Any], *servers: Any) -> dict[str, Any]:
        runs.append(environment.name)
        return original(environment, request, *servers)

    monkeypatch.setattr(render_tutor, "_run_worker", counting)
    yield runs


def _as_bytes(rendered: RenderedEnvironment) -> bytes:
    """Everything a render hands on, hardened as a deploy applies it, as text."""
    hardened = harden_all(rendered)
    document = {
        "objects": rendered.objects,
        "initTasks": [[t.service, t.script, t.job] for t in rendered.init_tasks],
        "config": rendered.tutor_config,
        "secretValues": sorted(rendered.secret_values),
        "tutorVersion": rendered.tutor_version,
        # The worker lists the state from a set, so its order differs from one Tutor process
        # to the next; the state Secret sorts it (`state.model`), so order is never seen.
        "state": dict(sorted(rendered.tutor_state.items())),
        "origin": rendered.state_origin,
        "hardened": list(hardened),
    }
    return to_text(document).encode()


def test_a_cached_render_is_byte_identical_to_rendering_through_tutor(
    example_fleet: Fleet, tmp_path: Path, tutor_runs: list[str]
) -> None:
    render_fleet(example_fleet, state_dir=tmp_path)  # generates the secrets, fills the cache
    assert len(tutor_runs) == len(example_fleet.environments)
    cached = render_fleet(example_fleet, state_dir=tmp_path)
    assert len(tutor_runs) == len(example_fleet.environments)  # Tutor skipped entirely
    # The old path: a process of its own for each environment, no cache, Tutor writing its
    # whole env folder and campus building it back from disk (the cache holds renders to
    # memory, in fork servers' children).
    fresh = render_fleet(
        example_fleet, state_dir=tmp_path, use_cache=False, fork=False, in_memory=False
    )
    assert len(tutor_runs) == 2 * len(example_fleet.environments)
    for hit, through_tutor in zip(cached, fresh, strict=True):
        assert _as_bytes(hit) == _as_bytes(through_tutor), hit.environment.name


def test_a_fork_server_renders_as_a_process_per_environment_and_leaks_nothing(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    # One server renders every environment in turn: acme-dev with mfe and forum, then the
    # same environment without plugins, whose render must not see theirs.
    bare = example_fleet.environment("acme-test").model_copy(update={"plugins": ()})
    fleet = example_fleet.model_copy(
        update={"environments": [example_fleet.environment("acme-dev"), bare]}
    )
    render_fleet(fleet, state_dir=tmp_path, use_cache=False, fork=False)  # the secrets
    forked = render_fleet(fleet, state_dir=tmp_path, jobs=1, use_cache=False)
    alone = render_fleet(fleet, state_dir=tmp_path, jobs=1, use_cache=False, fork=False)
    for child, process in zip(forked, alone, strict=True):
        assert _as_bytes(child) == _as_bytes(process), child.environment.name
    names = {o["metadata"]["name"] for o in forked[1].objects}
    assert "mfe" in {o["metadata"]["name"] for o in forked[0].objects}
    assert "mfe" not in names and "forum" not in names


def test_a_fork_server_reports_tutors_errors(example_fleet: Fleet, tmp_path: Path) -> None:
    broken = example_fleet.environment("acme-dev").model_copy(
        update={"plugins": ("mfe", "no-such-plugin")}
    )
    fleet = example_fleet.model_copy(update={"environments": [broken]})
    with pytest.raises(RenderError, match=r"acme-dev: .*no-such-plugin.*pip install"):
        render_fleet(fleet, state_dir=tmp_path, use_cache=False)


def test_the_cache_can_be_turned_off(
    example_fleet: Fleet, tmp_path: Path, tutor_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    render_fleet(example_fleet, ["acme-dev"], state_dir=tmp_path)
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    render_fleet(example_fleet, ["acme-dev"], state_dir=tmp_path)
    assert tutor_runs == ["acme-dev", "acme-dev"]


def test_each_input_change_renders_again(
    example_fleet: Fleet, tmp_path: Path, tutor_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def render(fleet: Fleet = example_fleet) -> list[str]:
        tutor_runs.clear()
        render_fleet(fleet, TWO, state_dir=tmp_path)
        return sorted(tutor_runs)

    assert render() == TWO
    assert render() == []

    # The fleet entry: a Tutor setting, and a decision Tutor never sees (size).
    dev = example_fleet.environment("acme-dev")
    changed = example_fleet.model_copy(
        update={
            "environments": [
                e.model_copy(update={"tutor": {**dev.tutor, "PLATFORM_NAME": "Acme (new)"}})
                if e.name == "acme-dev"
                else e
                for e in example_fleet.environments
            ]
        }
    )
    assert render(changed) == ["acme-dev"]
    assert render(changed) == []
    resized = example_fleet.model_copy(
        update={
            "environments": [
                e.model_copy(update={"size": "large"}) if e.name == "globex-prod" else e
                for e in example_fleet.environments
            ]
        }
    )
    assert render(resized) == TWO  # acme-dev back to its first entry, globex-prod resized
    assert render() == ["globex-prod"]

    # The Tutor state: a secret changed in config.yml (as `secrets rotate` or `state pull` do).
    config = tmp_path / "acme-dev" / CONFIG_FILE
    text = config.read_text()
    password = next(line for line in text.splitlines() if "MYSQL_ROOT_PASSWORD" in line)
    config.write_text(text.replace(password, "MYSQL_ROOT_PASSWORD: rotated-password-1234"))
    assert render() == ["acme-dev"]
    assert render() == []

    # The toolchain: a distribution upgraded, campus's render code changed.
    real = cache.toolchain()
    upgraded = {**real, "distributions": [*real["distributions"], "tutor-extra==1.0"]}
    monkeypatch.setattr(cache, "toolchain", lambda *_, **__: upgraded)
    assert render() == TWO
    monkeypatch.setattr(cache, "toolchain", lambda *_, **__: {**upgraded, "campus": "other code"})
    assert render() == TWO


def test_the_key_covers_every_input(tmp_path: Path) -> None:
    toolchain = {"distributions": ["tutor==22.0.3"], "campus": "a", "pluginFolder": {}}
    request = {"root": "ignored", "environment": {"size": "small"}, "settings": {}, "state": {}}
    variants = [
        (toolchain, request),
        ({**toolchain, "distributions": ["tutor==22.0.4"]}, request),
        ({**toolchain, "campus": "b"}, request),
        ({**toolchain, "pluginFolder": {"x.py": "1"}}, request),
        (toolchain, {**request, "environment": {"size": "large"}}),
        (toolchain, {**request, "settings": {"LMS_HOST": "x"}}),
        (toolchain, {**request, "state": {"OPENEDX_SECRET_KEY": "other"}}),
    ]
    keys = {cache.key(t, r, tmp_path) for t, r in variants}
    (tmp_path / CONFIG_FILE).write_text("ID: x\n")
    keys.add(cache.key(toolchain, request, tmp_path))
    assert len(keys) == len(variants) + 1
    assert cache.key(toolchain, {**request, "root": "elsewhere"}, tmp_path) in keys


def test_the_toolchain_sees_plugins_settings_and_campus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTOR_PLUGINS_ROOT", str(tmp_path))
    before = cache.toolchain()
    (tmp_path / "myplugin.py").write_text("# a single-file Tutor plugin\n")
    with_plugin = cache.toolchain()
    monkeypatch.setenv("TUTOR_SOMETHING", "1")
    with_setting = cache.toolchain()
    monkeypatch.setattr(campus, "__version__", "99.0")
    with_version = cache.toolchain()
    assert len({repr(t) for t in (before, with_plugin, with_setting, with_version)}) == 4
    assert any(d.startswith("tutor==") for d in before["distributions"])


def test_cached_renders_are_private(example_fleet: Fleet, tmp_path: Path) -> None:
    render_fleet(example_fleet, ["acme-dev"], state_dir=tmp_path)
    entry = tmp_path / "acme-dev" / cache.ENTRY_FILE
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert [p.name for p in tmp_path.rglob(cache.ENTRY_FILE)] == [cache.ENTRY_FILE]


def test_only_what_json_keeps_unchanged_is_cached(tmp_path: Path) -> None:
    assert cache.store(tmp_path, "k", {"built": [{"a": 1}]})
    assert cache.load(tmp_path, "k") == {"built": [{"a": 1}]}
    assert stat.S_IMODE((tmp_path / cache.ENTRY_FILE).stat().st_mode) == 0o600
    assert cache.load(tmp_path, "other") is None
    assert not cache.store(tmp_path, "k2", {"built": [{1: "a non-string key"}]})
    assert cache.load(tmp_path, "k2") is None


def test_the_installed_list_is_read_again_when_an_install_changes_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    memo = tmp_path / cache.MEMO_FILE
    real = cache.toolchain(memo=memo)
    assert real == cache.toolchain()
    kept = json.loads(memo.read_text())
    memo.write_text(json.dumps({**kept, "installed": ["stand-in==1"]}))
    assert cache.toolchain(memo=memo)["distributions"] == ["stand-in==1"]  # served from the memo
    (site / "tutor_new-1.0.dist-info").mkdir()  # what an install does to the folder
    os.utime(site, ns=(1, kept["stamps"][str(site)] + 1))
    assert cache.toolchain(memo=memo) == real
    assert stat.S_IMODE(memo.stat().st_mode) == 0o600


def test_monitoring_is_no_input_of_a_render(example_fleet: Fleet, tmp_path: Path) -> None:
    """Alerting rules are rendered after Tutor: changing them never runs Tutor again."""
    from campus.fleet.monitoring import Monitoring

    environment = example_fleet.environment("acme-dev")
    quiet = environment.model_copy(
        update={"monitoring": Monitoring(enabled=False, rule_labels={"release": "x"})}
    )
    request = render_tutor._worker_request(tmp_path, environment, {})
    assert render_tutor._worker_request(tmp_path, quiet, {}) == request
    assert "monitoring" not in request["environment"]
