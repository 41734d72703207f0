"""Rule: long-running services say when they are started, ready and alive.

Tutor defines no probes: a pod is "ready" the moment its process starts, so rollouts
send traffic to an LMS that is still loading, and a hung process is never restarted.
Web services get an HTTP readiness check with the environment's host (Django rejects
unknown Host headers) and TCP startup and liveness checks (a database outage must not
restart every web pod); data services get TCP checks on their port.
"""

from __future__ import annotations

from typing import Any

from campus.harden.rule import Rule, Violation, service_of, violation
from campus.kube.objects import KubeObject
from campus.labels import EXEMPT_PREFIX
from campus.render.model import RenderedEnvironment

NAME = "probes"
EXEMPT = EXEMPT_PREFIX + NAME
WORKER_REASON = (
    "Celery workers serve no port; a broker outage would fail any liveness check and "
    "restart every worker at once, and Celery already exits when it loses its broker "
    "for good, which restartPolicy Always handles"
)
# service: (port, readiness HTTP path or None for TCP)
HTTP_SERVICES: dict[str, tuple[int, str | None]] = {
    "lms": (8000, "/heartbeat"),
    "cms": (8000, "/heartbeat"),
    "meilisearch": (7700, "/health"),
    "caddy": (80, None),
    "mfe": (8002, None),
}
TCP_SERVICES = {"mysql": 3306, "mongodb": 27017, "redis": 6379, "smtp": 8025}


def _tcp(port: int) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}}


def _port_of(container: dict[str, Any], fallback: int) -> int:
    ports = container.get("ports") or []
    return int(ports[0]["containerPort"]) if ports else fallback


def _probes(service: str, container: dict[str, Any], host: str) -> dict[str, Any] | None:
    if service in HTTP_SERVICES:
        default_port, path = HTTP_SERVICES[service]
        port = _port_of(container, default_port)
        readiness: dict[str, Any] = _tcp(port)
        if path:
            headers = [{"name": "Host", "value": host}] if service in ("lms", "cms") else []
            readiness = {"httpGet": {"path": path, "port": port, "httpHeaders": headers}}
    elif service in TCP_SERVICES:
        port = _port_of(container, TCP_SERVICES[service])
        readiness = _tcp(port)
    else:
        ports = container.get("ports") or []
        if not ports:
            return None
        port = int(ports[0]["containerPort"])
        readiness = _tcp(port)
    return {
        # Open edX can take minutes to import and warm up: up to 5 minutes to start.
        "startupProbe": {**_tcp(port), "periodSeconds": 10, "failureThreshold": 30},
        "readinessProbe": {
            **readiness,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            **_tcp(port),
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
    }


def _hosts(rendered: RenderedEnvironment) -> dict[str, str]:
    config = rendered.tutor_config
    lms = str(config.get("LMS_HOST", rendered.environment.hosts.lms))
    return {"lms": lms, "cms": str(config.get("CMS_HOST", f"studio.{lms}"))}


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    hosts = _hosts(rendered)
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        service = service_of(obj)
        spec = obj["spec"]["template"]["spec"]
        main = spec["containers"][0]
        probes = _probes(service, main, hosts.get(service, hosts["lms"]))
        if probes:
            main.update(probes)
        else:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations[EXEMPT] = WORKER_REASON if service.endswith("worker") else "serves no port"
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        if (obj["metadata"].get("annotations") or {}).get(EXEMPT):
            continue
        main = obj["spec"]["template"]["spec"]["containers"][0]
        missing = [p for p in ("startupProbe", "readinessProbe", "livenessProbe") if p not in main]
        if missing:
            found.append(violation(NAME, obj, f"no {', '.join(missing)} and no written reason"))
    return found


RULE = Rule(NAME, "Tutor defines no probes", apply, check)
