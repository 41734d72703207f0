"""What the cluster holds of campus's environments, read without a fleet file: each
environment is a namespace carrying campus's environment label (every object a deploy
applies carries it, the Namespace included), its newest revision a labelled Secret there.
So `campus status` and `history` work from a kubeconfig alone, as `helm list` does."""

from __future__ import annotations

from lightkube import Client
from lightkube.resources.core_v1 import Namespace, Secret

from campus.errors import CampusError
from campus.fleet.model import Fleet
from campus.kube.errors import ApiFailure, Forbidden
from campus.kube.listing import ALL_NAMESPACES, list_objects
from campus.kube.objects import KubeObject
from campus.labels import ENVIRONMENT, REVISION
from campus.status.model import DeployedEnvironment


class NotDiscoverable(CampusError):
    """The credentials may not list namespaces: only a fleet file can say what to show."""


def _namespaces(client: Client) -> list[KubeObject]:
    try:
        return list_objects(client, Namespace, "", {ENVIRONMENT: None}, metadata_only=True)
    except Forbidden as error:
        raise NotDiscoverable(
            f"these credentials may not list namespaces ({error.reason}), so campus cannot "
            "find the fleet's environments: name the fleet file with -f"
        ) from None
    except ApiFailure as error:
        raise error.saying(f"cannot list namespaces: {error.reason}") from None


def _newest_revisions(client: Client) -> dict[tuple[str, str], int]:
    """(namespace, environment) -> newest revision number; empty when the credentials may
    not read Secrets cluster-wide (a read-only identity: revisions sit beside passwords)."""
    try:
        secrets = list_objects(client, Secret, ALL_NAMESPACES, {REVISION: None}, True)
    except Forbidden:
        return {}
    except ApiFailure as error:
        raise error.saying(f"cannot list revisions: {error.reason}") from None
    newest: dict[tuple[str, str], int] = {}
    for secret in secrets:
        metadata = secret["metadata"]
        labels = metadata.get("labels") or {}
        if ENVIRONMENT not in labels or not str(labels[REVISION]).isdigit():
            continue
        key = (metadata.get("namespace", ""), labels[ENVIRONMENT])
        newest[key] = max(newest.get(key, 0), int(labels[REVISION]))
    return newest


def deployed_environments(client: Client, revisions: bool = True) -> list[DeployedEnvironment]:
    """Every environment campus deployed to the cluster, by name, with its newest revision
    unless `revisions` is false (one request less: the status reads them anyway). Raises
    NotDiscoverable when the credentials may not list namespaces."""
    namespaces = _namespaces(client)
    newest = _newest_revisions(client) if revisions else {}
    found = []
    for namespace in namespaces:
        name = namespace["metadata"]["name"]
        environment = (namespace["metadata"].get("labels") or {})[ENVIRONMENT]
        found.append(DeployedEnvironment(environment, name, newest.get((name, environment))))
    return sorted(found, key=lambda d: d.name)


def locate(client: Client, fleet: Fleet | None, name: str, where: str) -> tuple[str, str]:
    """The environment `name` and its namespace: the fleet file's when there is one, else
    the deployed one of that name, or an error listing those the cluster holds (`where`
    names the cluster)."""
    if fleet is not None:
        environment = fleet.environment(name)
        return environment.name, environment.namespace
    deployed = deployed_environments(client, revisions=False)
    for found in deployed:
        if found.name == name:
            return found.name, found.namespace
    known = ", ".join(d.name for d in deployed) or "none"
    raise CampusError(f"no environment {name} in the cluster ({where}); deployed: {known}")
