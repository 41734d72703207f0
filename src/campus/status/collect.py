"""Reading what the status view needs from the API server, environments in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod, Secret

from campus.deploy.revisions import ENVIRONMENT_LABEL, REVISION_LABEL
from campus.errors import ClusterError
from campus.fleet.model import Environment
from campus.kube.connect import fresh_client
from campus.kube.objects import KubeObject
from campus.status.model import EnvironmentStatus, summarise


def _list(client: Client, resource: Any, namespace: str, **labels: Any) -> list[KubeObject]:
    try:
        return [
            item.to_dict()
            for item in client.list(resource, namespace=namespace, labels=labels or None)
        ]
    except ApiError as error:
        if error.status.code == 404:
            return []
        raise ClusterError(f"cannot read {namespace}: {error.status.message}") from None


def environment_status(client: Client, environment: Environment) -> EnvironmentStatus:
    namespace = environment.namespace
    revisions = _list(
        client, Secret, namespace, **{ENVIRONMENT_LABEL: environment.name, REVISION_LABEL: None}
    )
    newest = max(
        revisions,
        key=lambda s: int(s["metadata"]["labels"][REVISION_LABEL]),
        default=None,
    )
    revision = (
        (
            int(newest["metadata"]["labels"][REVISION_LABEL]),
            newest["metadata"].get("annotations", {}).get("campus.openedx.org/deployed-at", ""),
        )
        if newest
        else None
    )
    return summarise(
        environment.name,
        namespace,
        deployments=_list(client, Deployment, namespace),
        pods=_list(client, Pod, namespace),
        hpas=_list(client, HorizontalPodAutoscaler, namespace),
        jobs=_list(client, Job, namespace),
        revision=revision,
    )


def fleet_status(
    client: Client, environments: list[Environment], parallel: int = 8
) -> list[EnvironmentStatus]:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda e: environment_status(fresh_client(client), e), environments))
