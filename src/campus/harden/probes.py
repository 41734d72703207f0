"""Rule: long-running services say when they are started, ready and alive.

Tutor defines no probes: a pod is "ready" the moment its process starts, so rollouts
send traffic to an LMS that is still loading, and a hung process is never restarted.
Each service's port and health path come from the service catalogue. The deep check
(`/heartbeat` for lms and cms; a plugin's own health path) is the startup probe. A Django
service (the catalogue says which) answers 400 to a Host header outside its ALLOWED_HOSTS,
and the kubelet sends the pod's IP: its HTTP checks send the environment's host for it,
the value of the Tutor setting its settings allow (LMS_HOST, CMS_HOST, NOTES_HOST,
XQUEUE_HOST, CREDENTIALS_HOST, DISCOVERY_HOST), and lint refuses one without it. None of
those services allows `localhost`; without the setting the check is TCP. The startup
probe: a new pod proves once that it reaches MySQL, MongoDB and the rest before it takes
traffic, and a rollout with a broken configuration stops there. Readiness and liveness are
TCP checks on the service's port: one stall of a shared dependency must not eject every
replica from the endpoints at once, nor restart them all. Liveness is slower than
readiness, so a slow pod leaves traffic long before it is killed. Why, in full:
docs/hardening.md ("Probes").
"""

from __future__ import annotations

from typing import Any

from campus.harden.rule import Rule, Violation, catalogue, service_of, violation
from campus.kube.objects import KubeObject
from campus.labels import EXEMPT_PREFIX
from campus.render.model import RenderedEnvironment
from campus.services import Kind, Service

NAME = "probes"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
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


def _probes(service: Service, container: dict[str, Any], host: str | None) -> dict[str, Any] | None:
    port = _port_of(container, service.port)
    if port is None or service.kind is Kind.WORKER:
        return None
    startup: dict[str, Any] = _tcp(port)
    if service.health and (host or not service.django):
        headers = [{"name": "Host", "value": host}] if service.django else []
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


def host_for(rendered: RenderedEnvironment, service: Service) -> str | None:
    """The Host a Django service's HTTP checks send: the value of its catalogue entry's
    Tutor setting (LMS_HOST, NOTES_HOST...), which its settings put in ALLOWED_HOSTS."""
    if not service.django or service.host_setting is None:
        return None
    config = rendered.tutor_config
    lms = str(config.get("LMS_HOST") or rendered.environment.hosts.lms)
    fallback = {"LMS_HOST": lms, "CMS_HOST": rendered.environment.hosts.cms or f"studio.{lms}"}
    value = config.get(service.host_setting) or fallback.get(service.host_setting)
    return str(value) if value else None


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    services = catalogue(rendered)
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        service = services.get(service_of(obj))
        main = obj["spec"]["template"]["spec"]["containers"][0]
        probes = _probes(service, main, host_for(rendered, service))
        if probes:
            main.update(probes)
        else:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations[EXEMPT] = WORKER_REASON if service.kind is Kind.WORKER else "serves no port"
    return objects


def _without_host(service: Service, host: str | None, container: dict[str, Any]) -> list[str]:
    """The HTTP probes of a Django service's container that send no Host it accepts."""
    if not service.django:
        return []
    return [
        kind
        for kind in PROBES
        if "httpGet" in (container.get(kind) or {})
        and {"name": "Host", "value": host}
        not in (container[kind]["httpGet"].get("httpHeaders") or [])
    ]


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    services = catalogue(rendered)
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        service = services.get(service_of(obj))
        host = host_for(rendered, service)
        for container in obj["spec"]["template"]["spec"]["containers"]:
            refused = _without_host(service, host, container)
            if refused:
                found.append(
                    violation(
                        NAME,
                        obj,
                        f"container {container['name']}: {', '.join(refused)} send no Host "
                        f"{host or '(no ' + str(service.host_setting) + ' setting)'}; Django "
                        "answers 400 to a Host outside ALLOWED_HOSTS",
                        "host",
                    )
                )
        if (obj["metadata"].get("annotations") or {}).get(EXEMPT):
            continue
        main = obj["spec"]["template"]["spec"]["containers"][0]
        missing = [p for p in PROBES if p not in main]
        if missing:
            found.append(violation(NAME, obj, f"no {', '.join(missing)} and no written reason"))
    return found


RULE = Rule(NAME, "Tutor defines no probes", apply, check)
