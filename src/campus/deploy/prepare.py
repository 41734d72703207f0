"""Turning an environment's hardened objects into what the engine applies. Pure.

- every object carries campus's ownership labels, so prune and status can find it;
- init Jobs get a name derived from their content: a Job that already completed with the
  same content is not run again, and a changed task (an upgrade) runs under a new name, since
  a Job's template cannot be changed in place.
"""

from __future__ import annotations

import copy

from campus.kube.objects import KubeObject, digest, labels_of
from campus.labels import DATA, ENVIRONMENT, MANAGED_BY, PRUNE

CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "PriorityClass"}
)


def owned(obj: KubeObject, environment: str, namespace: str) -> KubeObject:
    """A copy of `obj` labelled as campus's, in the environment's namespace."""
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    metadata["labels"] = {
        **labels_of(result),
        MANAGED_BY: "campus",
        ENVIRONMENT: environment,
    }
    if result["kind"] not in CLUSTER_SCOPED_KINDS:
        metadata["namespace"] = namespace
    return result


def versioned_job(job: KubeObject) -> KubeObject:
    """The Job renamed after its content: `<name>-<8 hex digits>`, within 63 characters."""
    result = copy.deepcopy(job)
    base = result["metadata"]["name"][:54].rstrip("-")
    result["metadata"]["name"] = f"{base}-{digest(job.get('spec', {}))[:8]}"
    return result


def is_data(obj: KubeObject) -> bool:
    """Objects whose loss loses data: never pruned or destroyed unless the user asks."""
    if obj["kind"] == "PersistentVolumeClaim":
        return True
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return labels_of(obj).get(DATA) == "true" or annotations.get(PRUNE) == "never"


def prepare(
    objects: list[KubeObject], init_jobs: list[KubeObject], environment: str, namespace: str
) -> tuple[list[KubeObject], list[KubeObject]]:
    prepared = [owned(obj, environment, namespace) for obj in objects]
    jobs = [versioned_job(owned(job, environment, namespace)) for job in init_jobs]
    return prepared, jobs
