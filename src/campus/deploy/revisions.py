"""Deploy history: each successful deploy is one numbered revision, kept in the
environment's namespace as a Secret (the manifest holds the environment's Secrets too).

Encoding and decoding are pure; reading and writing them is `campus.deploy.history`.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from dataclasses import dataclass
from typing import Any

from campus.kube.objects import KubeObject, ObjectKey, key_of
from campus.labels import ENVIRONMENT, MANAGED_BY, REVISION, REVISION_PREFIX

REVISION_TYPE = "campus.openedx.org/revision"  # the Secret's type
DEFAULT_KEEP = 10

_METADATA_FIELDS = (
    "digest",
    "campus-version",
    "tutor-version",
    "fleet-hash",
    "deployed-at",
    "deployed-by",
    "plugin-versions",
)


def format_plugins(versions: dict[str, str]) -> str:
    """`forum=21.0.0,mfe=21.0.2`: the plugins a revision rendered with, as one annotation."""
    return ",".join(f"{name}={version}" for name, version in sorted(versions.items()))


def parse_plugins(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in text.split(",") if item)
    return {name: version for name, _, version in pairs}


def describe_release(tutor_version: str, plugins: dict[str, str]) -> str:
    """`tutor 21.0.9, mfe 21.0.2`, or "" when nothing is known (a revision from before
    campus recorded it)."""
    if not tutor_version:
        return ""
    return ", ".join([f"tutor {tutor_version}", *(f"{n} {v}" for n, v in sorted(plugins.items()))])


@dataclass(frozen=True)
class Revision:
    """One recorded deploy: what was applied, and enough about it to audit or roll back."""

    number: int
    environment: str
    digest: str
    campus_version: str
    tutor_version: str
    fleet_hash: str
    deployed_at: str
    deployed_by: str
    objects: tuple[KubeObject, ...]
    init_jobs: tuple[KubeObject, ...]
    # Plugin name -> the version its distribution had in the render (with tutor_version,
    # the release the revision ran).
    plugin_versions: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def release(self) -> str:
        return describe_release(self.tutor_version, self.plugin_versions)

    @property
    def keys(self) -> frozenset[ObjectKey]:
        return frozenset(key_of(obj) for obj in (*self.objects, *self.init_jobs))


def secret_name(environment: str, number: int) -> str:
    return f"campus-revision-{environment}-{number}"


def encode(revision: Revision, namespace: str) -> KubeObject:
    """The Secret that stores a revision; the manifest is gzipped JSON to stay far below
    the 1 MiB object limit (a full Open edX environment is a few hundred KiB of YAML)."""
    manifest = {"objects": list(revision.objects), "initJobs": list(revision.init_jobs)}
    payload = gzip.compress(json.dumps(manifest, sort_keys=True).encode(), mtime=0)
    values = (
        revision.digest,
        revision.campus_version,
        revision.tutor_version,
        revision.fleet_hash,
        revision.deployed_at,
        revision.deployed_by,
        format_plugins(revision.plugin_versions),
    )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": REVISION_TYPE,
        "metadata": {
            "name": secret_name(revision.environment, revision.number),
            "namespace": namespace,
            "labels": {
                MANAGED_BY: "campus",
                ENVIRONMENT: revision.environment,
                REVISION: str(revision.number),
            },
            "annotations": {
                REVISION_PREFIX + field: value
                for field, value in zip(_METADATA_FIELDS, values, strict=True)
            },
        },
        "data": {"manifest.json.gz": base64.b64encode(payload).decode()},
    }


def decode(secret: KubeObject) -> Revision:
    metadata = secret["metadata"]
    annotations: dict[str, str] = metadata.get("annotations") or {}
    field = {name: annotations.get(REVISION_PREFIX + name, "") for name in _METADATA_FIELDS}
    manifest: dict[str, Any] = json.loads(
        gzip.decompress(base64.b64decode(secret["data"]["manifest.json.gz"]))
    )
    return Revision(
        number=int(metadata["labels"][REVISION]),
        environment=metadata["labels"][ENVIRONMENT],
        digest=field["digest"],
        campus_version=field["campus-version"],
        tutor_version=field["tutor-version"],
        fleet_hash=field["fleet-hash"],
        deployed_at=field["deployed-at"],
        deployed_by=field["deployed-by"],
        objects=tuple(manifest["objects"]),
        init_jobs=tuple(manifest["initJobs"]),
        plugin_versions=parse_plugins(field["plugin-versions"]),
    )


def to_expire(numbers: list[int], keep: int = DEFAULT_KEEP) -> list[int]:
    """Revision numbers beyond the newest `keep`."""
    return sorted(numbers)[:-keep] if len(numbers) > keep else []
