"""Toolchains on disk: one virtual environment per key under the user's cache folder
(`CAMPUS_TOOLCHAINS`, else `$XDG_CACHE_HOME/campus/toolchains`, else
`~/.cache/campus/toolchains`).

A toolchain is made once, from the package index, and never changed: built in a hidden
folder beside the others, then published by renaming a link named after its key onto it, so
a key always names a complete toolchain and a half-built one is never used. A file lock per
key lets one process build it while another waits, then uses it. Using an existing toolchain
runs no installer and touches no network.
"""

from __future__ import annotations

import collections
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import Distribution, distributions
from pathlib import Path

from campus.errors import CampusError
from campus.file_lock import locked
from campus.toolchain.spec import ToolchainSpec, python_tag

ROOT_ENV = "CAMPUS_TOOLCHAINS"
MANIFEST = "campus-toolchain.json"
# What pip says when it cannot reach the index at all (rather than not finding a release).
_UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeoutError",
    "Connection refused",
    "Network is unreachable",
    "No route to host",
    "ProxyError",
    "Max retries exceeded",
)

# pip's "Could not find a version that satisfies the requirement X (from versions: ...)":
# "none" for Tutor itself means no index answered (every index has Tutor).
_NOT_FOUND = re.compile(r"satisfies the requirement (\S+) \(from versions: ([^)]*)\)")

Progress = Callable[[str], None]


class ToolchainError(CampusError):
    pass


def root() -> Path:
    configured = os.environ.get(ROOT_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "campus" / "toolchains"


def this_python() -> str:
    """The tag of the Python campus runs on, which every toolchain it makes runs on too."""
    return python_tag(sys.implementation.name, sys.version_info[:2], platform.machine())


@dataclass(frozen=True)
class Toolchain:
    spec: ToolchainSpec
    path: Path
    created: bool = False  # made by this call (else found ready)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        major, minor = sys.version_info[:2]
        return self.path / "lib" / f"python{major}.{minor}" / "site-packages"

    def distributions(self) -> list[Distribution]:
        return list(distributions(path=[str(self.site_packages)]))


def find(spec: ToolchainSpec, where: Path | None = None) -> Toolchain | None:
    """The ready toolchain for `spec`, if one was made."""
    path = (where or root()) / spec.key
    return Toolchain(spec, path) if (path / MANIFEST).is_file() else None


def ensure(spec: ToolchainSpec, progress: Progress, where: Path | None = None) -> Toolchain:
    """The toolchain for `spec`: the ready one, else made now (see the module's docstring).
    `progress` is told what is being installed."""
    folder = where or root()
    ready = find(spec, folder)
    if ready is not None:
        return ready
    folder.mkdir(parents=True, exist_ok=True)
    with locked(
        folder / f".{spec.key}.lock",
        lambda: progress("waiting for another campus process making this toolchain"),
    ):
        ready = find(spec, folder)  # made while this process waited
        if ready is not None:
            return ready
        link = folder / spec.key
        if link.is_symlink():
            link.unlink()  # pointing at a build that is gone
        for leftover in folder.glob(f".{spec.key}.d-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a build killed midway
        # Built where it stays (a virtual environment's scripts name their own path), then
        # published by renaming a link to it over the toolchain's name.
        building = Path(tempfile.mkdtemp(prefix=f".{spec.key}.d-", dir=folder))
        try:
            _build(spec, building, progress)
            staged = folder / f".{spec.key}.link-{building.name}"
            staged.symlink_to(building.name)
            staged.replace(link)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    progress(f"ready in {link}")
    return Toolchain(spec, link, created=True)


def _build(spec: ToolchainSpec, target: Path, progress: Progress) -> None:
    progress(f"creating a virtual environment for {spec.describe()}")
    made = subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(target)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise ToolchainError(
            f"cannot create a virtual environment in {target}: {made.stderr.strip()[-500:]}"
        )
    _install(spec, target / "bin" / "python", progress)
    manifest = {
        "pins": list(spec.pins),
        "python": spec.python,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _install(spec: ToolchainSpec, python: Path, progress: Progress) -> None:
    command = [
        str(python),
        *("-m", "pip", "install", "--no-input", "--progress-bar", "off"),
        "--disable-pip-version-check",
        *spec.pins,
    ]
    progress(f"installing {' '.join(spec.pins)} from the package index")
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as pip:
        assert pip.stdout is not None
        for line in pip.stdout:
            tail.append(line.rstrip())
            if line.startswith(("Collecting ", "Installing collected packages")):
                progress(line.strip())
    if pip.returncode == 0:
        return
    said = "\n".join(tail)
    pins = " ".join(spec.pins)
    missing = {m.group(1): m.group(2) for m in _NOT_FOUND.finditer(said)}
    tutor_pin = spec.pins[0]
    if any(marker in said for marker in _UNREACHABLE) or missing.get(tutor_pin) == "none":
        raise ToolchainError(
            f"no package index reachable: cannot install the toolchain {pins} "
            "(it is made once, on first use; toolchains already made work offline). "
            "Connect to the index, or point pip at a mirror (PIP_INDEX_URL), and run again."
        )
    unknown = [pin for pin, versions in missing.items() if versions == "none"]
    if unknown:
        raise ToolchainError(
            f"the package index has no distribution {', '.join(unknown)} (toolchain {pins}): "
            "check the plugin's name under release.plugins"
        )
    lines = [line for line in tail if "ERROR" in line] or list(tail)[-5:]
    raise ToolchainError(f"cannot install the toolchain {pins}:\n" + "\n".join(lines))


@dataclass(frozen=True)
class Stored:
    """A toolchain on disk: its key, what its manifest says and the bytes it takes."""

    key: str
    path: Path
    pins: tuple[str, ...]
    python: str
    created: str
    size: int


def _size(folder: Path) -> int:
    return sum(f.lstat().st_size for f in folder.rglob("*") if not f.is_symlink())


def stored(where: Path | None = None) -> list[Stored]:
    """Every complete toolchain of the store (a half-built one has no published link)."""
    folder = where or root()
    found = []
    for link in sorted(folder.glob(f"{ToolchainSpec.KEY_PREFIX}*")):
        manifest = link / MANIFEST
        if not manifest.is_file():
            continue
        data = json.loads(manifest.read_text())
        target = link.resolve()
        found.append(
            Stored(
                link.name,
                link,
                tuple(data.get("pins", ())),
                str(data.get("python", "")),
                str(data.get("created", "")),
                _size(target),
            )
        )
    return found


def remove(key: str, where: Path | None = None) -> None:
    """Delete one toolchain, under its key's lock so that no campus process is making it
    meanwhile; the link goes first, so no later look-up finds a toolchain half deleted."""
    folder = where or root()
    with locked(folder / f".{key}.lock", lambda: None):
        link = folder / key
        target = link.resolve() if link.is_symlink() else link
        if link.is_symlink():
            link.unlink()
        shutil.rmtree(target, ignore_errors=True)
