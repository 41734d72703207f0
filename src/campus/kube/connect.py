"""Connecting to the cluster a fleet names: the sandbox, a kubeconfig context, or the
current context."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.resources.core_v1 import Namespace

from campus.errors import ClusterError
from campus.fleet.model import Cluster
from campus.kube.client import KubeClient
from campus.kube.errors import ApiFailure, Forbidden, NotFound, Unauthorized, Unreachable

FIELD_MANAGER = "campus"


def kubeconfig_for(cluster: Cluster, kubeconfig: str | None = None) -> tuple[KubeConfig, str]:
    """The kubeconfig to use and a short description of where it came from."""
    try:
        if cluster.sandbox and not kubeconfig:
            from campus.sandbox import kubeconfig_path

            path = Path(kubeconfig_path(cluster.sandbox))
            if not path.exists():
                raise ClusterError(
                    f"sandbox {cluster.sandbox!r} is not running: start it with "
                    f"`campus sandbox up --name {cluster.sandbox}`"
                )
            return KubeConfig.from_file(path), f"sandbox {cluster.sandbox}"
        path_text = kubeconfig or os.environ.get("KUBECONFIG")
        config = (
            KubeConfig.from_file(path_text.split(os.pathsep)[0])
            if path_text
            else KubeConfig.from_env()
        )
        context = cluster.context or config.current_context
        if context and context not in config.contexts:
            raise ClusterError(f"kubeconfig has no context {context!r}")
        return config, f"context {context}"
    except ConfigError as error:
        raise ClusterError(f"cannot load a kubeconfig: {error}") from None


def cluster_at_hand(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """The cluster to read when no fleet file names one, as kubectl picks it: `context`, or
    the kubeconfig's current context (`kubeconfig`, $KUBECONFIG, ~/.kube/config); with no
    kubeconfig at all, the campus sandbox when it runs (campus never adds its context to
    ~/.kube/config, so a first run has only the sandbox's)."""
    if context or kubeconfig or os.environ.get("KUBECONFIG"):
        return Cluster(context=context)
    if (Path.home() / ".kube" / "config").is_file():
        return Cluster()
    from campus.sandbox import DEFAULT_NAME, kubeconfig_path

    if kubeconfig_path(DEFAULT_NAME).is_file():
        return Cluster(sandbox=DEFAULT_NAME)
    raise ClusterError(
        "no fleet file here (./fleet.yml), no kubeconfig ($KUBECONFIG, ~/.kube/config) and "
        "no sandbox running: name the fleet file with -f or a kubeconfig with --kubeconfig, "
        "or start the sandbox (`campus sandbox up`)"
    )


def connect(
    cluster: Cluster,
    kubeconfig: str | None = None,
    timeout: float = 30,
    transport: httpx2.BaseTransport | None = None,
) -> KubeClient:
    """A client for the fleet's cluster, checked to answer before any work starts.
    `transport` replaces the network (tests answer with canned API responses)."""
    config, where = kubeconfig_for(cluster, kubeconfig)
    single = config.get(context_name=None if cluster.sandbox else cluster.context)
    client = KubeClient(single, field_manager=FIELD_MANAGER, timeout=timeout, transport=transport)
    try:
        # Any authenticated answer will do; 403/404 still prove reachability and credentials.
        client.get(Namespace, "default")
    except (Forbidden, NotFound):
        return client
    except Unauthorized as error:
        raise error.saying(
            f"the API server ({where}) refused the credentials: {error.reason}; "
            "refresh them (e.g. log in to your cloud provider again)"
        ) from None
    except Unreachable as error:
        raise error.saying(
            f"cannot reach the API server {error.server} ({where}): {error.reason}"
        ) from None
    except ApiFailure as error:
        raise error.saying(f"the API server ({where}) answered: {error.reason}") from None
    return client


def fresh_client(client: Client, timeout: float = 30) -> KubeClient:
    """A client of its own for another thread, talking to the same cluster as `client`.

    One HTTP connection pool shared by several threads (watches, lease renewal, concurrent
    environments) is not safe: each thread that talks to the API server gets its own."""
    if isinstance(client, KubeClient):
        return client.fresh(timeout, FIELD_MANAGER)
    return KubeClient(client.config, field_manager=FIELD_MANAGER, timeout=timeout)


def client_from_file(path: Path, timeout: float = 30) -> KubeClient:
    """A client for the current context of one kubeconfig file (a sandbox's), unchecked."""
    return KubeClient(KubeConfig.from_file(path), timeout=timeout)
