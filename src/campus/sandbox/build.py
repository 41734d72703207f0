"""Building the sandbox's binaries from the pinned Go tools modules, once, into a cache
keyed by what went into them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campus.errors import CampusError
from campus.sandbox.paths import cache_root
from campus.sandbox.versions import COMPONENTS, GO_MINIMUM, NODE_COMPONENTS, Component

TOOLS_DIR = Path(__file__).resolve().parents[3] / "tools"


class BuildError(CampusError):
    pass


@dataclass(frozen=True)
class Binaries:
    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name


def cache_key(tools_dir: Path = TOOLS_DIR, components: tuple[Component, ...] = COMPONENTS) -> str:
    """Changes whenever a pinned version, a go.mod/go.sum or the build flags change."""
    digest = hashlib.sha256()
    for component in components:
        digest.update(f"{component.module_dir}={component.version};".encode())
        digest.update(" ".join(component.version_flags).encode())
        if component.source_module:
            digest.update(f"{component.source_module}@{component.source_sum};".encode())
        for name in ("go.mod", "go.sum"):
            file = tools_dir / component.module_dir / name
            digest.update(file.read_bytes() if file.exists() else b"")
        for source in sorted((tools_dir / component.module_dir).glob("*.go")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def go_version(go: str) -> tuple[int, int]:
    output = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True)
    match = re.match(r"go(\d+)\.(\d+)", output.stdout.strip())
    if not match:
        raise BuildError(f"cannot read the Go version from {output.stdout.strip()!r}")
    return int(match.group(1)), int(match.group(2))


def find_go() -> str:
    go = shutil.which("go")
    wanted = ".".join(map(str, GO_MINIMUM))
    remedy = (
        f"install Go {wanted} or newer from the official release (Debian's golang package "
        "is too old) and put its bin directory on PATH"
    )
    if go is None:
        raise BuildError(f"the sandbox is built from Go modules, but `go` is not on PATH: {remedy}")
    if go_version(go) < GO_MINIMUM:
        found = ".".join(map(str, go_version(go)))
        raise BuildError(f"Go {found} is too old to build the sandbox: {remedy}")
    return go


def go_environment(cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOMODCACHE": str(cache / "go" / "mod"),
        "GOCACHE": str(cache / "go" / "build"),
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=readonly",
        "GOTOOLCHAIN": "local",
    }


def download_module(module: str, version: str, checksum: str) -> Path:
    """A pinned module's source, downloaded once into the sandbox's Go module cache and
    checked against the go.sum hash pinned for it."""
    cache = cache_root()
    result = subprocess.run(
        [find_go(), "mod", "download", "-json", f"{module}@{version}"],
        env={**go_environment(cache), "GOFLAGS": ""},
        capture_output=True,
        text=True,
        cwd=cache,
    )
    try:
        info: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        message = result.stderr.strip()
        raise BuildError(f"cannot download {module}@{version}: {message}") from None
    if result.returncode != 0 or info.get("Error"):
        raise BuildError(f"cannot download {module}@{version}: {info.get('Error')}")
    if info.get("Sum") != checksum:
        raise BuildError(f"{module}@{version} has checksum {info.get('Sum')}, pinned {checksum}")
    return Path(info["Dir"])


def _build_one(
    go: str,
    component: Component,
    binary: str,
    package: str,
    target: Path,
    cache: Path,
    progress: Callable[[str], None],
) -> None:
    started = time.monotonic()
    progress(f"building {binary} {component.version} (Go module {package})")
    flags = " ".join(("-s", "-w", *component.version_flags))
    result = subprocess.run(
        [go, "build", "-trimpath", "-ldflags", flags, "-o", str(target), package],
        cwd=_module_directory(component),
        env=go_environment(cache),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise BuildError(f"building {binary} failed:\n{tail}")
    progress(f"built {binary} in {time.monotonic() - started:.0f}s")


def _module_directory(component: Component) -> Path:
    # A module whose go.mod has replace directives is built in its own source, since a
    # module requiring it would not get them (Traefik).
    if component.source_module:
        return download_module(component.source_module, component.version, component.source_sum)
    return TOOLS_DIR / component.module_dir


def ensure_binaries(
    progress: Callable[[str], None] = lambda message: None,
    components: tuple[Component, ...] = COMPONENTS,
    prefix: str = "bin",
    what: str = "sandbox",
) -> Binaries:
    """The sandbox's binaries, built on first use; later calls find them in the cache."""
    cache = cache_root()
    directory = cache / f"{prefix}-{cache_key(components=components)}"
    wanted = [
        (component, binary, package)
        for component in components
        for binary, package in component.packages.items()
    ]
    missing = [item for item in wanted if not (directory / item[1]).exists()]
    if not missing:
        return Binaries(directory)
    go = find_go()
    progress(
        f"building {len(missing)} {what} binaries from pinned Go modules into {directory} "
        "(once; a cold build takes several minutes on 2 cores)"
    )
    staging = directory.with_name(directory.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    for component, binary, package in missing:
        _build_one(go, component, binary, package, staging / binary, cache, progress)
        directory.mkdir(parents=True, exist_ok=True)
        # Moved into place only when complete, so an interrupted build is never used.
        (staging / binary).replace(directory / binary)
    shutil.rmtree(staging, ignore_errors=True)
    return Binaries(directory)


def node_binaries_directory() -> Path:
    return cache_root() / f"node-bin-{cache_key(components=NODE_COMPONENTS)}"


def ensure_node_binaries(progress: Callable[[str], None] = lambda message: None) -> Binaries:
    """A real node's kubelet, kube-proxy, containerd and pause, built on first use."""
    return ensure_binaries(progress, NODE_COMPONENTS, "node-bin", "real-node")
