"""Maintenance mode: while an upgrade's Jobs run, the environment's public sites are routed
to a small page campus owns instead of Tutor's Caddy: the page's objects, and the routes
switched to it (the rendered routes themselves restore traffic). Pure.

The page is served by unprivileged nginx (port 8080, read-only root, no capabilities, a
memory-backed /tmp), answering 503 with `Retry-After` so crawlers and clients come back.
Its own nginx.conf replaces the image's, whose `worker_processes auto` forks one worker
per CPU of the node (a few MiB each: 64 of them on a 64-CPU node pass the 32Mi limit):
one worker answers a static 503 far faster than any site's traffic needs.
"""

from __future__ import annotations

import copy
from typing import Any

from campus.kube.objects import KubeObject
from campus.labels import COMPONENT, NAME

MAINTENANCE = "campus-maintenance"
IMAGE = "docker.io/nginxinc/nginx-unprivileged:1.27.3-alpine"
PORT = 8080
_LABELS = {NAME: MAINTENANCE, COMPONENT: "maintenance"}

# The image's nginx.conf with one worker: its pid and temporary files under /tmp (the root
# is read-only), its logs straight to stderr and stdout. Not to /var/log/nginx: only the
# upstream image links its files there to stdout and stderr; in Debian's nginx (the
# sandbox's image) it is a directory of root's, on the read-only root, and nginx exits at
# start on `open() "/var/log/nginx/error.log" failed (30: Read-only file system)`.
_NGINX_MAIN = """worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
"""
# `error_page` answers from the /index.html location, which sends only its own headers:
# Retry-After goes on there too, or the 503 page goes out without it.
_NGINX = f"""server {{
    listen {PORT} default_server;
    root /usr/share/campus;
    location = /healthz {{ access_log off; return 200 "ok\\n"; }}
    location / {{ add_header Retry-After 600 always; return 503; }}
    error_page 503 /index.html;
    location = /index.html {{ internal; add_header Retry-After 600 always; }}
}}
"""
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Down for maintenance</title></head>
<body><h1>Down for maintenance</h1>
<p>This site is being upgraded and will be back shortly.</p></body></html>
"""


def objects(namespace: str, rendered: list[KubeObject]) -> list[KubeObject]:
    """The page's ConfigMap, Deployment and Service; and, when the environment admits
    traffic only to its entry pods, a copy of that policy for the page's pods."""
    meta = {"namespace": namespace, "labels": dict(_LABELS)}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": MAINTENANCE, **meta},
        "data": {"nginx.conf": _NGINX_MAIN, "default.conf": _NGINX, "index.html": _PAGE},
    }
    probe = {"httpGet": {"path": "/healthz", "port": PORT}, "periodSeconds": 5}
    container: dict[str, Any] = {
        "name": "nginx",
        "image": IMAGE,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": probe,
        "livenessProbe": probe,
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "32Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/nginx/nginx.conf", "subPath": "nginx.conf"},
            {
                "name": "config",
                "mountPath": "/etc/nginx/conf.d/default.conf",
                "subPath": "default.conf",
            },
            {
                "name": "config",
                "mountPath": "/usr/share/campus/index.html",
                "subPath": "index.html",
            },
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": MAINTENANCE, **meta},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {NAME: MAINTENANCE}},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 101},
                    "containers": [container],
                    "volumes": [
                        {"name": "config", "configMap": {"name": MAINTENANCE}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": MAINTENANCE, **meta},
        "spec": {
            "selector": {NAME: MAINTENANCE},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http"}],
        },
    }
    return [config, deployment, service, *_policy(namespace, rendered)]


def _policy(namespace: str, rendered: list[KubeObject]) -> list[KubeObject]:
    for obj in rendered:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "allow-entry":
            policy = copy.deepcopy(obj)
            policy["metadata"] = {
                "name": MAINTENANCE,
                "namespace": namespace,
                "labels": dict(_LABELS),
            }
            policy["spec"]["podSelector"] = {"matchLabels": {NAME: MAINTENANCE}}
            return [policy]
    return []


def routes(rendered: list[KubeObject]) -> list[KubeObject]:
    """The environment's Ingresses and HTTPRoutes, as rendered."""
    return [obj for obj in rendered if obj["kind"] in ("Ingress", "HTTPRoute")]


def switched(route: KubeObject) -> KubeObject:
    """The route with every backend replaced by the maintenance Service."""
    result = copy.deepcopy(route)
    if route["kind"] == "Ingress":
        backend = {"service": {"name": MAINTENANCE, "port": {"name": "http"}}}
        for rule in result["spec"].get("rules") or []:
            for path in rule.get("http", {}).get("paths") or []:
                path["backend"] = copy.deepcopy(backend)
        if "defaultBackend" in result["spec"]:
            result["spec"]["defaultBackend"] = copy.deepcopy(backend)
    else:
        ref = {"group": "", "kind": "Service", "name": MAINTENANCE, "port": PORT, "weight": 1}
        for rule in result["spec"].get("rules") or []:
            rule["backendRefs"] = [dict(ref)]
    return result


def backends(route: KubeObject) -> set[str]:
    """The Service names a live or rendered route sends traffic to."""
    spec = route.get("spec") or {}
    if route["kind"] == "Ingress":
        return {
            path["backend"]["service"]["name"]
            for rule in spec.get("rules") or []
            for path in rule.get("http", {}).get("paths") or []
        }
    return {
        ref["name"] for rule in spec.get("rules") or [] for ref in rule.get("backendRefs") or []
    }
