"""Rule: long-running services say when they are started, ready and alive.

Tutor defines no probes: a pod is "ready" the moment its process starts, so rollouts
send traffic to an LMS that is still loading, and a hung process is never restarted.
Each service's port and health path come from the service catalogue. The deep check
(`/heartbeat` for lms and cms, with the environment's Host, since Django refuses unknown
Host headers; a plugin's own health path) is the startup probe: a new pod proves once that
it reaches MySQL, MongoDB and the rest before it takes traffic, and a rollout with a broken
configuration stops there. Readiness and liveness are TCP checks on the service's port:
one stall of a shared dependency must not eject every replica from the endpoints at once,
nor restart them all. Liveness is slower than readiness, so a slow pod leaves traffic long
before it is killed. Why, in full: docs/hardening.md ("Probes").
"""

from __future__ import annotations

from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, service_of, violation
from campus.kube.objects import KubeObject
from campus.labels import EXEMPT_PREFIX
from campus.render.model import RenderedEnvironment
from campus.services import Kind, Service

NAME = "probes"
EXEMPT = EXEMPT_PREFIX + NAME
WORKER_REASON = (
    "Celery workers serve no port; a broker outage would fail any liveness check and "
    "restart every worker at once, and Celery already exits when it loses its broker "
    "for good, which restartPolicy Always handles"
)


def _tcp(port: int) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}}


def _port_of(container: dict[str, Any], fallback: int | None) -> int | None:
    ports = container.get("ports") or []
    return int(ports[0]["containerPort"]) if ports else fallback


def _probes(service: Service, container: dict[str, Any], host: str) -> dict[str, Any] | None:
    port = _port_of(container, service.port)
    if port is None or service.kind is Kind.WORKER:
        return None
    startup: dict[str, Any] = _tcp(port)
    if service.health:
        headers = [{"name": "Host", "value": host}] if service.host_header else []
        startup = {"httpGet": {"path": service.health, "port": port, "httpHeaders": headers}}
    return {
        # Open edX can take minutes to import and warm up: up to 5 minutes to start.
        "startupProbe": {
            **startup,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 30,
        },
        # Out of the endpoints after 30 s without answering...
        "readinessProbe": {
            **_tcp(port),
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        # ...restarted only after 2 minutes.
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
    services = catalogue(rendered)
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        service = services.get(service_of(obj))
        main = obj["spec"]["template"]["spec"]["containers"][0]
        probes = _probes(service, main, hosts.get(service.name, hosts["lms"]))
        if probes:
            main.update(probes)
        else:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations[EXEMPT] = WORKER_REASON if service.kind is Kind.WORKER else "serves no port"
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
