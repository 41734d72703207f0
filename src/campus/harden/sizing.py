"""Sizing: the requests and limits of a service's main container, from its catalogue entry's
profile (`campus.services.known` gives the numbers and why) and the fleet file's
`resources` override, raised where the service's own memory setting needs more.

Two services set their own memory ceiling, which the container's limit must leave room
above, or the kernel kills the process before it ever reaches it:

- a JVM (Elasticsearch, OpenSearch) holds its whole heap (`-Xms` equals `-Xmx` in the
  plugins' settings) and memory outside it: direct buffers, which Elasticsearch sizes to
  half the heap by default, metaspace, thread stacks. Elastic's own rule is a heap of at
  most half the memory: the limit is at least twice the heap, the request at least the
  heap and a half (what the JVM holds once warm);
- Redis stops at `maxmemory` (evicting, with Tutor's `allkeys-lru`), but with Tutor's
  append-only file it forks to rewrite that file, and the child's copy-on-write pages
  count in the same cgroup: up to twice the data in a write-heavy moment, as Redis's
  documentation warns. Tutor's redis.conf says `maxmemory 4gb`, far above any profile's
  limit, so Redis would be killed (and, reloading its file, killed again) long before it
  evicts anything. Raising the limit to 8 GiB per environment would let every
  environment's cache take memory the scheduler never reserved; so campus keeps the
  profile's limit and caps maxmemory at half of it (`--maxmemory` after the config file
  on redis-server's command line, which overrides the file), keeping a lower
  maxmemory that an operator's `redis-conf` patch sets.

A third sets how many processes share the limit: a Celery worker forks one child per CPU
of the node unless told its concurrency, and Tutor's worker command
(`LMS_WORKER_COMMAND`, `CMS_WORKER_COMMAND`) tells none: 16 children of about 512 MiB
each on a 16-CPU node, against a 1.5-3 GiB limit, and the kernel kills one in the middle
of a task. campus adds `--concurrency` to the command, the children that fit in the
limit with room for the parent (which holds about as much as a child): the limit divided
by the catalogue's `celery_child_memory`, less one, at least one (2, 3 and 5 for 1.5, 2
and 3 GiB). A concurrency a plugin's command or the fleet's sets already (`--concurrency`,
`-c`, `--autoscale`) stays.

Pure.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from campus.fleet.model import ServiceResources, SizeName
from campus.kube.objects import KubeObject
from campus.kube.resources import MIB, memory_bytes
from campus.kube.workloads import command_line
from campus.services import Service
from campus.services.catalogue import defaults

JAVA_REQUEST = Decimal("1.5")  # the heap, and direct buffers of up to half of it
JAVA_LIMIT = 2  # Elastic: the heap at most half of the memory
REDIS_LIMIT = 2  # an AOF rewrite's fork may copy every page of the data once more

Container = dict[str, Any]


def resources_for(
    service: Service, size: SizeName, override: ServiceResources | None
) -> dict[str, dict[str, str]]:
    profile = service.sizing[size]
    cpu, memory, memory_limit = profile.cpu, profile.memory, profile.memory_limit
    cpu_limit = None
    if override:
        cpu = override.cpu or cpu
        memory = override.memory or memory
        memory_limit = override.memory_limit or memory_limit
        cpu_limit = override.cpu_limit
    limits = {"memory": memory_limit, "ephemeral-storage": profile.ephemeral_limit}
    if cpu_limit:
        limits["cpu"] = cpu_limit
    requests = {"cpu": cpu, "memory": memory, "ephemeral-storage": profile.ephemeral}
    return {"requests": requests, "limits": limits}


def known_resources_for(
    name: str, size: SizeName, override: ServiceResources | None
) -> dict[str, dict[str, str]]:
    """`resources_for` a service known by its name alone (before anything is rendered):
    its catalogue entry, or a generic web service's."""
    return resources_for(defaults().get(name), size, override)


def mebibytes(amount: int | Decimal) -> str:
    return f"{math.ceil(Decimal(amount) / MIB)}Mi"


_JVM_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def java_heap(service: Service, container: Container) -> int | None:
    """The JVM's maximum heap in bytes, from `-Xmx` in the container's `heap_env`
    variable (the last one counts, as for the JVM); None when it sets none (the image's
    own default, which campus cannot see)."""
    if service.heap_env is None:
        return None
    heap = None
    for variable in container.get("env") or []:
        if variable.get("name") == service.heap_env and "value" in variable:
            for option in str(variable["value"]).split():
                found = re.fullmatch(r"-Xmx(\d+)([kKmMgGtT]?)", option)
                if found:
                    heap = int(found.group(1)) * _JVM_UNITS[found.group(2).lower()]
    return heap


_REDIS_UNITS = {
    "": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def redis_bytes(value: str) -> int | None:
    """A memory amount as redis.conf writes it (`4gb`, `100mb`, `1000000`)."""
    found = re.fullmatch(r"(\d+)([kmg]b?)?", value.strip().lower())
    return int(found.group(1)) * _REDIS_UNITS[found.group(2) or ""] if found else None


def _config_maxmemory(text: str) -> int | None:
    """The `maxmemory` a redis.conf sets: its last line for it counts, as for Redis."""
    value = None
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0].lower() == "maxmemory":
            value = redis_bytes(words[1])
    return value


def _mounted_file(
    spec: dict[str, Any], container: Container, objects: list[KubeObject], path: str
) -> str | None:
    """The text of the file at `path` in the container, where a ConfigMap or Secret among
    `objects` provides it through a volume."""
    for mount in container.get("volumeMounts") or []:
        directory = str(mount.get("mountPath", "")).rstrip("/") + "/"
        if not path.startswith(directory) or mount.get("subPath"):
            continue
        key = path[len(directory) :]
        volumes: list[dict[str, Any]] = spec.get("volumes") or []
        volume = next((v for v in volumes if v["name"] == mount["name"]), {})
        source = volume.get("configMap") or volume.get("secret") or {}
        name = source.get("name") or source.get("secretName")
        for item in source.get("items") or []:
            if item.get("path") == key:
                key = item["key"]
        for obj in objects:
            if obj["kind"] in ("ConfigMap", "Secret") and obj["metadata"]["name"] == name:
                data = obj.get("data") or obj.get("stringData") or {}
                return str(data[key]) if key in data else None
    return None


def redis_maxmemory(
    spec: dict[str, Any], container: Container, objects: list[KubeObject]
) -> int | None:
    """The maxmemory Redis starts with, in bytes: `--maxmemory` on its command line, else
    the config file it is given (as mounted from the environment's objects). None or 0:
    no ceiling."""
    words = command_line(container)
    value = None
    if "redis-server" in words:
        rest = words[words.index("redis-server") + 1 :]
        if rest and not rest[0].startswith("-"):
            text = _mounted_file(spec, container, objects, rest[0])
            value = _config_maxmemory(text) if text is not None else None
        for index, word in enumerate(rest[:-1]):
            if word == "--maxmemory":
                value = redis_bytes(rest[index + 1])
    return value


def is_celery_worker(container: Container) -> bool:
    words = command_line(container)
    return "celery" in words and "worker" in words


def celery_concurrency_set(container: Container) -> bool:
    """Whether the worker's command line already says how many children it forks
    (`--concurrency`, `-c`, `--autoscale`)."""
    for word in command_line(container):
        if word.partition("=")[0] in ("--concurrency", "--autoscale"):
            return True
        if word.startswith("-c") and not word.startswith("--"):
            return True
    return False


def forks_per_cpu(service: Service, container: Container) -> bool:
    """Whether the container is the service's Celery worker with no concurrency set."""
    return bool(
        service.celery_child_memory
        and is_celery_worker(container)
        and not celery_concurrency_set(container)
    )


def celery_concurrency(memory_limit: str, child_memory: str) -> int:
    """The children that fit in the limit beside the parent."""
    return max(1, int(memory_bytes(memory_limit) // memory_bytes(child_memory)) - 1)


def set_celery_concurrency(container: Container, concurrency: int) -> None:
    """Append `--concurrency` to the worker's command line (its args, else its command)."""
    field = "args" if "celery" in [str(w) for w in container.get("args") or []] else "command"
    container[field] = [*(container.get(field) or []), f"--concurrency={concurrency}"]


def cap_redis_maxmemory(container: Container, maxmemory: int) -> None:
    """Start Redis with `maxmemory` (bytes): `--maxmemory` on its command line overrides
    the config file."""
    args = container.get("args") or []
    amount = f"{maxmemory // MIB}mb"
    if "--maxmemory" in args[:-1]:
        args[args.index("--maxmemory") + 1] = amount
    else:
        container["args"] = [*args, "--maxmemory", amount]
