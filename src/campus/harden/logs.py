"""Rule: a service that writes log files of its own writes them into a size-limited
emptyDir, never into its container's writable layer.

Tutor's Open edX settings write every record to all.log and tracking events to
tracking.log under /openedx/data/logs, unrotated, besides the console (which the runtime
rotates). In the writable layer the files count against the pod's ephemeral-storage
limit: lms, cms and their workers are evicted after days or weeks, a production
Deployment's replicas at about the same age, and an eviction for ephemeral storage ignores
the PodDisruptionBudget. The catalogue says which services write where
(`Service.log_volume`); with an emptyDir of the volume's size there, the kubelet evicts a
pod whose files outgrow it naming the volume, and the files no longer eat into the room
/tmp needs for a course import. campus's settings patch (`campus.render.patches`) stops
Tutor's files; the volume bounds whatever settings bring a file handler back.
"""

from __future__ import annotations

from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, pod_spec, service_of, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.services.model import LogVolume

NAME = "logs"


def _log_volume(rendered: RenderedEnvironment, obj: KubeObject) -> LogVolume | None:
    if obj["kind"] not in ("Deployment", "StatefulSet"):
        return None
    return catalogue(rendered).get(service_of(obj)).log_volume


def _own_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers running the service's image (the first container's): a sidecar of
    another image has no such files."""
    containers: list[dict[str, Any]] = list(spec.get("containers") or [])
    image = containers[0].get("image") if containers else None
    return [c for c in containers if c.get("image") == image]


def _mounted_at(container: dict[str, Any], path: str) -> str | None:
    for mount in container.get("volumeMounts") or []:
        if str(mount.get("mountPath", "")).rstrip("/") == path.rstrip("/"):
            return str(mount["name"])
    return None


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    for obj in objects:
        logs = _log_volume(rendered, obj)
        spec = pod_spec(obj)
        if logs is None or spec is None:
            continue
        volumes = spec.setdefault("volumes", [])
        if not any(volume.get("name") == logs.name for volume in volumes):
            volumes.append({"name": logs.name, "emptyDir": {"sizeLimit": logs.size_limit}})
        for container in _own_containers(spec):
            if _mounted_at(container, logs.path) is None:
                mounts = container.setdefault("volumeMounts", [])
                mounts.append({"name": logs.name, "mountPath": logs.path})
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    for obj in objects:
        logs = _log_volume(rendered, obj)
        spec = pod_spec(obj)
        if logs is None or spec is None:
            continue
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for container in _own_containers(spec):
            name = _mounted_at(container, logs.path)
            size = ((volumes.get(name) or {}).get("emptyDir") or {}).get("sizeLimit")
            if name is None or not size:
                found.append(
                    violation(
                        NAME,
                        obj,
                        f"container {container['name']} writes unrotated log files to "
                        f"{logs.path} in its writable layer: mount a size-limited emptyDir "
                        "there, or the pod is evicted for ephemeral storage without naming it",
                    )
                )
    return found


RULE = Rule(
    NAME,
    "Tutor's Open edX settings write unrotated log files into the writable layer",
    apply,
    check,
)
