"""The services campus knows by name: Tutor's own and those of common community plugins.

Why these sizes: an Open edX LMS or CMS uWSGI worker holds 0.5-1 GiB once warm, and Tutor
runs several per pod; Celery workers hold about as much per process; MySQL and MongoDB
want their buffer pools in memory; Caddy, Redis, SMTP and the MFE server are small; the
IDAs of plugins (notes, xqueue, credentials, discovery) are small Django services.
Requests are what the scheduler reserves; the memory limit stops a leak from taking a node.
Scratch space (ephemeral storage) is small for most services; Open edX's own (lms, cms and
their Celery workers) get more, because a course import or export unpacks its tarball
under /tmp and Django spools large uploads there; the limit evicts that one pod instead of
letting it fill the node's disk for every environment on it.

A plugin's service that is missing here is classified from what Tutor renders
(`campus.services.classify`); docs/plugin-services.md says how to add an entry. Pure.
"""

from __future__ import annotations

from campus.services.model import (
    ApiAccess,
    Kind,
    LogVolume,
    Outbound,
    Phase,
    Profiles,
    Scratch,
    Service,
    profiles,
)

_COURSES: Scratch = {"small": ("512Mi", "4Gi"), "medium": ("1Gi", "6Gi"), "large": ("1Gi", "8Gi")}
_OPENEDX = profiles(
    ("250m", "1Gi", "2Gi"), ("500m", "2Gi", "3Gi"), ("1", "3Gi", "4Gi"), scratch=_COURSES
)
_STUDIO = profiles(
    ("250m", "1Gi", "2Gi"),
    ("500m", "1536Mi", "2560Mi"),
    ("750m", "2Gi", "3Gi"),
    scratch=_COURSES,
)
_CELERY = profiles(
    ("100m", "768Mi", "1536Mi"), ("250m", "1Gi", "2Gi"), ("500m", "1536Mi", "3Gi"), scratch=_COURSES
)
_SMALL_PROXY = profiles(
    ("50m", "64Mi", "256Mi"), ("100m", "128Mi", "256Mi"), ("200m", "128Mi", "512Mi")
)
# The official Caddy image's /usr/bin/caddy carries the file capability
# cap_net_bind_service=+ep (its Dockerfile runs setcap): the kernel refuses to execute it
# (EPERM) unless NET_BIND_SERVICE is in the container's bounding set, whatever port it binds.
_CADDY = ("NET_BIND_SERVICE",)
_IDA = profiles(("100m", "384Mi", "1Gi"), ("200m", "512Mi", "1536Mi"), ("400m", "768Mi", "2Gi"))
_SEARCH = profiles(("100m", "256Mi", "512Mi"), ("200m", "512Mi", "1Gi"), ("500m", "1Gi", "2Gi"))
# tutor-discovery starts Elasticsearch with a 1 GiB heap (DISCOVERY_ELASTICSEARCH_HEAP_SIZE):
# the heap and a half requested, twice the heap as the limit (campus.harden.sizing says why,
# and follows another heap size from what is rendered).
_ELASTICSEARCH = profiles(
    ("100m", "1536Mi", "2Gi"), ("200m", "1536Mi", "2Gi"), ("500m", "1536Mi", "2Gi")
)

# Tutor's smtp service (exim-relay) delivers each mail itself, to the recipient domain's
# mail server (MX) on port 25; a relay of the operator's instead (SMTP_HOST, RUN_SMTP:
# false) is a destination the fleet file declares under `egress`.
_MAIL_DELIVERY = (Outbound((25,), "delivers mail to the recipients' mail servers (MX)"),)
# Caddy in `caddy` mode obtains its certificates itself: ACME (Let's Encrypt) over HTTPS,
# and the CA's OCSP responses it staples over HTTP.
_ACME = (
    Outbound((80, 443), "obtains its TLS certificates (ACME, OCSP)", when_terminating_tls=True),
)
# tutor-ecommerce's payment processors (PayPal, Stripe, CyberSource) are APIs on the
# internet.
_PAYMENTS = (Outbound((443,), "calls its payment processors' APIs"),)

# tutor-jupyter's hub starts each learner's notebook server as a pod (KubeSpawner), watches
# it and its events, and deletes it when it stops; with a storage class configured it also
# claims a volume per learner (z2jh's hub Role: these rules). Tutor's own Role grants
# secrets and services as well, which KubeSpawner needs only with internal_ssl or
# services_enabled, neither of which tutor-jupyter sets: reading every Secret of the
# environment (its database passwords) would come with the token.
_KUBESPAWNER = (
    ApiAccess(("pods", "persistentvolumeclaims"), ("get", "list", "watch", "create", "delete")),
    ApiAccess(("events",), ("get", "list", "watch")),
)

# Tutor's settings (common_all.py) add WatchedFileHandlers writing every record to all.log
# and tracking events to tracking.log in LOG_DIR, /openedx/data/logs, which nothing
# rotates; its console handler gets the same records. In the writable layer they count
# against the ephemeral-storage limit until the kubelet evicts the pod, every replica of a
# production Deployment at about the same age, and an eviction ignores the PDB. campus's
# settings patch (`campus.render.patches`) stops the files; a volume of its own bounds
# what still writes there apart from the /tmp scratch space, and its eviction names it.
_OPENEDX_LOGS = LogVolume("/openedx/data/logs", "512Mi")

# What one Celery child of Open edX holds: the whole platform imported (as one uWSGI
# worker, 0.5-1 GiB once warm, less the request cache and templates a web worker warms),
# about 512 MiB; Tutor's `--max-tasks-per-child=100` recycles a child before a leak takes
# it much higher. Celery forks one child per CPU of the node by default (Tutor sets no
# concurrency), 16 on a 16-CPU node against a 1.5-3 GiB limit.
_CELERY_CHILD = "512Mi"


def _data(
    name: str,
    port: int,
    sizing: Profiles,
    health: str | None = None,
    heap_env: str | None = None,
    maxmemory: bool = False,
) -> Service:
    return Service(
        name,
        Kind.DATA,
        port,
        health=health,
        sizing=sizing,
        phase=Phase.BACKING,
        stateless=False,
        heap_env=heap_env,
        maxmemory=maxmemory,
    )


def _openedx(name: str, sizing: Profiles, host_setting: str) -> Service:
    return Service(
        name,
        Kind.WEB,
        8000,
        health="/heartbeat",
        sizing=sizing,
        django=True,
        host_setting=host_setting,
        log_volume=_OPENEDX_LOGS,
        autoscaled_in_production=True,
    )


def _worker(name: str) -> Service:
    return Service(
        name,
        Kind.WORKER,
        sizing=_CELERY,
        log_volume=_OPENEDX_LOGS,
        celery_child_memory=_CELERY_CHILD,
        autoscaled_in_production=True,
    )


def _ida(name: str, health: str, internet: tuple[Outbound, ...] = ()) -> Service:
    """A plugin's Django service, whose settings put `<NAME>_HOST` (and its service name,
    but not `localhost`) in ALLOWED_HOSTS."""
    return Service(
        name,
        Kind.WEB,
        8000,
        health=health,
        sizing=_IDA,
        django=True,
        host_setting=f"{name.upper()}_HOST",
        internet=internet,
    )


KNOWN: dict[str, Service] = {
    service.name: service
    for service in (
        # Tutor
        _openedx("lms", _OPENEDX, "LMS_HOST"),
        _openedx("cms", _STUDIO, "CMS_HOST"),
        _worker("lms-worker"),
        _worker("cms-worker"),
        # Runs as root (Tutor sets no user; Caddy's image has none) and binds port 80.
        Service(
            "caddy",
            Kind.WEB,
            80,
            sizing=_SMALL_PROXY,
            entry=True,
            capabilities=_CADDY,
            internet=_ACME,
        ),
        _data(
            "mysql",
            3306,
            profiles(("250m", "512Mi", "1Gi"), ("500m", "1Gi", "2Gi"), ("1", "2Gi", "4Gi")),
        ),
        _data(
            "mongodb",
            27017,
            profiles(("100m", "256Mi", "768Mi"), ("250m", "512Mi", "1Gi"), ("500m", "1Gi", "2Gi")),
        ),
        _data(
            "redis",
            6379,
            profiles(
                ("50m", "64Mi", "256Mi"), ("100m", "128Mi", "512Mi"), ("200m", "256Mi", "1Gi")
            ),
            # Started with maxmemory at half the limit (campus.harden.sizing says why).
            maxmemory=True,
        ),
        _data("meilisearch", 7700, _SEARCH, health="/health"),
        # A mail relay: no data of its own, needed by the init Jobs' first emails.
        Service(
            "smtp",
            Kind.WEB,
            8025,
            sizing=profiles(
                ("10m", "32Mi", "128Mi"), ("20m", "32Mi", "128Mi"), ("50m", "64Mi", "128Mi")
            ),
            phase=Phase.BACKING,
            internet=_MAIL_DELIVERY,
        ),
        # tutor-mfe
        # Tutor-mfe's image is built FROM Caddy's (MFE_CADDY_DOCKER_IMAGE): port 8002, but
        # the same binary, which the kernel refuses to run without its file capability.
        Service("mfe", Kind.WEB, 8002, sizing=_SMALL_PROXY, capabilities=_CADDY),
        # tutor-notes, tutor-xqueue, tutor-credentials, tutor-discovery, tutor-ecommerce
        _ida("notes", "/heartbeat/"),
        _ida("xqueue", "/xqueue/status/"),
        _ida("credentials", "/health/"),
        _ida("discovery", "/health/"),
        _ida("ecommerce", "/health/", internet=_PAYMENTS),
        Service("ecommerce-worker", Kind.WORKER, sizing=_CELERY),
        # tutor-discovery, older Tutor search back ends
        _data("elasticsearch", 9200, _ELASTICSEARCH, heap_env="ES_JAVA_OPTS"),
        _data("opensearch", 9200, _SEARCH, heap_env="OPENSEARCH_JAVA_OPTS"),
        # tutor-minio: object storage on a volume
        _data("minio", 9000, _SEARCH, health="/minio/health/ready"),
        # tutor-jupyter: JupyterHub runs one hub (its proxy and spawner state live in it)
        Service("jupyterhub", Kind.WEB, 9045, sizing=_IDA, stateless=False, needs_api=_KUBESPAWNER),
        # tutor-forum before Tutor 18 ran the Ruby forum as a service
        Service("forum", Kind.WEB, 4567, sizing=_IDA),
    )
}

# Init Jobs (Tutor's *-job templates) run to completion. The largest is lms's and cms's
# `./manage.py migrate`: one Django process with the whole platform imported, what one
# Celery child holds (_CELERY_CHILD, 512 MiB), which also renders the state of every model
# for each of the platform's migrations it plans, growing with their number: limited at
# four times a child (2 GiB) at every size, as migrations do not grow with the
# environment, and requested at what it holds on start. The other tasks (mysql's client,
# meilisearch's curl, a plugin's script) hold far less, under the same ceiling.
_INIT_JOBS = profiles(
    ("100m", _CELERY_CHILD, "2Gi"), ("200m", _CELERY_CHILD, "2Gi"), ("250m", _CELERY_CHILD, "2Gi")
)
JOB = Service("job", Kind.JOB, sizing=_INIT_JOBS)
