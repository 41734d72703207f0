"""The example fleet and the plugin matrix, each rendered through Tutor once per session
(about 4 s and 3 s on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus.fleet.load import load_fleet
from campus.fleet.model import Fleet
from campus.render import render_fleet
from campus.render.model import RenderedEnvironment

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"


@pytest.fixture(scope="session")
def example_fleet() -> Fleet:
    return load_fleet(EXAMPLE)


@pytest.fixture(scope="session")
def rendered_example(
    example_fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, RenderedEnvironment]:
    state = tmp_path_factory.mktemp("state")
    return {r.environment.name: r for r in render_fleet(example_fleet, state_dir=state)}


PLUGINS = Path(__file__).parents[1] / "fleets" / "plugins.yml"


@pytest.fixture(scope="session")
def rendered_plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderedEnvironment]:
    """The plugin matrix (tests/fleets/plugins.yml), rendered once per session."""
    state = tmp_path_factory.mktemp("plugin-state")
    return {r.environment.name: r for r in render_fleet(load_fleet(PLUGINS), state_dir=state)}
