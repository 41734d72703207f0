"""Rule: every container has CPU, memory and ephemeral-storage requests, and memory and
ephemeral-storage limits.

Tutor sets a memory request on lms and cms only: the scheduler cannot place pods by their
real needs, one leaking worker can take a node's memory from every environment on it, and
one runaway log or temporary file can fill the node's disk (the kubelet then evicts pods
of every environment there). With an ephemeral-storage limit the kubelet evicts that pod
alone. Values come from the environment's size profile, CPU and memory overridable per
service, and follow a service's own memory setting: a JVM's heap raises its memory request
and limit, Redis starts with maxmemory at half its limit, a Celery worker forks the
children its limit holds (`campus.harden.sizing` says why); lint refuses a limit that
leaves no room above a heap or maxmemory, and a worker that forks one child per CPU.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from campus.harden.rule import (
    JOB_KINDS,
    Rule,
    Violation,
    catalogue,
    pod_spec,
    service_of,
    violation,
)
from campus.harden.sizing import (
    JAVA_LIMIT,
    JAVA_REQUEST,
    REDIS_LIMIT,
    cap_redis_maxmemory,
    celery_concurrency,
    forks_per_cpu,
    java_heap,
    mebibytes,
    redis_maxmemory,
    resources_for,
    set_celery_concurrency,
)
from campus.kube.objects import KubeObject
from campus.kube.resources import memory_bytes
from campus.render.model import RenderedEnvironment
from campus.services import JOB, Service

NAME = "resources"


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    environment = rendered.environment
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        entry = JOB if obj["kind"] in JOB_KINDS else services.get(service_of(obj))
        wanted = resources_for(entry, environment.size, environment.resources.get(entry.name))
        for container in list(spec.get("containers") or []) + list(
            spec.get("initContainers") or []
        ):
            container["resources"] = {
                "requests": dict(wanted["requests"]),
                "limits": dict(wanted["limits"]),
            }
            _follow_memory_setting(entry, spec, container, objects)
    return objects


def _at_least(quantities: dict[str, str], amount: Decimal) -> None:
    if memory_bytes(quantities["memory"]) < amount:
        quantities["memory"] = mebibytes(amount)


def _follow_memory_setting(
    service: Service, spec: dict[str, Any], container: dict[str, Any], objects: list[KubeObject]
) -> None:
    """A JVM's heap raises its request and limit; Redis's maxmemory is capped at half its
    limit (a lower one stays); a Celery worker forks what its limit holds (a concurrency
    already set stays)."""
    resources = container["resources"]
    heap = java_heap(service, container)
    if heap:
        _at_least(resources["requests"], heap * JAVA_REQUEST)
        _at_least(resources["limits"], Decimal(heap * JAVA_LIMIT))
    if service.maxmemory:
        budget = memory_bytes(resources["limits"]["memory"]) // REDIS_LIMIT
        configured = redis_maxmemory(spec, container, objects)
        if not configured or configured > budget:
            cap_redis_maxmemory(container, budget)
    if service.celery_child_memory and forks_per_cpu(service, container):
        limit = resources["limits"]["memory"]
        set_celery_concurrency(container, celery_concurrency(limit, service.celery_child_memory))


def _memory_setting_violations(
    service: Service,
    obj: KubeObject,
    spec: dict[str, Any],
    container: dict[str, Any],
    objects: list[KubeObject],
) -> list[Violation]:
    limit = memory_bytes(((container.get("resources") or {}).get("limits") or {}).get("memory", 0))
    if not limit:
        return []  # reported as a missing memory limit
    name, found = container["name"], []
    heap = java_heap(service, container)
    if heap and limit < heap * JAVA_LIMIT:
        found.append(
            violation(
                NAME,
                obj,
                f"container {name}: memory limit {mebibytes(limit)} is below twice its "
                f"{mebibytes(heap)} JVM heap (-Xmx in {service.heap_env}); the JVM also "
                "holds direct buffers and metaspace outside the heap, and the kernel kills it "
                "at the limit",
                "memory-setting",
            )
        )
    if service.maxmemory:
        maxmemory = redis_maxmemory(spec, container, objects)
        if not maxmemory or limit < maxmemory * REDIS_LIMIT:
            said = f"maxmemory {mebibytes(maxmemory)}" if maxmemory else "no maxmemory"
            found.append(
                violation(
                    NAME,
                    obj,
                    f"container {name}: memory limit {mebibytes(limit)} leaves no room for "
                    f"Redis's {said}: it needs twice that (an append-only file rewrite forks, "
                    "copying pages), or the kernel kills it before it evicts anything",
                    "memory-setting",
                )
            )
    if forks_per_cpu(service, container):
        found.append(
            violation(
                NAME,
                obj,
                f"container {name}: Celery worker without --concurrency forks one child per "
                f"CPU of the node, about {service.celery_child_memory} each, against its "
                f"{mebibytes(limit)} limit",
                "memory-setting",
            )
        )
    return found


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        entry = JOB if obj["kind"] in JOB_KINDS else services.get(service_of(obj))
        for container in list((spec or {}).get("containers") or []) + list(
            (spec or {}).get("initContainers") or []
        ):
            assert spec is not None
            found += _memory_setting_violations(entry, obj, spec, container, objects)
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
