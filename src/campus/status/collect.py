"""Reading what the status view needs from the API server.

One list call per kind across the cluster (as `kubectl get -A` does), then grouped by
namespace: six requests whatever the fleet's size. Where the credentials may only read
the fleet's own namespaces, each namespace is read on its own, in parallel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import Pod, Secret

from campus.backup.schedule import CRONJOB
from campus.deploy.revisions import describe_release, parse_plugins
from campus.kube.connect import fresh_client
from campus.kube.errors import ApiFailure, Forbidden, NotFound
from campus.kube.listing import ALL_NAMESPACES, collector_paused, list_objects
from campus.kube.objects import KubeObject
from campus.labels import DEPLOYED_AT, NAME, PLUGIN_VERSIONS, TUTOR_VERSION
from campus.labels import ENVIRONMENT as ENVIRONMENT_LABEL
from campus.labels import REVISION as REVISION_LABEL
from campus.status.model import EnvironmentStatus, KnownEnvironment, summarise


class Located(Protocol):
    """What the status reads of an environment: its name and namespace (a fleet file's
    `Environment`, or a `KnownEnvironment`)."""

    @property
    def name(self) -> str: ...

    @property
    def namespace(self) -> str: ...


class _Kind(NamedTuple):
    resource: Any
    labels: dict[str, Any] | None = None
    # Only labels and annotations are read: a revision's body is its gzipped manifest.
    metadata_only: bool = False


_KINDS = {
    "deployments": _Kind(Deployment),
    "pods": _Kind(Pod),
    "hpas": _Kind(HorizontalPodAutoscaler),
    "jobs": _Kind(Job),
    "revisions": _Kind(Secret, {REVISION_LABEL: None}, metadata_only=True),
    "cronjobs": _Kind(CronJob, {NAME: CRONJOB}),  # the backups' (docs/backups.md)
}


class _NotAllowed(Exception):
    """Cluster-wide reading is forbidden to these credentials."""


def _list(client: Client, kind: _Kind, namespace: str) -> list[KubeObject]:
    resource = kind.resource
    try:
        return list_objects(client, resource, namespace, kind.labels, kind.metadata_only)
    except NotFound:
        return []
    except ApiFailure as error:
        if isinstance(error, Forbidden) and namespace == ALL_NAMESPACES:
            raise _NotAllowed from None
        where = "all namespaces" if namespace == ALL_NAMESPACES else namespace
        raise error.saying(f"cannot read {resource.__name__}s in {where}: {error.reason}") from None


def _newest_revision(secrets: Iterable[KubeObject], environment: str) -> KubeObject | None:
    own = [
        s
        for s in secrets
        if (s["metadata"].get("labels") or {}).get(ENVIRONMENT_LABEL) == environment
    ]
    return max(own, key=lambda s: int(s["metadata"]["labels"][REVISION_LABEL]), default=None)


def _revision(newest: KubeObject | None) -> tuple[int, str] | None:
    if newest is None:
        return None
    deployed_at = (newest["metadata"].get("annotations") or {}).get(DEPLOYED_AT, "")
    return int(newest["metadata"]["labels"][REVISION_LABEL]), deployed_at


def _release(newest: KubeObject | None) -> str:
    annotations = (newest or {}).get("metadata", {}).get("annotations") or {}
    plugins = parse_plugins(annotations.get(PLUGIN_VERSIONS, ""))
    return describe_release(annotations.get(TUTOR_VERSION, ""), plugins)


def _summary(environment: Located, objects: dict[str, list[KubeObject]]) -> EnvironmentStatus:
    newest = _newest_revision(objects["revisions"], environment.name)
    return summarise(
        environment.name,
        environment.namespace,
        deployments=objects["deployments"],
        pods=objects["pods"],
        hpas=objects["hpas"],
        jobs=objects["jobs"],
        revision=_revision(newest),
        release=_release(newest),
        cronjobs=objects["cronjobs"],
    )


def environment_status(client: Client, environment: Located) -> EnvironmentStatus:
    """One environment, from its own namespace only. Credentials that may not read
    Secrets (a read-only identity: they hold passwords) leave the revision unknown."""
    objects = {}
    for kind, how in _KINDS.items():
        try:
            objects[kind] = _list(client, how, environment.namespace)
        except Forbidden:
            if kind not in ("revisions", "cronjobs"):  # what the status can do without
                raise
            objects[kind] = []
    return _summary(environment, objects)


def _cluster_wide(client: Client, environments: Sequence[Located]) -> list[EnvironmentStatus]:
    wanted = {e.namespace for e in environments}

    def read(kind: str) -> tuple[str, list[KubeObject]]:
        found = _list(fresh_client(client), _KINDS[kind], ALL_NAMESPACES)
        return kind, [o for o in found if o["metadata"].get("namespace") in wanted]

    with ThreadPoolExecutor(max_workers=len(_KINDS)) as pool:
        lists = dict(pool.map(read, _KINDS))
    by_namespace: dict[str, dict[str, list[KubeObject]]] = defaultdict(
        lambda: {kind: [] for kind in _KINDS}
    )
    for kind, objects in lists.items():
        for obj in objects:
            by_namespace[obj["metadata"]["namespace"]][kind].append(obj)
    return [_summary(e, by_namespace[e.namespace]) for e in environments]


def fleet_status(
    client: Client, environments: Sequence[Located], parallel: int = 8
) -> list[EnvironmentStatus]:
    """In the order given; an environment known not to be deployed (planned in the fleet
    file only) is said so, and nothing is read for it."""
    planned_only = {
        e.name for e in environments if isinstance(e, KnownEnvironment) and e.deployed is False
    }
    # The objects read are dropped before the collector runs again: freed by their
    # reference counts, not walked by collections (0.3 s for 2,000 Pods and the rest).
    with collector_paused():
        read = _fleet_status(
            client, [e for e in environments if e.name not in planned_only], parallel
        )
    statuses = {s.name: s for s in read}
    return [
        statuses.get(e.name) or EnvironmentStatus(e.name, e.namespace, deployed=False)
        for e in environments
    ]


def _fleet_status(
    client: Client, environments: Sequence[Located], parallel: int
) -> list[EnvironmentStatus]:
    if len(environments) > 1:
        try:
            return _cluster_wide(client, environments)
        except _NotAllowed:
            pass  # namespaced credentials: read each environment's namespace instead
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda e: environment_status(fresh_client(client), e), environments))
