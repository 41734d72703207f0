"""What campus knows about one service: the typed entry of the service catalogue. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from campus.fleet.model import SizeName


class Kind(StrEnum):
    """What a service is, which decides how it is probed, replicated and counted.

    web: serves a port to users or other pods and holds no data of its own;
    worker: serves no port (Celery); data: keeps state (a database, a search index, files);
    job: runs to completion (Tutor's init tasks)."""

    WEB = "web"
    WORKER = "worker"
    DATA = "data"
    JOB = "job"


class Phase(StrEnum):
    """The deploy phase a workload is rolled out in: backing services are Ready before any
    init Job runs; applications switch only after the init Jobs complete."""

    BACKING = "backing"
    APPLICATIONS = "applications"


@dataclass(frozen=True)
class Sizing:
    """CPU request, memory request and memory limit of each container, and its scratch
    space on the node's disk (ephemeral storage: its writable layer, logs, emptyDir
    volumes): the request the scheduler reserves and the limit past which the kubelet
    evicts this pod alone, before a runaway log or temporary file fills the node."""

    cpu: str
    memory: str
    memory_limit: str
    ephemeral: str = "256Mi"
    ephemeral_limit: str = "1Gi"


Profiles = Mapping[SizeName, Sizing]
Scratch = Mapping[SizeName, tuple[str, str]]

# Scratch space by size: a service that writes little more than its logs (the runtime
# rotates them) needs a few hundred MiB; the limit leaves room for a burst.
SCRATCH: Scratch = MappingProxyType(
    {"small": ("256Mi", "1Gi"), "medium": ("256Mi", "2Gi"), "large": ("512Mi", "2Gi")}
)


def profiles(
    small: tuple[str, str, str],
    medium: tuple[str, str, str],
    large: tuple[str, str, str],
    scratch: Scratch = SCRATCH,
) -> Profiles:
    return MappingProxyType(
        {
            "small": Sizing(*small, *scratch["small"]),
            "medium": Sizing(*medium, *scratch["medium"]),
            "large": Sizing(*large, *scratch["large"]),
        }
    )


# Plugin services nobody measured: enough for a small Django or Node service.
GENERIC_SIZING = profiles(
    ("100m", "256Mi", "1Gi"), ("200m", "512Mi", "1Gi"), ("250m", "512Mi", "2Gi")
)


@dataclass(frozen=True)
class ApiAccess:
    """One thing a service asks of the Kubernetes API in its own namespace: the verbs on
    the resources of one API group (an RBAC rule of its Role)."""

    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    api_group: str = ""

    def rule(self) -> dict[str, list[str]]:
        return {
            "apiGroups": [self.api_group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }


@dataclass(frozen=True)
class Outbound:
    """Ports on public internet addresses a service connects to, and why: its pods get
    egress there (every address but private, shared, link-local and metadata ones:
    `campus.harden.egress`). `when_terminating_tls`: only while the service terminates
    TLS itself (Tutor's ENABLE_WEB_PROXY and ENABLE_HTTPS, Caddy in `caddy` mode)."""

    ports: tuple[int, ...]
    why: str
    protocol: str = "TCP"
    when_terminating_tls: bool = False


@dataclass(frozen=True)
class LogVolume:
    """A directory the service's own settings write log files into, never rotated: an
    emptyDir of `size_limit` mounted there keeps them off the container's writable layer,
    so the kubelet evicts a pod whose files outgrow it naming that volume."""

    path: str
    size_limit: str
    name: str = "logs"


@dataclass(frozen=True)
class Service:
    """One service (a Deployment Tutor renders, named after it).

    `stateless` says a second replica on another node is safe: production environments
    run 2+ of every stateless service (a data volume mounted by the Deployment overrides
    it: a ReadWriteOnce volume pins one pod). `health` is the HTTP path that proves the
    service reached its own dependencies (the startup probe); None means a TCP check on
    `port`. `django` says the service is a Django application: it answers 400 to a Host
    header outside its ALLOWED_HOSTS, and a probe from the kubelet would otherwise send the
    pod's IP, so its HTTP check sends the value of the Tutor setting `host_setting`, the
    host the service's settings put in ALLOWED_HOSTS (LMS_HOST, NOTES_HOST...); without
    that setting in the environment's configuration the check is TCP. `capabilities` are
    the Linux capabilities the image needs in its container's bounding set, every other
    one is dropped: a binary that carries a file capability (Caddy's,
    `cap_net_bind_service`) cannot even be executed without it, and a root process needs
    `NET_BIND_SERVICE` to bind a port below 1024. `heap_env` names the environment
    variable whose `-Xmx` sets a JVM's heap, and `maxmemory` says the service is Redis,
    whose `maxmemory` caps its data: the memory limit is sized above either
    (`campus.harden.sizing`). `needs_api` is what the service asks of the Kubernetes API
    in its namespace (JupyterHub's KubeSpawner starts notebook pods): it alone gets a
    service account token, bound to a Role of exactly these rules (`campus.harden.api_access`),
    and the only way to the API server NetworkPolicy leaves open (`campus.harden.egress`).
    `internet` is what the service reaches outside the cluster on its own: everything else
    outside its namespace is denied, but the cluster DNS and what the fleet file declares.
    `log_volume` is where the service writes log files of its own (`campus.harden.logs`).
    `celery_child_memory` says the service is a Celery worker, each of whose forked
    children holds about that much: its concurrency is sized to the memory limit
    (`campus.harden.sizing`).
    `source` says where the entry came from, for lint."""

    name: str
    kind: Kind
    port: int | None = None
    health: str | None = None
    sizing: Profiles = field(default_factory=lambda: GENERIC_SIZING, compare=False)
    phase: Phase = Phase.APPLICATIONS
    stateless: bool = True
    django: bool = False
    host_setting: str | None = None
    entry: bool = False  # receives the traffic of every public site (Tutor's Caddy)
    capabilities: tuple[str, ...] = ()
    heap_env: str | None = None
    maxmemory: bool = False
    needs_api: tuple[ApiAccess, ...] = ()
    internet: tuple[Outbound, ...] = ()
    log_volume: LogVolume | None = None
    celery_child_memory: str | None = None
    autoscaled_in_production: bool = False
    source: str = "catalogue"

    @property
    def http_front(self) -> bool:
        """Answers requests that a load balancer routes: needs time to leave the endpoints
        before it stops."""
        return self.kind is Kind.WEB and self.phase is Phase.APPLICATIONS and self.port is not None
