"""The sandbox's S3-compatible store for backups: versitygw (an S3 gateway over a plain
directory), built from its pinned Go module and run as a pod on the first real node, so
that backups and restores talk to a real S3 API as they would to a cloud bucket. Pure,
but for `install`.

It runs in the namespace `campus-backups` as a non-root user with every capability
dropped and a read-only root filesystem, and keeps its objects in the real node's own
directory (a hostPath: the sandbox has no volume provisioner), so they outlive the pod
and go when the sandbox is removed. Object metadata lives in a sidecar directory rather
than extended attributes, which not every filesystem under the sandbox keeps.

The Secret `campus-backups/store` holds what a backup needs to reach it: the S3 keys
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, which are also the gateway's root account) and
RESTIC_PASSWORD, the key the backups are encrypted with. campus creates it once with
random values and never overwrites it: a new key would make every earlier snapshot
unreadable. The Secret lives outside every environment's namespace for the same reason.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from campus.kube.objects import KubeObject
from campus.sandbox import sandbox_objects
from campus.sandbox.versions import VERSITYGW

NAMESPACE = "campus-backups"
NAME = "s3"
SECRET = "store"
IMAGE = f"campus.local/sandbox/versitygw:{VERSITYGW.removeprefix('v')}"
PORT = 7070
HEALTH = "/health"
USER = 65532
BUCKET = "campus"
# The Service's fixed address, after the ingress controller's (12th).
ADDRESS_OFFSET = 13
DATA = "/data"
SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD")


def address(service_range: str) -> str:
    return str(ipaddress.ip_network(service_range)[ADDRESS_OFFSET])


def endpoint() -> str:
    """The store as a pod reaches it, by the cluster DNS name of its Service."""
    return f"http://{NAME}.{NAMESPACE}.svc:{PORT}"


def repository() -> str:
    """The restic repository prefix a fleet file names for this store (`backup.store`)."""
    return f"s3:{endpoint()}/{BUCKET}"


def secret_data() -> dict[str, str]:
    """Fresh random credentials and encryption key: used only when the Secret is absent."""
    return {
        "AWS_ACCESS_KEY_ID": "campus" + secrets.token_hex(6),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "RESTIC_PASSWORD": secrets.token_urlsafe(30),
    }


def secret(data: dict[str, str]) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": sandbox_objects.LABELS},
        "type": "Opaque",
        "stringData": data,
    }


def _from_secret(variable: str, key: str) -> dict[str, object]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": key}}}


def _deployment(storage: Path) -> KubeObject:
    labels = {"app.kubernetes.io/name": NAME, **sandbox_objects.LABELS}
    probe = {"httpGet": {"path": HEALTH, "port": PORT}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
        # One writer of the directory at a time: the old pod stops before a new one starts.
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    **sandbox_objects.real_node_pod(USER),
                    "containers": [
                        {
                            "name": NAME,
                            "image": IMAGE,
                            "imagePullPolicy": "Never",
                            "args": [
                                f"--port=:{PORT}",
                                f"--health={HEALTH}",
                                "posix",
                                f"--sidecar={DATA}/meta",
                                f"{DATA}/buckets",
                            ],
                            "env": [
                                _from_secret("ROOT_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
                                _from_secret("ROOT_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
                            ],
                            "ports": [{"name": "s3", "containerPort": PORT}],
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "failureThreshold": 6},
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "securityContext": sandbox_objects.locked_down_container(),
                            "volumeMounts": [{"name": "data", "mountPath": DATA}],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "data",
                            "hostPath": {"path": str(storage), "type": "Directory"},
                        }
                    ],
                },
            },
        },
    }


def objects(service_range: str, storage: Path) -> list[KubeObject]:
    """The store's namespace, Deployment and Service, in the order they are applied (the
    Secret is created apart, once)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": sandbox_objects.LABELS},
        },
        _deployment(storage),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": sandbox_objects.LABELS},
            "spec": {
                "clusterIP": address(service_range),
                "selector": {"app.kubernetes.io/name": NAME},
                "ports": [{"name": "s3", "port": PORT, "targetPort": "s3"}],
            },
        },
    ]
