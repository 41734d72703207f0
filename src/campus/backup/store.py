"""The store's Secret as a deploy copies it into an environment's namespace. Pure.

`backup.store.secret` names a Secret outside every environment's namespace: it holds the
encryption key of the environment's snapshots, which must outlive the namespace (a
destroyed or lost namespace is what a backup is for). The backup pods read a copy of the
keys they need, `campus-backup-store` beside them, made at every deploy from the source's
`data` (its values base64-encoded, copied as they are).
"""

from __future__ import annotations

from collections.abc import Mapping

from campus.backup.schedule import COMPONENT_VALUE, CRONJOB, STORE_SECRET
from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.labels import COMPONENT, ENVIRONMENT, MANAGED_BY, NAME

REQUIRED_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD")
OPTIONAL_KEYS = ("AWS_DEFAULT_REGION",)
# On the copy: which Secret it was copied from.
COPIED_FROM = "campus.openedx.org/copied-from"


class StoreSecretRefused(CampusError):
    """The store's Secret cannot be copied: missing, unreadable or lacking a key."""


def store_copy(
    source: str, data: Mapping[str, str] | None, namespace: str, environment: str
) -> KubeObject:
    """The copy of Secret `source` (NAMESPACE/NAME, its `data`) for the environment's
    backup pods: the keys restic needs, nothing else of it."""
    given = dict(data or {})
    lacking = [key for key in REQUIRED_KEYS if not given.get(key)]
    if lacking:
        raise StoreSecretRefused(
            f"backups of {environment}: the store's Secret {source} lacks "
            f"{', '.join(lacking)} (it needs {', '.join(REQUIRED_KEYS)})"
        )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": STORE_SECRET,
            "namespace": namespace,
            "labels": {
                NAME: CRONJOB,
                COMPONENT: COMPONENT_VALUE,
                MANAGED_BY: "campus",
                ENVIRONMENT: environment,
            },
            "annotations": {COPIED_FROM: source},
        },
        "data": {key: given[key] for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if key in given},
    }


def copy_needed(wanted: KubeObject, live: KubeObject | None) -> bool:
    """Whether the live copy differs from the source's keys (or is missing)."""
    if live is None:
        return True
    metadata = live.get("metadata") or {}
    return (
        live.get("data") != wanted["data"]
        or (metadata.get("annotations") or {}).get(COPIED_FROM)
        != wanted["metadata"]["annotations"][COPIED_FROM]
        or any(
            (metadata.get("labels") or {}).get(key) != value
            for key, value in wanted["metadata"]["labels"].items()
        )
    )


def backs_up(objects: list[KubeObject]) -> bool:
    """The objects hold the backup CronJob, whose pods read the copy."""
    return any(o["kind"] == "CronJob" and o["metadata"]["name"] == CRONJOB for o in objects)
