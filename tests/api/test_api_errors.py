"""Every request of the client campus hands out raises campus's typed errors, whatever
lightkube and httpx2 raised: each status code its type, lazy lists and watches included."""

from __future__ import annotations

import httpx2
import pytest
from fakeapi import (
    KUBECONFIG,
    SERVER,
    FakeApi,
    events,
    expired_event,
    listing,
    obj,
    refusal,
    unreachable,
)
from lightkube import KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Pod

from campus.errors import ClusterError
from campus.kube.client import KubeClient
from campus.kube.errors import (
    ApiFailure,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Refused,
    TooManyRequests,
    Unauthorized,
    Unreachable,
)

DEPLOYMENTS = "/apis/apps/v1/namespaces/acme/deployments"
WEB = f"{DEPLOYMENTS}/web"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (400, Refused),
        (422, Refused),
        (429, TooManyRequests),
        (500, Refused),
        (503, Refused),
    ],
)
def test_each_status_code_raises_its_type_with_the_servers_message(
    api: FakeApi, code: int, kind: type[ApiFailure]
) -> None:
    api.on("GET", WEB, refusal(code, f'deployments.apps "web": answer {code}'))
    with pytest.raises(kind) as raised:
        api.client().get(Deployment, "web", namespace="acme")
    assert type(raised.value) is kind
    assert isinstance(raised.value, ClusterError)  # printed to the operator as it is
    assert raised.value.code == code
    assert raised.value.reason == f'deployments.apps "web": answer {code}'
    assert str(raised.value) == raised.value.reason


def test_an_error_answer_that_is_not_json_keeps_its_code_and_text(api: FakeApi) -> None:
    api.on("GET", WEB, lambda request: httpx2.Response(503, text="upstream connect error"))
    with pytest.raises(Refused) as raised:
        api.client().get(Deployment, "web", namespace="acme")
    assert raised.value.code == 503
    assert raised.value.reason == "upstream connect error"


def test_a_transport_error_is_unreachable_and_names_the_server(api: FakeApi) -> None:
    api.on("GET", WEB, unreachable)
    with pytest.raises(Unreachable) as raised:
        api.client().get(Deployment, "web", namespace="acme")
    assert raised.value.code is None
    assert raised.value.server == SERVER
    assert (
        str(raised.value) == f"cannot reach the API server {SERVER}: [Errno 111] Connection refused"
    )


def test_each_verb_raises_typed_errors(api: FakeApi) -> None:
    client = api.client()
    api.on("POST", "/api/v1/namespaces/acme/configmaps", refusal(409, "already exists"))
    api.on("PUT", "/api/v1/namespaces/acme/configmaps/settings", refusal(409, "changed"))
    api.on("PATCH", "/api/v1/namespaces/acme/configmaps/settings", refusal(422, "invalid"))
    api.on("DELETE", "/api/v1/namespaces/acme/configmaps/settings", refusal(404, "gone"))
    api.on("GET", "/api/v1/namespaces/acme/pods/web-1/log", refusal(400, "no container"))
    settings = ConfigMap(metadata=ObjectMeta(name="settings", namespace="acme"))
    with pytest.raises(Conflict):
        client.create(settings)
    with pytest.raises(Conflict):
        client.replace(settings)
    with pytest.raises(Refused, match="invalid"):
        client.apply(settings)  # a server-side apply is a patch
    with pytest.raises(Refused, match="invalid"):
        client.patch(ConfigMap, "settings", {"data": {}}, namespace="acme")
    with pytest.raises(NotFound):
        client.delete(ConfigMap, "settings", namespace="acme")
    with pytest.raises(Refused, match="no container"):
        list(client.log("web-1", namespace="acme"))


def test_an_exec_refused_before_the_upgrade_is_typed(api: FakeApi) -> None:
    api.on("GET", "/api/v1/namespaces/acme/pods/web-1/exec", refusal(403, "no exec for you"))
    with pytest.raises(Forbidden) as raised:
        api.client().exec("web-1", namespace="acme", command=["true"])
    assert raised.value.code == 403


def test_a_list_makes_its_request_when_iterated_and_raises_typed_errors_then(
    api: FakeApi,
) -> None:
    api.on("GET", DEPLOYMENTS, refusal(403, "deployments.apps is forbidden"))
    listed = api.client().list(Deployment, namespace="acme")  # lazy, as lightkube's
    assert api.requested("GET", DEPLOYMENTS) == 0
    with pytest.raises(Forbidden, match=r"deployments\.apps is forbidden"):
        list(listed)


def test_a_list_page_that_fails_midway_raises_typed_errors(api: FakeApi) -> None:
    first_page = {
        "kind": "DeploymentList",
        "apiVersion": "apps/v1",
        "metadata": {"resourceVersion": "7", "continue": "page-2"},
        "items": [obj("apps/v1", "Deployment", "web", "acme")],
    }
    api.on(
        "GET",
        DEPLOYMENTS,
        lambda request: httpx2.Response(200, json=first_page),
        refusal(410, "the continue token expired"),
    )
    seen = []
    with pytest.raises(Gone):
        for deployment in api.client().list(Deployment, namespace="acme", chunk_size=1):
            seen.append(deployment.metadata.name)
    assert seen == ["web"]


def test_a_lists_resource_version_read_first_keeps_every_item(api: FakeApi) -> None:
    pods = [obj("v1", "Pod", name, "acme") for name in ("a", "b")]
    api.on("GET", "/api/v1/namespaces/acme/pods", listing("PodList", pods, version="42"))
    listed = api.client().list(Pod, namespace="acme")
    assert listed.resourceVersion == "42"
    assert [p.metadata.name for p in listed] == ["a", "b"]
    assert api.requested("GET", "/api/v1/namespaces/acme/pods") == 1


def test_a_lists_resource_version_raises_typed_errors(api: FakeApi) -> None:
    api.on("GET", "/api/v1/namespaces/acme/pods", unreachable)
    with pytest.raises(Unreachable):
        _ = api.client().list(Pod, namespace="acme").resourceVersion


def test_a_refused_watch_raises_forbidden_with_the_servers_message(api: FakeApi) -> None:
    api.on("WATCH", DEPLOYMENTS, refusal(403, 'User "dev" cannot watch resource "deployments"'))
    with pytest.raises(Forbidden) as raised:
        next(iter(api.client().watch(Deployment, namespace="acme")))
    assert raised.value.reason == 'User "dev" cannot watch resource "deployments"'


def test_an_expired_watch_raises_gone(api: FakeApi) -> None:
    web = obj("apps/v1", "Deployment", "web", "acme")
    api.on("WATCH", DEPLOYMENTS, events(("ADDED", web)), expired_event())
    watch = iter(api.client().watch(Deployment, namespace="acme", resource_version="1"))
    event, deployment = next(watch)
    assert (event, deployment.metadata.name) == ("ADDED", "web")
    with pytest.raises(Gone, match="too old resource version"):
        next(watch)


def test_a_watch_that_loses_the_server_is_unreachable(api: FakeApi) -> None:
    api.on("WATCH", DEPLOYMENTS, unreachable)
    with pytest.raises(Unreachable):
        next(iter(api.client().watch(Deployment, namespace="acme")))


def test_a_failing_credential_plugin_is_unauthorized(api: FakeApi) -> None:
    exec_user = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "false",  # a cloud's login helper that fails: the session expired
    }
    config = {**KUBECONFIG, "users": [{"name": "operator", "user": {"exec": exec_user}}]}
    client = KubeClient(KubeConfig.from_dict(config), transport=api.transport())
    with pytest.raises(Unauthorized, match="cannot get credentials: Exec false returned 1"):
        client.get(Deployment, "web", namespace="acme")
    assert api.requests == []


def test_fresh_clients_share_the_transport_and_translate_too(api: FakeApi) -> None:
    api.on("GET", WEB, refusal(404, "not found"))
    fresh = api.client().fresh()
    assert isinstance(fresh, KubeClient)
    with pytest.raises(NotFound):
        fresh.get(Deployment, "web", namespace="acme")
