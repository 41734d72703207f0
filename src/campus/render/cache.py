"""Rendered environments cached by content, so that an unchanged environment skips Tutor.

The key is a digest of everything a render reads: the environment's resolved fleet entry,
the Tutor state it is rendered from (the project's `config.yml`, secrets included, and the
copy `settle` chose), the installed distributions (Tutor, its plugins and their
dependencies, by name and version: beside campus, or in the toolchain of the release the
environment pins), Tutor's plugin folder and `TUTOR_*` settings, the
Python version, and campus's version with the source of the code that renders. Any change
of one gives another key and Tutor runs again; nothing is invalidated by time.

An entry holds what Tutor produced and the built objects, secrets included, so it lives in
the environment's own folder under the state folder (0700), written 0600 like `config.yml`.
One entry per environment: a render with another key replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import campus
from campus.render.state import CONFIG_FILE, write_private

CACHE_ENV = "CAMPUS_RENDER_CACHE"  # "off": always render through Tutor
ENTRY_FILE = "rendered.json"
FORMAT = 1
# The modules whose code decides what a render produces (the worker, the settings campus
# gives Tutor, the kustomize build) and what they import from campus.
_RENDER_MODULES = ("render", "state/model.py", "labels.py", "kube/objects.py")


def enabled() -> bool:
    return os.environ.get(CACHE_ENV, "").lower() not in ("off", "0", "false", "no")


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _code_digest() -> str:
    package = Path(campus.__file__).parent
    digest = hashlib.sha256(campus.__version__.encode())
    for module in _RENDER_MODULES:
        target = package / module
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            digest.update(f"{path.relative_to(package)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def plugin_folder() -> Path:
    """Tutor's folder of single-file plugins (`TUTOR_PLUGINS_ROOT`, else its user data folder)."""
    configured = os.environ.get("TUTOR_PLUGINS_ROOT")
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "tutor-plugins"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "tutor-plugins"


def toolchain(site_packages: Path | None = None) -> dict[str, Any]:
    """What this machine renders with: read once a run, for the Python campus runs on, or
    for a pinned release's toolchain (`site_packages`: the distributions it holds)."""
    found = distributions(path=[str(site_packages)]) if site_packages else distributions()
    installed = sorted({f"{d.metadata['Name']}=={d.version}" for d in found if d.metadata["Name"]})
    folder = plugin_folder()
    plugin_files = (
        {
            str(path.relative_to(folder)): _file_digest(path)
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        if folder.is_dir()
        else {}
    )
    return {
        "format": FORMAT,
        "python": sys.version,
        "distributions": installed,
        "pluginFolder": plugin_files,
        "tutorEnvironment": {
            k: v
            for k, v in sorted(os.environ.items())
            if k.startswith("TUTOR_") and k != "TUTOR_ROOT"
        },
        "campus": _code_digest(),
    }


def key(toolchain: dict[str, Any], request: dict[str, Any], root: Path) -> str:
    """The digest of a render's inputs: the toolchain, the worker's request (fleet entry,
    plugins, settings, the settled state) and the project's `config.yml` as it stands."""
    inputs = {
        "toolchain": toolchain,
        "request": {k: v for k, v in request.items() if k != "root"},
        "config": _file_digest(root / CONFIG_FILE),
    }
    text = json.dumps(inputs, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def load(root: Path, wanted: str) -> dict[str, Any] | None:
    """The cached render under `wanted`, or None (no entry, another key, unreadable)."""
    try:
        entry = json.loads((root / ENTRY_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != wanted:
        return None
    payload = entry.get("payload")
    return payload if isinstance(payload, dict) else None


def store(root: Path, entry_key: str, payload: dict[str, Any]) -> bool:
    """Keep `payload` under `entry_key` (0600) if it survives JSON unchanged: a value JSON
    would alter (a date, a non-string key) is never cached, so a hit is always exact."""
    text = json.dumps({"key": entry_key, "payload": payload}, separators=(",", ":"))
    if json.loads(text)["payload"] != payload:
        return False
    write_private(root / ENTRY_FILE, text.encode())
    return True
