"""Reading and writing an environment's revisions (see `campus.deploy.revisions`)."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime

from lightkube import Client
from lightkube.resources.core_v1 import Secret

from campus import __version__
from campus.deploy.revisions import (
    DEFAULT_KEEP,
    Revision,
    decode,
    encode,
    secret_name,
    to_expire,
)
from campus.kube.apply import apply_object
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject
from campus.labels import ENVIRONMENT as ENVIRONMENT_LABEL
from campus.labels import REVISION as REVISION_LABEL

__all__ = ["DEFAULT_KEEP", "list_revisions", "record"]


def list_revisions(client: Client, namespace: str, environment: str) -> list[Revision]:
    """Oldest first."""
    try:
        secrets = client.list(
            Secret,
            namespace=namespace,
            labels={ENVIRONMENT_LABEL: environment, REVISION_LABEL: None},
        )
        revisions = [decode(secret.to_dict()) for secret in secrets]
    except NotFound:
        return []
    except ApiFailure as error:
        raise error.saying(f"cannot read revisions in {namespace}: {error.reason}") from None
    return sorted(revisions, key=lambda revision: revision.number)


def record(
    client: Client,
    namespace: str,
    environment: str,
    objects: list[KubeObject],
    init_jobs: list[KubeObject],
    *,
    manifest_digest: str,
    tutor_version: str,
    fleet_hash: str,
    plugin_versions: dict[str, str] | None = None,
    previous: list[Revision],
    keep: int = DEFAULT_KEEP,
) -> Revision:
    number = (previous[-1].number + 1) if previous else 1
    revision = Revision(
        number=number,
        environment=environment,
        digest=manifest_digest,
        campus_version=__version__,
        tutor_version=tutor_version,
        fleet_hash=fleet_hash,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        deployed_by=f"{getpass.getuser()}@{socket.gethostname()}",
        objects=tuple(objects),
        init_jobs=tuple(init_jobs),
        plugin_versions=dict(plugin_versions or {}),
    )
    apply_object(client, encode(revision, namespace))
    for old in to_expire([r.number for r in previous] + [number], keep):
        try:
            client.delete(Secret, secret_name(environment, old), namespace=namespace)
        except NotFound:
            pass  # already gone
        except ApiFailure as error:
            raise error.saying(f"cannot expire revision {old}: {error.reason}") from None
    return revision
