"""OCI image archives made with umoci, and their import into a real node's containerd.

The sandbox has no registry to pull from: every image a real node runs is built here,
into an archive cached by its content, and imported into the node's containerd under
the name pods ask for (with `imagePullPolicy: Never`, so nothing tries a registry).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from campus.errors import CampusError
from campus.sandbox.paths import cache_root

CONTAINERD_NAMESPACE = "k8s.io"  # where the kubelet's CRI looks for images


class ImageError(CampusError):
    pass


def _run(args: list[str], what: str) -> None:
    if shutil.which(args[0]) is None and not Path(args[0]).exists():
        raise ImageError(f"{args[0]} is not installed: apt-get install umoci ({what})")
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise ImageError(f"{what} failed: {' '.join(args[:3])} ...\n{tail}")


def split_reference(reference: str) -> tuple[str, str]:
    """`name:tag` as (name, tag); the tag is after the last colon that follows a slash."""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        raise ImageError(f"image reference {reference!r} has no tag")
    return name, tag


def archive_from_layer(layer: Path, reference: str, config: list[str], target: Path) -> Path:
    """An OCI archive at `target` of one layer (an uncompressed tar of the root
    filesystem), configured by umoci `config` flags; built beside it and moved into
    place whole, so that an interrupted build is never used."""
    _, tag = split_reference(reference)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        layout = Path(work) / "layout"
        image = f"{layout}:{tag}"
        _run(["umoci", "init", "--layout", str(layout)], "creating an image layout")
        _run(["umoci", "new", "--image", image], "creating an image")
        _run(["umoci", "raw", "add-layer", "--image", image, str(layer)], "adding the layer")
        _run(["umoci", "config", "--image", image, *config], "configuring the image")
        _run(["umoci", "gc", "--layout", str(layout)], "dropping the unused blobs")
        partial = Path(work) / "image.tar"
        with tarfile.open(partial, "w") as archive:
            for entry in sorted(layout.iterdir()):
                archive.add(entry, arcname=entry.name)
        partial.replace(target)
    return target


def scratch_archive(binary: Path, reference: str, entrypoint: list[str]) -> Path:
    """An image of one static binary at /<its name> and nothing else, cached by the
    binary's content."""
    digest = hashlib.sha256(binary.read_bytes())
    digest.update(f"{reference}|{entrypoint}".encode())
    name, _ = split_reference(reference)
    target = cache_root() / "images" / f"{name.rsplit('/', 1)[-1]}-{digest.hexdigest()[:16]}.tar"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        layer = Path(work) / "layer.tar"
        with tarfile.open(layer, "w") as archive:
            info = archive.gettarinfo(binary, arcname=binary.name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755
            with binary.open("rb") as stream:
                archive.addfile(info, stream)
        config = [f"--config.entrypoint={part}" for part in entrypoint]
        return archive_from_layer(
            layer, reference, [*config, "--os=linux", "--architecture=amd64"], target
        )


def import_archive(ctr: Path, socket: Path, archive: Path, reference: str) -> None:
    """Import `archive` into the containerd listening on `socket` as `reference` (the
    archive's index names only the tag)."""
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
            "--base-name",
            split_reference(reference)[0],
            str(archive),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ImageError(f"importing {archive.name} into {socket} failed: {result.stderr.strip()}")
