"""The fleet model: what a fleet file says, validated, before and after inheritance.

Pure data. Loading YAML and mapping errors to file positions lives in `campus.fleet.load`;
merging defaults into environments lives in `campus.fleet.inherit`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from campus.errors import CampusError
from campus.fleet.addresses import network
from campus.fleet.backup import Backup, BackupSpec
from campus.fleet.monitoring import Monitoring, MonitoringSpec
from campus.fleet.quantity import parse_cpu, parse_memory, parse_memory_input

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
)

# A DNS-1123 subdomain: names of IngressClasses and cert-manager issuers.
DNS1123_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
# Replicas and autoscaling bounds are int32 in the Kubernetes API.
INT32_MAX = 2**31 - 1
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
PositiveCount = Annotated[int, Field(ge=1, le=INT32_MAX)]
Port = Annotated[int, Field(ge=1, le=65535)]
Protocol = Literal["TCP", "UDP", "SCTP"]
# A CIDR as written, refused when malformed or with host bits set (`addresses.network`).
Cidr = Annotated[str, AfterValidator(lambda value: str(network(value)))]

SizeName = Literal["small", "medium", "large"]
IngressMode = Literal["caddy", "ingress", "gateway"]
ServiceKind = Literal["web", "worker", "data", "job"]
DeployPhase = Literal["backing", "applications"]


class UnknownEnvironment(CampusError):
    """A command named an environment the fleet file does not have."""


class Strict(BaseModel):
    """Base for every fleet-file section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _quantity_text(value: object) -> object:
    """`cpu: 1` and `memory: 1073741824` are quantities too, as Kubernetes reads them."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return value


def _check_cpu(value: str | None) -> str | None:
    if value is not None:
        parse_cpu(value)
    return value


def _check_memory(value: str | None) -> str | None:
    if value is not None:
        parse_memory_input(value)
    return value


def _check_subdomain(value: str | None) -> str | None:
    if value is not None and not DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name: lower-case letters, digits, '-' "
            "and '.', at most 253 characters, starting and ending with a letter or digit"
        )
    return value


def _check_label(value: str | None) -> str | None:
    if value is not None and (len(value) > 63 or not DNS1123_LABEL.match(value)):
        raise ValueError(
            f"{value!r} is not a valid DNS-1123 label: lower-case letters, digits and '-', "
            "at most 63 characters, starting and ending with a letter or digit"
        )
    return value


class ServiceResources(Strict):
    """Requests and limits for one service's main container, as Kubernetes quantities."""

    cpu: str | None = None
    memory: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None

    _numbers = field_validator("cpu", "memory", "cpu_limit", "memory_limit", mode="before")(
        _quantity_text
    )
    _cpu = field_validator("cpu", "cpu_limit")(_check_cpu)
    _memory = field_validator("memory", "memory_limit")(_check_memory)

    @model_validator(mode="after")
    def _limits_not_below_requests(self) -> ServiceResources:
        if self.cpu and self.cpu_limit and parse_cpu(self.cpu_limit) < parse_cpu(self.cpu):
            raise ValueError(f"cpu_limit {self.cpu_limit} is below the cpu request {self.cpu}")
        if (
            self.memory
            and self.memory_limit
            and parse_memory(self.memory_limit) < parse_memory(self.memory)
        ):
            raise ValueError(
                f"memory_limit {self.memory_limit} is below the memory request {self.memory}"
            )
        return self


class Autoscaling(Strict):
    """A HorizontalPodAutoscaler on CPU utilisation for one service."""

    min: PositiveCount
    max: PositiveCount
    cpu: Annotated[int, Field(ge=1, le=1000)] = 70

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaling:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class ServiceOverride(Strict):
    """What campus's service catalogue says about one service, changed for an environment
    (see docs/plugin-services.md). Unset fields keep the catalogue's value."""

    kind: ServiceKind | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    health: str | None = None
    phase: DeployPhase | None = None
    stateless: bool | None = None

    @field_validator("health")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"health {value!r} is not an HTTP path starting with /")
        return value


class Tls(Strict):
    """TLS for Ingress objects, issued by cert-manager."""

    cluster_issuer: str | None = None
    issuer: str | None = None

    _names = field_validator("cluster_issuer", "issuer")(_check_subdomain)

    @model_validator(mode="after")
    def _one_issuer(self) -> Tls:
        if bool(self.cluster_issuer) == bool(self.issuer):
            raise ValueError("set exactly one of cluster_issuer or issuer")
        return self


class Ingress(Strict):
    """How traffic enters an environment.

    `caddy` keeps Tutor's own per-environment Caddy behind a LoadBalancer Service;
    `ingress` renders Ingress objects for a shared ingress controller (the usual choice
    when many environments share a cluster); `gateway` renders Gateway API HTTPRoutes
    attached to the named shared Gateway.
    """

    mode: IngressMode | None = None
    class_name: str | None = Field(default=None, alias="class")
    gateway: str | None = None  # gateway mode: the Gateway, as NAME or NAMESPACE/NAME
    controller_namespace: str | None = None
    # Node CIDRs of an ingress controller (or data plane) on hostNetwork: its traffic comes
    # from the node's address, not from a pod of controller_namespace.
    from_cidrs: list[str] | None = None
    # The ports the ingress controller's pods (or, on hostNetwork, the nodes of
    # `from_cidrs`) serve the public sites on, as the pods see them after kube-proxy: the
    # environment's pods may call their own public hosts there, nothing else of it.
    controller_ports: list[Port] | None = None
    tls: Tls | None = None

    _class = field_validator("class_name")(_check_subdomain)
    _namespace = field_validator("controller_namespace")(_check_label)

    @field_validator("from_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return [str(ipaddress.ip_network(cidr, strict=False)) for cidr in value]
        except ValueError as error:
            raise ValueError(f"not a CIDR: {error}") from None


class Cluster(Strict):
    """Which cluster the fleet runs on: a kubeconfig context, or the local sandbox; and
    where on it the pods find what runs outside the pod network."""

    context: str | None = None
    sandbox: str | None = None
    # Environments whose pods run on the sandbox's real nodes (`sandbox up --real-nodes`):
    # real data services and Caddy, stand-ins for the Open edX images.
    real_nodes: tuple[str, ...] = ()
    # The API server's endpoint addresses (the `kubernetes` Service's EndpointSlice) and
    # ports: a pod's packets to the Service's address reach NetworkPolicy after kube-proxy
    # rewrote them to these, so only an ipBlock of them admits a service that needs the API.
    api_server_cidrs: tuple[Cidr, ...] = ()
    api_server_ports: Annotated[tuple[Port, ...], Field(min_length=1)] = (443, 6443)
    # DNS servers on the nodes' network rather than in pods: NodeLocal DNSCache's address
    # (169.254.20.10) and the kube-dns Service address it answers on.
    dns_cidrs: tuple[Cidr, ...] = ()

    @model_validator(mode="after")
    def _one_target(self) -> Cluster:
        if self.context and self.sandbox:
            raise ValueError("set either context or sandbox, not both")
        if self.real_nodes and not self.sandbox:
            raise ValueError("real_nodes are the sandbox's: set sandbox too")
        return self


# An exact release: pip pins it as ==VERSION, and upgrades compare it part by part.
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
DISTRIBUTION_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def _check_version(value: str) -> str:
    if not EXACT_VERSION.match(value):
        raise ValueError(f"{value!r} is not an exact release such as 21.0.9 (MAJOR.MINOR.PATCH)")
    return value


class Release(Strict):
    """The Tutor release and plugin releases an environment renders with. An environment
    that pins nothing renders with the Tutor installed beside campus."""

    tutor: str | None = None
    # Tutor plugin name (as in `plugins:`) -> exact version of its distribution `tutor-NAME`.
    plugins: dict[str, str] | None = None
    # Tutor plugin name -> its distribution, for a plugin not published as `tutor-NAME`
    # (`aspects: tutor-contrib-aspects`).
    distributions: dict[str, str] | None = None

    _tutor = field_validator("tutor")(lambda value: value and _check_version(value))

    @field_validator("distributions")
    @classmethod
    def _distribution_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, distribution in (value or {}).items():
            _check_label(name)
            if not DISTRIBUTION_NAME.match(distribution):
                raise ValueError(f"{distribution!r} is not a distribution name (PEP 508)")
        return value

    @field_validator("plugins")
    @classmethod
    def _plugin_versions(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, version in (value or {}).items():
            _check_label(name)
            _check_version(version)
        return value


class Egress(Strict):
    """A destination outside the cluster that every pod of the environment may reach: an
    external database, an SMTP relay, object storage. Everything else outside the
    environment's namespace is denied (`campus.harden.egress`)."""

    cidr: Cidr
    ports: Annotated[list[Port], Field(min_length=1)]
    protocol: Protocol = "TCP"
    # A CIDR covering a cloud metadata address, or every address (0.0.0.0/0, ::/0), is
    # refused unless this says it is meant, with a reason; the metadata addresses stay
    # excepted either way.
    allow_any: bool = False
    reason: str | None = None


class Settings(Strict):
    """What `defaults` and each environment may set; every field is optional so that
    inheritance can tell "not set" from "set"."""

    tutor: dict[str, Any] | None = None
    plugins: list[str] | None = None
    size: SizeName | None = None
    production: bool | None = None
    replicas: dict[str, Count] | None = None
    autoscaling: dict[str, Autoscaling] | None = None
    resources: dict[str, ServiceResources] | None = None
    ingress: Ingress | None = None
    services: dict[str, ServiceOverride] | None = None
    release: Release | None = None
    # Name -> destination; in an environment, a name set to null drops the defaults' one.
    egress: dict[str, Egress | None] | None = None

    @field_validator("egress")
    @classmethod
    def _egress_names(
        cls, value: dict[str, Egress | None] | None
    ) -> dict[str, Egress | None] | None:
        for name in value or {}:
            _check_label(name)  # part of its NetworkPolicy's name
        return value

    backup: BackupSpec | None = None  # restic snapshots to an S3 store (docs/backups.md)
    monitoring: MonitoringSpec | None = None  # alerting rules (docs/monitoring.md)

    @field_validator("tutor")
    @classmethod
    def _tutor_keys_upper(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in value or {}:
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                raise ValueError(f"Tutor setting {key!r} is not an upper-case Tutor key")
        return value


class Hosts(Strict):
    """Public hostnames; Tutor derives the rest (e.g. the MFE host) from these."""

    lms: str
    cms: str | None = None

    @field_validator("lms", "cms")
    @classmethod
    def _valid_hostname(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            raise ValueError(
                f"{value!r} is an IP address: Ingress rules and Tutor need a host name"
            )
        if not HOSTNAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid DNS hostname: lower-case labels of letters, digits "
                "and '-', at most 63 characters each and 253 in all"
            )
        return value


class EnvironmentSpec(Settings):
    """One environment as written in the fleet file."""

    namespace: str | None = None
    hosts: Hosts

    _namespace = field_validator("namespace")(_check_label)


class FleetFile(Strict):
    """The whole fleet file."""

    cluster: Cluster = Cluster()
    defaults: Settings = Settings()
    environments: dict[str, EnvironmentSpec]

    @field_validator("environments")
    @classmethod
    def _valid_names(cls, value: dict[str, EnvironmentSpec]) -> dict[str, EnvironmentSpec]:
        if not value:
            raise ValueError("a fleet needs at least one environment")
        for name in value:
            if len(name) > 63 or not DNS1123_LABEL.match(name):
                raise ValueError(f"environment name {name!r} is not a valid DNS-1123 label")
        return value


class Environment(Strict):
    """One environment after inheritance: every decision made, nothing optional left
    that the renderer or the hardening rules would have to guess."""

    name: str
    namespace: str
    hosts: Hosts
    tutor: dict[str, Any]
    plugins: tuple[str, ...]
    size: SizeName
    production: bool
    replicas: dict[str, int]
    autoscaling: dict[str, Autoscaling]
    resources: dict[str, ServiceResources]
    ingress_mode: IngressMode
    ingress_class: str
    ingress_controller_namespace: str
    tls: Tls | None
    ingress_from_cidrs: tuple[str, ...] = ()
    ingress_controller_ports: tuple[int, ...] = (80, 443)
    gateway: str = "campus/campus"
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    # Pinned releases after inheritance; None: the Tutor installed beside campus.
    release: Release | None = None
    egress: dict[str, Egress] = Field(default_factory=dict)
    # The cluster's, for the environment's NetworkPolicies (see `Cluster`).
    api_server_cidrs: tuple[str, ...] = ()
    api_server_ports: tuple[int, ...] = (443, 6443)
    dns_cidrs: tuple[str, ...] = ()
    backup: Backup | None = None  # None: no backups
    monitoring: Monitoring = Monitoring()


class Fleet(Strict):
    """A validated fleet: the cluster and every environment resolved."""

    source: str
    cluster: Cluster
    environments: tuple[Environment, ...]
    defaults: Settings = Settings()  # as written, to tell what an environment inherits

    def select(self, names: Sequence[str] = ()) -> list[Environment]:
        """The named environments in fleet order (all when none are named)."""
        known = {e.name for e in self.environments}
        unknown = sorted(set(names) - known)
        if unknown:
            listed = ", ".join(sorted(known))
            raise UnknownEnvironment(
                f"no environment {', '.join(unknown)} in {self.source}; known: {listed}"
            )
        return [e for e in self.environments if not names or e.name in names]

    def environment(self, name: str) -> Environment:
        [environment] = self.select([name])
        return environment
