"""Rule: a peer linter (Checkov's Kubernetes checks, `CKV_K8S_*`) finds nothing left
unexplained.

`make test` runs Checkov over every rendered environment. Each finding is either fixed
here (service account tokens: `campus.harden.api_access` mounts one only for a service
the catalogue says talks to the API server) or
waived on the object with Checkov's own skip annotation and a reason, which
docs/hardening.md repeats. A waiver is written only where its check would fail, so a
finding that a later change fixes loses its waiver too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campus.backup.schedule import CRONJOB as BACKUP
from campus.backup.schedule import WAIVERS as BACKUP_WAIVERS
from campus.harden.rule import JOB_KINDS, Rule, Violation, catalogue, pod_spec, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.services import Catalogue

NAME = "peer"
SKIP_PREFIX = "checkov.io/skip"

Pod = dict[str, Any]


def _containers(spec: Pod) -> list[dict[str, Any]]:
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def _root_container(spec: Pod) -> bool:
    """A container that may run as root, as CKV_K8S_23 judges it: neither it nor its pod
    says runAsNonRoot, and its user (its own, else the pod's) is 0 or unset."""
    pod = spec.get("securityContext") or {}
    for container in spec.get("containers") or []:
        context = container.get("securityContext") or {}
        non_root = context.get("runAsNonRoot", pod.get("runAsNonRoot"))
        user = context.get("runAsUser", pod.get("runAsUser"))
        if not non_root and not (isinstance(user, int) and user >= 1):
            return True
    return False


def _low_uid(spec: Pod) -> bool:
    """A container whose user (its own, else the pod's) is unset or below 10000, as
    CKV_K8S_40 judges it."""
    pod = (spec.get("securityContext") or {}).get("runAsUser")
    for container in spec.get("containers") or []:
        user = (container.get("securityContext") or {}).get("runAsUser", pod)
        if not (isinstance(user, int) and user >= 10000):
            return True
    return False


def _writable_root(spec: Pod) -> bool:
    return not all(
        (c.get("securityContext") or {}).get("readOnlyRootFilesystem") for c in _containers(spec)
    )


def _added_capabilities(spec: Pod) -> bool:
    return any(
        ((c.get("securityContext") or {}).get("capabilities") or {}).get("add")
        for c in _containers(spec)
    )


def _secret_env(spec: Pod) -> bool:
    return any(
        (variable.get("valueFrom") or {}).get("secretKeyRef")
        for container in _containers(spec)
        for variable in container.get("env") or []
    )


def _no_probe(kind: str) -> Callable[[Catalogue, KubeObject, Pod], bool]:
    return lambda services, obj, spec: (
        obj["kind"] not in JOB_KINDS and not all(kind in c for c in spec.get("containers") or [])
    )


Applies = Callable[[Catalogue, KubeObject, Pod], bool]
ALWAYS: Applies = lambda services, obj, spec: True  # noqa: E731

# check: (when it would fail, why it is waived)
WAIVERS: dict[str, tuple[Applies, str]] = {
    "CKV_K8S_11": (
        lambda services, obj, spec: (
            not any(
                "cpu" in ((c.get("resources") or {}).get("limits") or {}) for c in _containers(spec)
            )
        ),
        "no CPU limit: CFS throttling would slow pods while the node has idle CPU; "
        "requests reserve CPU, memory limits stop leaks (resources.<service>.cpu_limit sets one)",
    ),
    "CKV_K8S_15": (
        ALWAYS,
        "images are pinned to versioned tags by Tutor; pulling on every start would make "
        "each pod start depend on the registry",
    ),
    "CKV_K8S_43": (
        ALWAYS,
        "Tutor pins versioned image tags, not digests; DOCKER_IMAGE_* settings can pin digests",
    ),
    "CKV_K8S_22": (
        lambda services, obj, spec: _writable_root(spec),
        "Open edX, Caddy and the data services write inside their image's filesystem "
        "(assets, caches, pid and socket files)",
    ),
    "CKV_K8S_40": (
        lambda services, obj, spec: _low_uid(spec),
        "the images fix their own user ID (Open edX images run as 1000); another UID would "
        "not own the image's files",
    ),
    "CKV_K8S_23": (
        lambda services, obj, spec: _root_container(spec),
        "Tutor sets no user for this container: it runs as its image's own user, root in "
        "Caddy's image and the MFE image built on it; another user would not own the "
        "image's files, and every capability its catalogue entry does not name is dropped",
    ),
    "CKV_K8S_25": (
        lambda services, obj, spec: _added_capabilities(spec),
        "the image's binary carries the file capability cap_net_bind_service (Caddy's "
        "official image, and the MFE image built on it), which the kernel refuses to run "
        "without it; Caddy also binds port 80 as root. Only the capabilities the catalogue "
        "entry names are added back, every other one is dropped",
    ),
    "CKV_K8S_38": (
        lambda services, obj, spec: spec.get("automountServiceAccountToken") is not False,
        "this service talks to the Kubernetes API (its catalogue entry's needs_api: "
        "JupyterHub's KubeSpawner starts notebook pods): the token is its own "
        "ServiceAccount's, bound to a Role of only what it asks",
    ),
    "CKV_K8S_35": (
        lambda services, obj, spec: _secret_env(spec),
        "Tutor's images read these settings from environment variables; the values live "
        "in Secrets only",
    ),
    "CKV_K8S_8": (
        _no_probe("livenessProbe"),
        "a container serving no port (a Celery worker, a queue consumer beside its web "
        "container): a liveness check would depend on the broker and restart every worker "
        "during a broker outage",
    ),
    "CKV_K8S_9": (
        _no_probe("readinessProbe"),
        "a container serving no port (a Celery worker, a queue consumer): no traffic to gate",
    ),
}


def _reasons(obj: KubeObject) -> dict[str, str]:
    """Reasons campus's own workloads give instead of Tutor's (the backup CronJob's)."""
    if obj["kind"] == "CronJob" and obj["metadata"].get("name") == BACKUP:
        return BACKUP_WAIVERS
    return {}


def waivers_for(services: Catalogue, obj: KubeObject, spec: Pod) -> dict[str, str]:
    own = _reasons(obj)
    return {
        check: own.get(check, reason)
        for check, (applies, reason) in WAIVERS.items()
        if applies(services, obj, spec)
    }


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        annotations = obj["metadata"].setdefault("annotations", {})
        for index, (check, reason) in enumerate(waivers_for(services, obj, spec).items(), 1):
            annotations[f"{SKIP_PREFIX}{index}"] = f"{check}={reason}"
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    """Each waiver of every workload is one docs/hardening.md explains, for a check that
    would fail on it."""
    found = []
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        wanted = waivers_for(services, obj, spec)
        waived = set()
        for key, value in (obj["metadata"].get("annotations") or {}).items():
            if key.startswith(SKIP_PREFIX):
                check_id = str(value).split("=", 1)[0]
                waived.add(check_id)
                if check_id not in wanted:
                    found.append(violation(NAME, obj, f"waives {check_id} without a reason"))
        for check_id in sorted(set(wanted) - waived):
            found.append(violation(NAME, obj, f"fails {check_id}, with no waiver saying why"))
    return found


RULE = Rule(NAME, "Checkov's CKV_K8S checks find Tutor's output unexplained", apply, check)
