"""The real nodes' ingress controller: Traefik (the proxy Harmony moved to), built from its
pinned Go module, run as a pod on the first real node, as a shared controller runs on
any cluster. Pure, but for `install`.

It serves the IngressClass `traefik`: an environment whose Ingresses name that class and
whose `ingress.controller_namespace` is `traefik` (the namespace it runs in, which the
environment's NetworkPolicy admits) is reached through it, with the Host header a
browser sends. It listens on unprivileged ports as a non-root user with every capability
dropped and a read-only root filesystem; its Service has a fixed cluster address, which
it writes into each Ingress's status, so `campus check` knows where a browser's request
would arrive. It reads Ingresses, IngressClasses, Services, EndpointSlices and Secrets
(TLS certificates) cluster-wide, and writes only Ingress status. It has no way out of
the machine: no update check, no usage report.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from campus.kube.objects import KubeObject
from campus.sandbox import sandbox_objects
from campus.sandbox.versions import TRAEFIK

NAMESPACE = "traefik"
NAME = "traefik"
INGRESS_CLASS = "traefik"
CONTROLLER = "traefik.io/ingress-controller"
IMAGE = f"campus.local/sandbox/traefik:{TRAEFIK.removeprefix('v')}"
HTTP_PORT = 8000  # unprivileged: no NET_BIND_SERVICE needed
PING_PORT = 9000
USER = 65532
# The Service's address: a fixed one in the Service range's lower band, which the API
# server keeps for fixed addresses and hands out last (kube-dns has the tenth).
ADDRESS_OFFSET = 12


def address(service_range: str) -> str:
    """The ingress controller's Service address in the sandbox's Service range."""
    return str(ipaddress.ip_network(service_range)[ADDRESS_OFFSET])


def args(service_address: str) -> list[str]:
    return [
        f"--entryPoints.web.address=:{HTTP_PORT}",
        f"--entryPoints.ping.address=:{PING_PORT}",
        "--ping.entryPoint=ping",
        "--providers.kubernetesingress=true",
        f"--providers.kubernetesingress.ingressendpoint.ip={service_address}",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.level=INFO",
        "--accesslog=true",
    ]


def _rules() -> list[dict[str, Any]]:
    read = ["get", "list", "watch"]
    return [
        {"apiGroups": [""], "resources": ["services", "secrets", "nodes"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
        {
            "apiGroups": ["networking.k8s.io"],
            "resources": ["ingresses", "ingressclasses"],
            "verbs": read,
        },
        {
            "apiGroups": ["networking.k8s.io"],
            "resources": ["ingresses/status"],
            "verbs": ["update"],
        },
    ]


def _deployment(service_address: str) -> KubeObject:
    labels = {"app.kubernetes.io/name": NAME, **sandbox_objects.LABELS}
    probe = {"httpGet": {"path": "/ping", "port": PING_PORT}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    **sandbox_objects.real_node_pod(USER),
                    "containers": [
                        {
                            "name": NAME,
                            "image": IMAGE,
                            "imagePullPolicy": "Never",
                            "args": args(service_address),
                            "ports": [
                                {"name": "http", "containerPort": HTTP_PORT},
                                {"name": "ping", "containerPort": PING_PORT},
                            ],
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "failureThreshold": 6},
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "48Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "securityContext": sandbox_objects.locked_down_container(),
                        }
                    ],
                },
            },
        },
    }


def objects(service_range: str) -> list[KubeObject]:
    """Everything the ingress controller is, in the order it is applied."""
    service_address = address(service_range)
    account = {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": sandbox_objects.LABELS},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": sandbox_objects.LABELS},
        },
        *sandbox_objects.cluster_role(f"campus-sandbox-{NAME}", _rules(), account),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS, "labels": sandbox_objects.LABELS},
            "spec": {"controller": CONTROLLER},
        },
        _deployment(service_address),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": sandbox_objects.LABELS},
            "spec": {
                "clusterIP": service_address,
                "selector": {"app.kubernetes.io/name": NAME},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
    ]
