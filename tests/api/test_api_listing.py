"""`campus.kube.listing`: many objects as plain dicts, page after page, with the client's
errors translated and the garbage collector left as it was found."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator

import httpx2
import pytest
from fakeapi import FakeApi, listing, obj, refusal, unreachable
from lightkube.resources.core_v1 import Pod, Secret

from campus.kube.errors import Forbidden, Unreachable
from campus.kube.listing import collector_paused, list_objects

PODS = "/api/v1/pods"


def pod(name: str) -> dict[str, object]:
    return obj("v1", "Pod", name, "acme", status={"phase": "Running", "podIP": None})


def page(names: list[str], following: str) -> httpx2.Response:
    body = {"kind": "PodList", "apiVersion": "v1", "items": [pod(n) for n in names]}
    body["metadata"] = {"resourceVersion": "100", "continue": following}
    return httpx2.Response(200, content=json.dumps(body).encode())


def test_objects_arrive_as_the_servers_dicts_page_after_page(api: FakeApi) -> None:
    asked: list[str | None] = []

    def pages(request: httpx2.Request) -> httpx2.Response:
        asked.append(request.url.params.get("continue"))
        return page(["a", "b"], "next") if len(asked) == 1 else page(["c"], "")

    api.on("GET", PODS, pages)
    found = list_objects(api.client(), Pod)
    assert [p["metadata"]["name"] for p in found] == ["a", "b", "c"]
    assert asked == [None, "next"]
    assert found[0]["status"] == {"phase": "Running", "podIP": None}  # as sent, nulls kept


def test_a_label_selector_and_a_namespace_are_asked_of_the_server(api: FakeApi) -> None:
    selectors: list[str | None] = []

    def secrets(request: httpx2.Request) -> httpx2.Response:
        selectors.append(request.url.params.get("labelSelector"))
        return listing("SecretList", [obj("v1", "Secret", "s", "acme")])(request)

    api.on("GET", "/api/v1/namespaces/acme/secrets", secrets)
    found = list_objects(api.client(), Secret, "acme", {"campus.openedx.org/revision": None})
    assert [s["metadata"]["name"] for s in found] == ["s"]
    assert selectors == ["campus.openedx.org/revision"]


def test_refusals_and_lost_connections_are_campus_errors(api: FakeApi) -> None:
    api.on("GET", PODS, refusal(403, 'pods is forbidden: User "dev" cannot list'))
    with pytest.raises(Forbidden, match='User "dev" cannot list'):
        list_objects(api.client(), Pod)
    api.on("GET", PODS, unreachable)
    with pytest.raises(Unreachable):
        list_objects(api.client(), Pod)


def switch(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.fixture
def collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    switch(enabled)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was_found(
    api: FakeApi, collector: None, enabled: bool
) -> None:
    switch(enabled)
    api.on("GET", PODS, listing("PodList", [pod("a")]))
    list_objects(api.client(), Pod)
    assert gc.isenabled() is enabled
    api.on("GET", PODS, refusal(403, "forbidden"))
    with pytest.raises(Forbidden):
        list_objects(api.client(), Pod)
    assert gc.isenabled() is enabled


def test_the_collector_stays_paused_until_the_last_thread_leaves(collector: None) -> None:
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    thread.join(5)
    assert gc.isenabled()
