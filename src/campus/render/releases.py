"""The release each environment renders with: campus's own Tutor, or the toolchain of the
release it pins (`campus.toolchain`), made before any environment renders."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import Distribution, distributions, version
from pathlib import Path
from typing import Any

from campus.fleet.checks import Finding
from campus.fleet.load import locate
from campus.fleet.model import Environment
from campus.render import cache
from campus.render.runtime import Interpreter, copy_worker, toolchain_interpreter
from campus.toolchain.spec import ToolchainSpec, spec_for, unpinned_plugins
from campus.toolchain.store import ensure, this_python

ToolchainProgress = Callable[[str], None]
PLUGIN_ENTRY_POINTS = "tutor.plugin.v1"  # where Tutor finds installed plugins


@dataclass(frozen=True)
class ReleaseRuntime:
    """A pinned release, ready to render: its toolchain's interpreter, the render cache's
    inputs for it (None: no cache), and the version of each plugin it holds."""

    spec: ToolchainSpec
    path: Path
    interpreter: Interpreter
    cache_inputs: dict[str, Any] | None = field(repr=False)
    plugin_versions: dict[str, str]

    @property
    def description(self) -> str:
        return f"{self.spec.describe()} (toolchain {self.spec.key})"


def plugin_versions(found: Iterable[Distribution]) -> dict[str, str]:
    """Tutor plugin name -> the version of the distribution that provides it."""
    return {
        entry.name: dist.version
        for dist in found
        for entry in dist.entry_points
        if entry.group == PLUGIN_ENTRY_POINTS
    }


_campus_plugins: dict[str, str] | None = None


def campus_plugin_versions() -> dict[str, str]:
    """The plugins installed beside campus, read once a process."""
    global _campus_plugins
    if _campus_plugins is None:
        _campus_plugins = plugin_versions(distributions())
    return _campus_plugins


def _folder_plugins() -> frozenset[str]:
    """Single-file plugins in Tutor's plugin folder, which every toolchain's Tutor loads."""
    folder = cache.plugin_folder()
    if not folder.is_dir():
        return frozenset()
    return frozenset(p.stem for p in folder.iterdir() if p.suffix in (".py", ".yml", ".yaml"))


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _prefixed(say: ToolchainProgress, prefix: str) -> ToolchainProgress:
    return lambda line: say(prefix + line)


def release_runtimes(
    source: Path,
    selected: Sequence[Environment],
    worker_copy: Path,
    caching: bool,
    progress: ToolchainProgress | None = None,
) -> dict[str, ReleaseRuntime]:
    """Environment name -> its pinned release's runtime, for those that pin one; each
    toolchain made first if missing, all of them at once. An environment enabling a plugin
    its release does not pin is refused at its line of the fleet file (`source`)."""
    if all(e.release is None for e in selected):
        return {}  # today's path: nothing more is read
    python, installed = this_python(), version("tutor")
    specs = {
        e.name: spec
        for e in selected
        if (spec := spec_for(e.release, python, installed)) is not None
    }
    if not specs:
        return {}
    folder = _folder_plugins()
    problems: list[Finding] = []
    for environment in selected:
        spec = specs.get(environment.name)
        missing = unpinned_plugins(environment.plugins, spec, folder) if spec else []
        if missing:
            hint = ", ".join(f"release.plugins.{name}: VERSION" for name in missing)
            toolchain = spec.describe() if spec else ""
            problems.append(
                (
                    ["environments", environment.name],
                    f"enables plugin(s) {', '.join(missing)}, which its release does not pin: "
                    f"its toolchain ({toolchain}) holds only what release: names; add {hint}",
                )
            )
    if problems:
        raise locate(source, problems)
    say = progress or _to_stderr

    def ready(spec: ToolchainSpec) -> ReleaseRuntime:
        made = ensure(spec, _prefixed(say, f"toolchain {spec.describe()}: "))
        return ReleaseRuntime(
            spec=spec,
            path=made.path,
            interpreter=toolchain_interpreter(made.python, worker_copy),
            cache_inputs={**cache.toolchain(made.site_packages), "release": list(spec.pins)}
            if caching
            else None,
            plugin_versions=plugin_versions(made.distributions()),
        )

    distinct = list(dict.fromkeys(specs.values()))
    # Toolchains missing are made at once (pip waits on the index as much as on the CPU).
    with ThreadPoolExecutor(max_workers=min(len(distinct), 4)) as threads:
        runtimes = dict(zip(distinct, threads.map(ready, distinct), strict=True))
    copy_worker(worker_copy)
    return {name: runtimes[spec] for name, spec in specs.items()}
