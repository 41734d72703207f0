"""A deploy's copy of the backup store's Secret into the environment's namespace
(`campus.backup.store` says why a copy): the source read before anything of the
environment changes, so a missing or incomplete one stops the deploy at once; the copy
applied only when it differs, and deleted when the environment no longer backs up."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lightkube import Client
from lightkube.resources.core_v1 import Secret

from campus.backup.schedule import STORE_SECRET
from campus.backup.store import StoreSecretRefused, backs_up, copy_needed, store_copy
from campus.deploy.model import DeployRequest
from campus.kube.apply import apply_object, delete_object
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject, ObjectKey


def wanted_copy(client: Client, request: DeployRequest) -> KubeObject | None:
    """The copy this deploy keeps in the namespace; None when its objects hold no backup
    CronJob, or no source is named (a rollback whose fleet entry dropped backups)."""
    if not request.backup_store or not backs_up(request.objects):
        return None
    namespace, _, name = request.backup_store.partition("/")
    try:
        source = client.get(Secret, name, namespace=namespace)
    except NotFound:
        raise StoreSecretRefused(
            f"backups of {request.environment}: no Secret {name} in namespace {namespace} "
            "(backup.store.secret): create it with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
            "and RESTIC_PASSWORD (docs/backups.md)"
        ) from None
    except ApiFailure as error:
        raise error.saying(
            f"backups of {request.environment}: cannot read Secret {request.backup_store}: "
            f"{error.reason} (`campus access apply` lets the deployer read it)"
        ) from None
    return store_copy(request.backup_store, source.data, request.namespace, request.environment)


def keep_copy(
    client: Client,
    request: DeployRequest,
    wanted: KubeObject | None,
    existing: Mapping[ObjectKey, KubeObject],
    say: Callable[[str, str], None],
    prune: bool = True,
) -> None:
    key = ObjectKey("v1", "Secret", request.namespace, STORE_SECRET)
    live = existing.get(key)
    if wanted is not None:
        if copy_needed(wanted, live):
            say("configuration", f"copying the backup store's Secret {request.backup_store}")
            apply_object(client, wanted, before=live)
    elif live is not None and prune and not backs_up(request.objects):
        say("configuration", f"deleting {key}: the environment no longer backs up")
        delete_object(client, key)
