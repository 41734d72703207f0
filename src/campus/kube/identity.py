"""A kubeconfig that reaches the same API server as a client, as another identity."""

from __future__ import annotations

import base64
from pathlib import Path

from lightkube import Client

from campus.kube.objects import KubeObject


def token_kubeconfig(client: Client, context: str, user: str, token: str) -> KubeObject:
    """A kubeconfig for `client`'s API server (its address and CA) with a bearer token,
    in a context named `context` (the one the fleet file names, so it is found there)."""
    config = client.config
    cluster: dict[str, object] = {"server": config.cluster.server}
    if config.cluster.certificate_auth_data:
        cluster["certificate-authority-data"] = config.cluster.certificate_auth_data
    elif config.cluster.certificate_auth:
        path = Path(config.abs_file(config.cluster.certificate_auth))
        cluster["certificate-authority-data"] = base64.b64encode(path.read_bytes()).decode()
    if config.cluster.insecure:
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
    }
