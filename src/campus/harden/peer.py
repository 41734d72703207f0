"""Rule: a peer linter (Checkov's Kubernetes checks, `CKV_K8S_*`) finds nothing left
unexplained.

`make test` runs Checkov over every rendered environment. Each finding is either fixed
here (service account tokens are not mounted: no campus pod talks to the API server) or
waived on the object with Checkov's own skip annotation and a reason, which
docs/hardening.md repeats. A waiver is written only where its check would fail, so a
finding that a later change fixes loses its waiver too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, pod_spec, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.services import Catalogue

NAME = "peer"
SKIP_PREFIX = "checkov.io/skip"

Pod = dict[str, Any]


def _containers(spec: Pod) -> list[dict[str, Any]]:
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def _non_root(spec: Pod) -> bool:
    return bool((spec.get("securityContext") or {}).get("runAsNonRoot"))


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
        obj["kind"] != "Job" and not all(kind in c for c in spec.get("containers") or [])
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
        ALWAYS,
        "Open edX, Caddy and the data services write inside their image's filesystem "
        "(assets, caches, pid and socket files)",
    ),
    "CKV_K8S_40": (
        ALWAYS,
        "the images fix their own user ID (Open edX images run as 1000); another UID would "
        "not own the image's files",
    ),
    "CKV_K8S_23": (
        lambda services, obj, spec: not _non_root(spec),
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


def waivers_for(services: Catalogue, obj: KubeObject, spec: Pod) -> dict[str, str]:
    return {
        check: reason
        for check, (applies, reason) in WAIVERS.items()
        if applies(services, obj, spec)
    }


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        # Fixed, not waived (CKV_K8S_38): no campus pod calls the API server.
        spec["automountServiceAccountToken"] = False
        annotations = obj["metadata"].setdefault("annotations", {})
        for index, (check, reason) in enumerate(waivers_for(services, obj, spec).items(), 1):
            annotations[f"{SKIP_PREFIX}{index}"] = f"{check}={reason}"
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    """Every workload mounts no token, and each of its waivers is one docs/hardening.md
    explains, for a check that would fail on it."""
    found = []
    services = catalogue(rendered)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        if spec.get("automountServiceAccountToken") is not False:
            found.append(violation(NAME, obj, "mounts a service account token it never uses"))
        wanted = waivers_for(services, obj, spec)
        for key, value in (obj["metadata"].get("annotations") or {}).items():
            if key.startswith(SKIP_PREFIX):
                check_id = str(value).split("=", 1)[0]
                if check_id not in wanted:
                    found.append(violation(NAME, obj, f"waives {check_id} without a reason"))
    return found


RULE = Rule(NAME, "Checkov's CKV_K8S checks find Tutor's output unexplained", apply, check)
