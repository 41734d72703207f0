"""Sandbox images built for real from Debian packages (mmdebstrap, umoci, deb.debian.org).

A cold build takes a minute or two per image; later runs reuse the cached archives."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from campus.sandbox import images
from campus.sandbox.images import SANDBOX_IMAGES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("mmdebstrap") is None or shutil.which("umoci") is None,
        reason=f"building sandbox images needs mmdebstrap and umoci: {images.INSTALL_HINT}",
    ),
]


@pytest.mark.parametrize("key", ["redis", "openedx-standin"])
def test_build_names_the_image_and_is_cached(key: str) -> None:
    spec = SANDBOX_IMAGES[key]
    archive = images.build(spec, progress=print)
    assert archive.name == f"{spec.short_name}-{images.cache_key(spec)}.tar"

    index, config = images.read_archive(archive)
    (manifest,) = index["manifests"]
    assert manifest["annotations"][images.REF_NAME] == spec.reference
    assert manifest["annotations"][images.CONTAINERD_NAME] == spec.reference
    runtime = config["config"]
    assert runtime["User"] == spec.user
    assert runtime.get("Entrypoint") == (list(spec.entrypoint) or None)
    assert runtime["Labels"][images.DESCRIPTION] == spec.description
    assert any(value.startswith("PATH=") for value in runtime["Env"])

    started = time.monotonic()
    assert images.build(spec) == archive
    assert time.monotonic() - started < 1

    if shutil.which("skopeo"):
        inspected = subprocess.run(
            ["skopeo", "inspect", "--config", f"oci-archive:{archive}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert spec.user in inspected.stdout


def layer_names(archive: Path, files_only: bool = False) -> set[str]:
    """The paths in the image's only layer, read straight from the archive."""
    index, _ = images.read_archive(archive)
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> tarfile.ExFileObject:
            file = tar.extractfile("blobs/" + digest.replace(":", "/", 1))
            assert file is not None
            return file

        manifest = json.load(blob(index["manifests"][0]["digest"]))
        (layer,) = manifest["layers"]
        with tarfile.open(fileobj=blob(layer["digest"]), mode="r:gz") as rootfs:
            return {
                member.name.removeprefix("./").rstrip("/")
                for member in rootfs.getmembers()
                if member.isfile() or not files_only
            }


def test_images_hold_what_tutor_runs() -> None:
    redis = layer_names(images.build(SANDBOX_IMAGES["redis"]))
    assert "usr/bin/redis-server" in redis
    assert "openedx/redis/data" in redis
    assert "dev" in redis and "dev/null" not in redis
    # Documentation is not unpacked (dpkg keeps the copyright files and a few dangling links).
    files = layer_names(images.build(SANDBOX_IMAGES["redis"]), files_only=True)
    assert not any(name.startswith("usr/share/doc/") and "copyright" not in name for name in files)
    assert not any(name.startswith(("usr/share/man/", "usr/share/locale/")) for name in files)
    standin = layer_names(images.build(SANDBOX_IMAGES["openedx-standin"]))
    assert images.OPENEDX_STANDIN.lstrip("/") in standin
    assert "usr/bin/python3" in standin
