"""Removing an environment from the cluster: everything campus created, data only on request."""

from __future__ import annotations

from lightkube import Client

from campus.deploy.prepare import is_data
from campus.fleet.model import Environment
from campus.kube.apply import delete_object, list_namespace
from campus.kube.objects import ObjectKey
from campus.labels import ENVIRONMENT

_KINDS = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("v1", "PersistentVolumeClaim"),
)


def destroy_environment(
    client: Client, environment: Environment, delete_data: bool
) -> tuple[list[ObjectKey], list[ObjectKey]]:
    """Delete everything campus created for the environment; data (volumes, data Secrets)
    and the namespace that holds it stay unless `delete_data`. (removed, kept)."""
    live = list_namespace(client, environment.namespace, _KINDS, {ENVIRONMENT: environment.name})
    removed: list[ObjectKey] = []
    kept: list[ObjectKey] = []
    for key, obj in live.items():
        if is_data(obj) and not delete_data:
            kept.append(key)
        elif delete_object(client, key):
            removed.append(key)
    if delete_data:
        namespace_key = ObjectKey("v1", "Namespace", "", environment.namespace)
        if delete_object(client, namespace_key):
            removed.append(namespace_key)
    return removed, kept
