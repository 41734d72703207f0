"""Writing manifests: one folder per environment, or one YAML stream."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

from campus.kube.objects import KubeObject
from campus.plain_yaml import dump_all


def write_stream(objects: list[KubeObject], stream: TextIO = sys.stdout) -> None:
    dump_all(objects, stream)


def write_environment(directory: Path, objects: list[KubeObject], jobs: list[KubeObject]) -> None:
    """`<dir>/<kind>.yml` per kind and `init-jobs.yml`, readable only by the owner:
    the Secrets are in there."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    by_kind: dict[str, list[Any]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    if jobs:
        by_kind["init-jobs"] = jobs
    for kind, items in by_kind.items():
        path = directory / f"{kind.lower()}.yml"
        with path.open("w") as stream:
            dump_all(items, stream)
        path.chmod(0o600)


def write_private_document(document: KubeObject, path: Path | None) -> None:
    """One YAML document (a kubeconfig holding a token) to stdout, or to a file created
    readable only by its owner."""
    if path is None:
        dump_all([document], sys.stdout)
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    path.chmod(0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w") as stream:
        dump_all([document], stream)
