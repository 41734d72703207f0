"""Rule: every container has CPU, memory and ephemeral-storage requests, and memory and
ephemeral-storage limits.

Tutor sets a memory request on lms and cms only: the scheduler cannot place pods by their
real needs, one leaking worker can take a node's memory from every environment on it, and
one runaway log or temporary file can fill the node's disk (the kubelet then evicts pods
of every environment there). With an ephemeral-storage limit the kubelet evicts that pod
alone. Values come from the environment's size profile, CPU and memory overridable per
service.
"""

from __future__ import annotations

from campus.harden.rule import Rule, Violation, catalogue, pod_spec, service_of, violation
from campus.harden.sizing import resources_for
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.services import JOB

NAME = "resources"


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    environment = rendered.environment
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        entry = services.get(service_of(obj)) if obj["kind"] != "Job" else JOB
        wanted = resources_for(entry, environment.size, environment.resources.get(entry.name))
        for container in list(spec.get("containers") or []) + list(
            spec.get("initContainers") or []
        ):
            container["resources"] = {
                "requests": dict(wanted["requests"]),
                "limits": dict(wanted["limits"]),
            }
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    for obj in objects:
        spec = pod_spec(obj)
        for container in list((spec or {}).get("containers") or []) + list(
            (spec or {}).get("initContainers") or []
        ):
            resources = container.get("resources") or {}
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            missing = [
                label
                for label, present in (
                    ("cpu request", "cpu" in requests),
                    ("memory request", "memory" in requests),
                    ("memory limit", "memory" in limits),
                    ("ephemeral-storage request", "ephemeral-storage" in requests),
                    ("ephemeral-storage limit", "ephemeral-storage" in limits),
                )
                if not present
            ]
            if missing:
                found.append(
                    violation(
                        NAME, obj, f"container {container['name']} lacks {', '.join(missing)}"
                    )
                )
    return found


RULE = Rule(NAME, "Tutor sets no CPU or ephemeral-storage requests and no limits", apply, check)
