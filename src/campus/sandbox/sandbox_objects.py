"""What the sandbox itself puts in its cluster (cluster DNS, the policy engine, the
ingress controller): a read identity's ClusterRole and binding, and applying them as the
sandbox's own field manager. Pure, but for `apply`."""

from __future__ import annotations

from typing import Any

from lightkube.codecs import from_dict

from campus.kube.client import KubeClient
from campus.kube.objects import KubeObject
from campus.sandbox.node_config import REAL_NODE

FIELD_MANAGER = "campus-sandbox"
RBAC = "rbac.authorization.k8s.io"
LABELS = {"app.kubernetes.io/managed-by": "campus-sandbox"}


def cluster_role(
    name: str,
    rules: list[dict[str, Any]],
    subject: dict[str, str],
    labels: dict[str, str] | None = None,
) -> list[KubeObject]:
    """A ClusterRole of `rules` and its binding to `subject` (a User or ServiceAccount)."""
    labels = {**LABELS, **(labels or {})}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": labels},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
            "subjects": [subject],
        },
    ]


def user(name: str) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def apply(client: KubeClient, manifests: list[KubeObject]) -> None:
    for manifest in manifests:
        client.apply(from_dict(manifest), field_manager=FIELD_MANAGER, force=True)


def real_node_pod(user: int) -> dict[str, Any]:
    """What every pod the sandbox itself runs on a real node shares: placed there (it
    selects and tolerates them), non-root as `user`, the runtime's seccomp profile."""
    return {
        "nodeSelector": {REAL_NODE: "true"},
        "tolerations": [{"key": REAL_NODE, "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": user,
            "runAsGroup": user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def locked_down_container() -> dict[str, Any]:
    """The security context of every container the sandbox itself runs on a real node:
    no privilege escalation, a read-only root, no capabilities (the pod's makes it non-root)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
