"""Sizing profiles: CPU and memory per service for small, medium and large environments.

Why these numbers: an Open edX LMS or CMS uWSGI worker holds 0.5-1 GiB once warm, and
Tutor runs several per pod; Celery workers hold about as much per process; MySQL and
MongoDB want their buffer pools in memory; Caddy, Redis, SMTP and the MFE server are small.
Requests are what the scheduler reserves; the memory limit stops a leak from taking a node.
"""

from __future__ import annotations

from campus.fleet.model import ServiceResources, SizeName

# service: (cpu request, memory request, memory limit) per size
_PROFILES: dict[str, dict[SizeName, tuple[str, str, str]]] = {
    "lms": {
        "small": ("250m", "1Gi", "2Gi"),
        "medium": ("500m", "2Gi", "3Gi"),
        "large": ("1", "3Gi", "4Gi"),
    },
    "cms": {
        "small": ("250m", "1Gi", "2Gi"),
        "medium": ("500m", "1536Mi", "2560Mi"),
        "large": ("750m", "2Gi", "3Gi"),
    },
    "lms-worker": {
        "small": ("100m", "768Mi", "1536Mi"),
        "medium": ("250m", "1Gi", "2Gi"),
        "large": ("500m", "1536Mi", "3Gi"),
    },
    "cms-worker": {
        "small": ("100m", "768Mi", "1536Mi"),
        "medium": ("250m", "1Gi", "2Gi"),
        "large": ("500m", "1536Mi", "3Gi"),
    },
    "mysql": {
        "small": ("250m", "512Mi", "1Gi"),
        "medium": ("500m", "1Gi", "2Gi"),
        "large": ("1", "2Gi", "4Gi"),
    },
    "mongodb": {
        "small": ("100m", "256Mi", "768Mi"),
        "medium": ("250m", "512Mi", "1Gi"),
        "large": ("500m", "1Gi", "2Gi"),
    },
    "meilisearch": {
        "small": ("100m", "256Mi", "512Mi"),
        "medium": ("200m", "512Mi", "1Gi"),
        "large": ("500m", "1Gi", "2Gi"),
    },
    "redis": {
        "small": ("50m", "64Mi", "256Mi"),
        "medium": ("100m", "128Mi", "512Mi"),
        "large": ("200m", "256Mi", "1Gi"),
    },
    "caddy": {
        "small": ("50m", "64Mi", "256Mi"),
        "medium": ("100m", "128Mi", "256Mi"),
        "large": ("200m", "128Mi", "512Mi"),
    },
    "smtp": {
        "small": ("10m", "32Mi", "128Mi"),
        "medium": ("20m", "32Mi", "128Mi"),
        "large": ("50m", "64Mi", "128Mi"),
    },
    "mfe": {
        "small": ("50m", "64Mi", "256Mi"),
        "medium": ("100m", "128Mi", "256Mi"),
        "large": ("200m", "128Mi", "512Mi"),
    },
}
# Plugin services and init Jobs campus has no profile for.
_FALLBACK: dict[SizeName, tuple[str, str, str]] = {
    "small": ("100m", "256Mi", "1Gi"),
    "medium": ("200m", "512Mi", "1Gi"),
    "large": ("250m", "512Mi", "2Gi"),
}


def resources_for(
    service: str, size: SizeName, override: ServiceResources | None
) -> dict[str, dict[str, str]]:
    cpu, memory, memory_limit = _PROFILES.get(service, {}).get(size) or _FALLBACK[size]
    cpu_limit = None
    if override:
        cpu = override.cpu or cpu
        memory = override.memory or memory
        memory_limit = override.memory_limit or memory_limit
        cpu_limit = override.cpu_limit
    limits = {"memory": memory_limit}
    if cpu_limit:
        limits["cpu"] = cpu_limit
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": limits}
