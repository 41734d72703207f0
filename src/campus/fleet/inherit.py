"""Inheritance: defaults -> environment, the environment winning. Pure.

Mappings (tutor, replicas, autoscaling, resources, services, egress, release plugin pins
and distributions) merge key by key, and an egress name set to null drops the defaults'
destination; lists (plugins) are replaced whole, so an environment can drop a plugin the
defaults enable; ingress, release and backup merge field by field (backup's `keep` count
by count, see `campus.fleet.backup.merged`), and monitoring too (`rule_labels` key by
key). What the cluster says of its API server and DNS is copied into every environment,
whose NetworkPolicies need it.
"""

from __future__ import annotations

from typing import TypeVar

import campus.fleet.backup as backup
import campus.fleet.monitoring as monitoring
from campus.fleet.model import (
    Cluster,
    Egress,
    Environment,
    EnvironmentSpec,
    Fleet,
    FleetFile,
    Ingress,
    IngressMode,
    Release,
    Settings,
    SizeName,
)

DEFAULT_SIZE: SizeName = "small"
DEFAULT_INGRESS_MODE: IngressMode = "caddy"  # Tutor's own path, until the fleet says otherwise
DEFAULT_INGRESS_CLASS = "nginx"
DEFAULT_INGRESS_NAMESPACE = "ingress-nginx"
DEFAULT_GATEWAY = "campus/campus"  # gateway mode: NAMESPACE/NAME of the shared Gateway
DEFAULT_CONTROLLER_PORTS = (80, 443)  # ingress-nginx's HTTP and HTTPS container ports

V = TypeVar("V")


def _merged(default: dict[str, V] | None, override: dict[str, V] | None) -> dict[str, V]:
    return {**(default or {}), **(override or {})}


def _ingress(defaults: Ingress | None, override: Ingress | None) -> Ingress:
    base = defaults.model_dump(exclude_none=True) if defaults else {}
    base.update(override.model_dump(exclude_none=True) if override else {})
    return Ingress.model_validate(base)


def _release(defaults: Release | None, override: Release | None) -> Release | None:
    """Field by field, plugin pins key by key: an environment can move Tutor alone."""
    if defaults is None and override is None:
        return None
    base = defaults or Release()
    top = override or Release()
    tutor = top.tutor or base.tutor
    plugins = _merged(base.plugins, top.plugins)
    distributions = _merged(base.distributions, top.distributions)
    return Release(tutor=tutor, plugins=plugins or None, distributions=distributions or None)


def _egress(
    defaults: dict[str, Egress | None] | None, override: dict[str, Egress | None] | None
) -> dict[str, Egress]:
    return {
        name: egress for name, egress in _merged(defaults, override).items() if egress is not None
    }


def resolve_environment(
    name: str, defaults: Settings, spec: EnvironmentSpec, cluster: Cluster | None = None
) -> Environment:
    cluster = cluster or Cluster()
    ingress = _ingress(defaults.ingress, spec.ingress)
    mode = ingress.mode or DEFAULT_INGRESS_MODE
    gateway = ingress.gateway or DEFAULT_GATEWAY
    namespace = spec.namespace or name
    # Who NetworkPolicy admits to the entry pods: in gateway mode the Gateway's data plane,
    # which runs beside the Gateway (its parentRef namespace; a bare NAME is a Gateway in
    # the environment's own namespace), not an ingress controller.
    controller_default = (
        (gateway.rpartition("/")[0] or namespace)
        if mode == "gateway"
        else DEFAULT_INGRESS_NAMESPACE
    )
    return Environment(
        name=name,
        namespace=namespace,
        hosts=spec.hosts,
        tutor=_merged(defaults.tutor, spec.tutor),
        plugins=tuple(spec.plugins if spec.plugins is not None else defaults.plugins or ()),
        size=spec.size or defaults.size or DEFAULT_SIZE,
        production=(spec.production if spec.production is not None else bool(defaults.production)),
        replicas=_merged(defaults.replicas, spec.replicas),
        autoscaling=_merged(defaults.autoscaling, spec.autoscaling),
        resources=_merged(defaults.resources, spec.resources),
        ingress_mode=mode,
        ingress_class=ingress.class_name or DEFAULT_INGRESS_CLASS,
        ingress_controller_namespace=ingress.controller_namespace or controller_default,
        tls=ingress.tls,
        ingress_from_cidrs=tuple(ingress.from_cidrs or ()),
        ingress_controller_ports=tuple(ingress.controller_ports or DEFAULT_CONTROLLER_PORTS),
        gateway=gateway,
        services=_merged(defaults.services, spec.services),
        release=_release(defaults.release, spec.release),
        egress=_egress(defaults.egress, spec.egress),
        api_server_cidrs=cluster.api_server_cidrs,
        api_server_ports=cluster.api_server_ports,
        dns_cidrs=cluster.dns_cidrs,
        backup=backup.resolved(backup.merged(defaults.backup, spec.backup)),
        monitoring=monitoring.resolved(defaults.monitoring, spec.monitoring),
    )


def resolve(fleet_file: FleetFile, source: str) -> Fleet:
    return Fleet(
        source=source,
        cluster=fleet_file.cluster,
        defaults=fleet_file.defaults,
        environments=tuple(
            resolve_environment(name, fleet_file.defaults, spec, fleet_file.cluster)
            for name, spec in fleet_file.environments.items()
        ),
    )
