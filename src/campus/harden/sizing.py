"""Sizing: the requests and limits of a service's main container, from its catalogue entry's
profile (`campus.services.known` gives the numbers and why) and the fleet file's
`resources` override."""

from __future__ import annotations

from campus.fleet.model import ServiceResources, SizeName
from campus.services import Service
from campus.services.catalogue import defaults


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
