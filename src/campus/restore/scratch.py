"""The scratch namespace of the restore drill: the source environment's data services
copied from the live cluster, on emptyDir volumes, with the Secrets and ConfigMaps they and
the backup pod read. Pure: live objects in, objects to create out.

It is named after the source (`campus-drill-restore-<environment>`), carries campus's
label but not the environment label (status and the fleet do not count it) and has no
NetworkPolicy: nothing else runs there, and the drill deletes it whole.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from campus.kube.objects import KubeObject
from campus.labels import COMPONENT, MANAGED_BY

PREFIX = "campus-drill-restore-"
COMPONENT_VALUE = "restore-drill"
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/", "deployment.kubernetes.io/")


def namespace_name(environment: str) -> str:
    return f"{PREFIX}{environment}"[:63].rstrip("-")


def namespace(environment: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace_name(environment),
            "labels": {MANAGED_BY: "campus", COMPONENT: COMPONENT_VALUE},
        },
    }


def _moved(obj: KubeObject, target: str) -> KubeObject:
    """A copy in `target`, without what the server set."""
    result = copy.deepcopy(obj)
    result.pop("status", None)
    metadata = result["metadata"]
    for key in (*_SERVER_FIELDS, "ownerReferences", "finalizers"):
        metadata.pop(key, None)
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if not k.startswith(_SERVER_ANNOTATIONS)
    }
    metadata["annotations"] = annotations
    metadata["namespace"] = target
    return result


def _references(pod: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The Secrets and ConfigMaps a pod spec reads (env, envFrom, volumes)."""
    secrets: set[str] = set()
    configs: set[str] = set()
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for variable in container.get("env") or []:
            source = variable.get("valueFrom") or {}
            if "secretKeyRef" in source:
                secrets.add(source["secretKeyRef"]["name"])
            if "configMapKeyRef" in source:
                configs.add(source["configMapKeyRef"]["name"])
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                secrets.add(source["secretRef"]["name"])
            if "configMapRef" in source:
                configs.add(source["configMapRef"]["name"])
    for volume in pod.get("volumes") or []:
        if "secret" in volume:
            secrets.add(volume["secret"]["secretName"])
        if "configMap" in volume:
            configs.add(volume["configMap"]["name"])
    return secrets, configs


def _on_empty_dirs(deployment: KubeObject) -> KubeObject:
    pod = deployment["spec"]["template"]["spec"]
    pod["volumes"] = [
        {"name": v["name"], "emptyDir": {}} if "persistentVolumeClaim" in v else v
        for v in pod.get("volumes") or []
    ]
    return deployment


def _service(service: KubeObject, target: str) -> KubeObject:
    result = _moved(service, target)
    spec = result.get("spec") or {}
    for key in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
        spec.pop(key, None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
    return result


def copies(
    services: Sequence[str],
    deployments: Iterable[KubeObject],
    live_services: Iterable[KubeObject],
    secrets: Iterable[KubeObject],
    configs: Iterable[KubeObject],
    backup_pod: dict[str, Any],
    target: str,
) -> list[KubeObject]:
    """The data services named (Deployments on emptyDir, their Services) and every Secret
    and ConfigMap those and the backup pod read, in `target`, in creation order."""
    chosen = [d for d in deployments if d["metadata"]["name"] in services]
    wanted_secrets, wanted_configs = _references(backup_pod)
    for deployment in chosen:
        more_secrets, more_configs = _references(deployment["spec"]["template"]["spec"])
        wanted_secrets |= more_secrets
        wanted_configs |= more_configs
    result = [_moved(s, target) for s in secrets if s["metadata"]["name"] in wanted_secrets]
    result += [_moved(c, target) for c in configs if c["metadata"]["name"] in wanted_configs]
    result += [_service(s, target) for s in live_services if s["metadata"]["name"] in services]
    result += [_on_empty_dirs(_moved(d, target)) for d in chosen]
    return result
