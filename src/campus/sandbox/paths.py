"""Where the sandbox keeps its build cache and each cluster's state."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_NAME = "campus"  # the sandbox `campus sandbox up` starts unless told another name


def cache_root() -> Path:
    """Go module and build caches and built binaries: shared by every sandbox, kept across
    runs (a warm start rebuilds nothing)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "campus"


def state_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "campus" / "sandboxes"


def state_dir(name: str) -> Path:
    return state_root() / name


def kubeconfig_path(name: str) -> Path:
    """The sandbox's own kubeconfig; campus never edits ~/.kube/config."""
    return state_dir(name) / "kubeconfig"
