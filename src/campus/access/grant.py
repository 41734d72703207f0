"""Applying the fleet's RBAC, and a kubeconfig for one of its identities."""

from __future__ import annotations

from datetime import datetime

from lightkube import Client
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from campus.access.model import ACCESS_NAMESPACE, identities, rbac_objects
from campus.errors import CampusError
from campus.fleet.model import Fleet
from campus.kube.apply import apply_object
from campus.kube.errors import ApiFailure, Conflict, NotFound
from campus.kube.identity import token_kubeconfig
from campus.kube.objects import KubeObject, key_of


def apply_access(client: Client, fleet: Fleet) -> list[str]:
    """Apply every identity and binding; create the fleet's namespaces that do not exist
    yet (the deployer may patch them, not create them). What was applied, by key."""
    done = []
    for namespace in sorted({e.namespace for e in fleet.environments}):
        try:
            client.create(Namespace(metadata=ObjectMeta(name=namespace)))
            done.append(f"v1/Namespace {namespace} (created)")
        except Conflict:
            pass  # exists: a deploy owns its labels
        except ApiFailure as error:
            raise error.saying(f"cannot create namespace {namespace}: {error.reason}") from None
    for obj in rbac_objects(fleet):
        apply_object(client, obj)
        done.append(str(key_of(obj)))
    return done


def kubeconfig_for_identity(
    client: Client, fleet: Fleet, name: str, seconds: int
) -> tuple[KubeObject, datetime | None]:
    """A kubeconfig for identity `name`: a ServiceAccount token that expires after
    `seconds` (the API server may shorten it), and when it expires."""
    known = [identity.name for identity in identities(fleet)]
    if name not in known:
        raise CampusError(f"no identity {name!r}; the fleet's are: {', '.join(known)}")
    request = ServiceAccount.Token(
        metadata=ObjectMeta(name=name, namespace=ACCESS_NAMESPACE),
        spec=TokenRequestSpec(audiences=[], expirationSeconds=seconds),
    )
    try:
        answer = client.create(request, name=name, namespace=ACCESS_NAMESPACE)
    except NotFound:
        raise CampusError(
            f"ServiceAccount {name} does not exist in {ACCESS_NAMESPACE}: run `campus access apply`"
        ) from None
    except ApiFailure as error:
        raise error.saying(f"cannot get a token for {name}: {error.reason}") from None
    status = answer.status
    if status is None or not status.token:
        raise CampusError(f"the API server returned no token for {name}")
    context = fleet.cluster.context or name
    return token_kubeconfig(client, context, name, status.token), status.expirationTimestamp
