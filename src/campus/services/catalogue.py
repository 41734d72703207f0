"""One environment's service catalogue: the known entries, a classification of every
service nobody knows from what Tutor renders, and the fleet file's overrides. Pure.

Hardening, deploy phases, plan, drill and status read a service's kind, port, health
check, sizing, phase and whether it can be replicated from here, never from lists of
their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from campus.fleet.model import ServiceOverride
from campus.kube.objects import KubeObject
from campus.labels import NAME
from campus.services.known import KNOWN
from campus.services.model import Kind, Phase, Service
from campus.services.routes import Site, public_sites

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
# Binding a port below 1024 takes this capability (a root process needs it too).
PRIVILEGED_PORT = ("NET_BIND_SERVICE",)


def service_name(obj: KubeObject) -> str:
    """The service a workload runs: Tutor's `app.kubernetes.io/name`, else its name."""
    metadata = obj.get("metadata", {})
    return str((metadata.get("labels") or {}).get(NAME, metadata.get("name", "")))


def _pod(obj: KubeObject) -> dict[str, object]:
    spec: dict[str, object] = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def claims(obj: KubeObject) -> list[str]:
    """The PersistentVolumeClaims a workload's pods mount."""
    volumes = _pod(obj).get("volumes") or []
    assert isinstance(volumes, list)
    return [
        str(volume["persistentVolumeClaim"]["claimName"])
        for volume in volumes
        if isinstance(volume, dict) and volume.get("persistentVolumeClaim")
    ]


def first_port(obj: KubeObject) -> int | None:
    containers = _pod(obj).get("containers") or []
    assert isinstance(containers, list)
    ports = (containers[0].get("ports") or []) if containers else []
    return int(ports[0]["containerPort"]) if ports else None


def classify(obj: KubeObject, sites: Iterable[Site]) -> Service:
    """A service nobody catalogued, judged from Tutor's Deployment and Caddy's sites: a
    data volume makes it data (one replica, a backing service); no port makes it a worker;
    otherwise it is a stateless web service, public when Caddy proxies to it. One that
    binds a port below 1024 keeps NET_BIND_SERVICE, which that needs."""
    name, port, volumes = service_name(obj), first_port(obj), claims(obj)
    needs = PRIVILEGED_PORT if port is not None and port < 1024 else ()
    if volumes:
        return Service(
            name,
            Kind.DATA,
            port,
            phase=Phase.BACKING,
            stateless=False,
            capabilities=needs,
            source=f"fallback: mounts volume {', '.join(volumes)}, so data (1 replica)",
        )
    if port is None:
        return Service(name, Kind.WORKER, source="fallback: serves no port, so a worker")
    public = sorted({s.host for s in sites if any(up == name for up, _ in s.upstreams)})
    where = f"public on {', '.join(public)}" if public else "internal"
    return Service(
        name,
        Kind.WEB,
        port,
        capabilities=needs,
        source=f"fallback: serves port {port} ({where}) with no volume, so stateless web",
    )


def _overridden(service: Service, override: ServiceOverride | None) -> Service:
    if override is None:
        return service
    changes = override.model_dump(exclude_none=True)
    if "kind" in changes:
        changes["kind"] = Kind(changes["kind"])
    if "phase" in changes:
        changes["phase"] = Phase(changes["phase"])
    if "kind" in changes and "stateless" not in changes:
        changes["stateless"] = changes["kind"] in (Kind.WEB, Kind.WORKER)
    return dataclasses.replace(service, **changes, source="fleet file")


@dataclass(frozen=True)
class Catalogue:
    """The services of one environment, by name; `sites` are the public hosts its Caddy
    serves."""

    services: Mapping[str, Service]
    sites: tuple[Site, ...] = ()
    overrides: Mapping[str, ServiceOverride] = field(default_factory=dict)

    def get(self, name: str) -> Service:
        """The entry for a service; one that is not rendered (a live object, a name from a
        command) falls back to the known entry, then to a stateless web service."""
        if name in self.services:
            return self.services[name]
        known = KNOWN.get(name) or Service(name, Kind.WEB, source="fallback: unknown name")
        return _overridden(known, self.overrides.get(name))

    def fallbacks(self) -> list[Service]:
        return [s for s in self.services.values() if s.source.startswith("fallback")]

    def replicable(self, name: str) -> bool:
        service = self.get(name)
        return service.stateless and service.kind in (Kind.WEB, Kind.WORKER)


def catalogue_for(
    objects: Iterable[KubeObject], overrides: Mapping[str, ServiceOverride] | None = None
) -> Catalogue:
    """The catalogue of an environment from Tutor's objects (rendered or hardened)."""
    objects = list(objects)
    sites = tuple(public_sites(objects))
    overrides = overrides or {}
    services: dict[str, Service] = {}
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        name = service_name(obj)
        entry = KNOWN.get(name) or classify(obj, sites)
        services[name] = _overridden(entry, overrides.get(name))
    return Catalogue(services, sites, overrides)


def defaults() -> Catalogue:
    """The known entries alone: for readers that see only names (live objects)."""
    return Catalogue(dict(KNOWN))


# The services a production environment keeps serving through a lost node, by name: every
# stateless web service and worker of the catalogue.
STATELESS = frozenset(
    name for name, s in KNOWN.items() if s.stateless and s.kind in (Kind.WEB, Kind.WORKER)
)
