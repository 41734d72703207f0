"""Connecting to a cluster: the probe tells bad credentials and a dead server apart from
a cluster that answers, and the client it hands out translates errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakeapi import SERVER, FakeApi, refusal, unreachable
from lightkube.resources.apps_v1 import Deployment

from campus.errors import ClusterError
from campus.fleet.model import Cluster
from campus.kube.client import KubeClient
from campus.kube.connect import cluster_at_hand, connect, fresh_client
from campus.kube.errors import Forbidden, NotFound, Refused, Unauthorized, Unreachable
from campus.sandbox import kubeconfig_path

PROBE = "/api/v1/namespaces/default"
CLUSTER = Cluster(context="fake")


def test_refused_credentials_are_unauthorized_with_the_advice_to_refresh_them(
    api: FakeApi, tmp_path: Path
) -> None:
    api.on("GET", PROBE, refusal(401, "Unauthorized"))
    with pytest.raises(Unauthorized) as raised:
        connect(CLUSTER, str(api.kubeconfig(tmp_path)), transport=api.transport())
    assert str(raised.value) == (
        "the API server (context fake) refused the credentials: Unauthorized; "
        "refresh them (e.g. log in to your cloud provider again)"
    )
    assert raised.value.code == 401


@pytest.mark.parametrize("code", [403, 404])
def test_a_probe_refused_or_not_found_still_connects(
    api: FakeApi, tmp_path: Path, code: int
) -> None:
    api.on("GET", PROBE, refusal(code, 'namespaces "default" is forbidden'))
    client = connect(CLUSTER, str(api.kubeconfig(tmp_path)), transport=api.transport())
    assert isinstance(client, KubeClient)
    assert api.requested("GET", PROBE) == 1


def test_an_unreachable_server_is_named(api: FakeApi, tmp_path: Path) -> None:
    api.on("GET", PROBE, unreachable)
    with pytest.raises(Unreachable) as raised:
        connect(CLUSTER, str(api.kubeconfig(tmp_path)), transport=api.transport())
    assert str(raised.value) == (
        f"cannot reach the API server {SERVER} (context fake): [Errno 111] Connection refused"
    )


def test_any_other_answer_is_reported_with_where_it_came_from(api: FakeApi, tmp_path: Path) -> None:
    api.on("GET", PROBE, refusal(503, "the server is shutting down"))
    with pytest.raises(Refused) as raised:
        connect(CLUSTER, str(api.kubeconfig(tmp_path)), transport=api.transport())
    assert (
        str(raised.value) == "the API server (context fake) answered: the server is shutting down"
    )
    assert raised.value.code == 503


def test_the_connected_client_and_its_fresh_clients_translate_errors(
    api: FakeApi, tmp_path: Path
) -> None:
    api.on("GET", PROBE, refusal(404, "no default"))
    api.on("GET", "/apis/apps/v1/namespaces/acme/deployments/web", refusal(403, "no reading"))
    client = connect(CLUSTER, str(api.kubeconfig(tmp_path)), transport=api.transport())
    for each in (client, fresh_client(client)):
        with pytest.raises(Forbidden, match="no reading"):
            each.get(Deployment, "web", namespace="acme")
    with pytest.raises(NotFound):
        fresh_client(client).get(Deployment, "lms", namespace="acme")


def test_without_a_fleet_file_the_cluster_is_picked_as_kubectl_picks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--context, else a kubeconfig's current context; with no kubeconfig at all, the
    sandbox `campus` when it runs; else an error saying what to give."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(ClusterError, match="no fleet file here"):
        cluster_at_hand()
    assert cluster_at_hand(context="prod") == Cluster(context="prod")
    assert cluster_at_hand(kubeconfig="some/kubeconfig") == Cluster()
    sandbox = kubeconfig_path("campus")
    sandbox.parent.mkdir(parents=True)
    sandbox.write_text("{}")
    assert cluster_at_hand() == Cluster(sandbox="campus")
    home = tmp_path / "home" / ".kube" / "config"
    home.parent.mkdir(parents=True)
    home.write_text("{}")
    assert cluster_at_hand() == Cluster()  # a kubeconfig at hand comes first, as for kubectl
    monkeypatch.setenv("KUBECONFIG", str(home))
    assert cluster_at_hand() == Cluster()
