"""Importing OCI image archives (`campus.sandbox.images`) into a real node's containerd.

The sandbox has no registry to pull from: pods on a real node name images already in
its containerd, with `imagePullPolicy: Never`, so nothing tries a registry.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from campus.sandbox.images import ImageError

CONTAINERD_NAMESPACE = "k8s.io"  # where the kubelet's CRI looks for images


def import_archive(ctr: Path, socket: Path, archive: Path) -> None:
    """Import `archive` into the containerd listening on `socket`, under the name its
    index gives (`io.containerd.image.name`)."""
    result = subprocess.run(
        [
            str(ctr),
            "--address",
            str(socket),
            "--namespace",
            CONTAINERD_NAMESPACE,
            "images",
            "import",
            "--local",
            str(archive),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ImageError(f"importing {archive.name} into {socket} failed: {result.stderr.strip()}")
