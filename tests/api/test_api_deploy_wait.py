"""The deploy's wait for health, reading a watch-fed view of the namespace: watch events
end it, a refused watch fails it at once, an expired watch lists again, and network
trouble is retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fakeapi import (
    FakeApi,
    events,
    expired_event,
    listing,
    obj,
    quiet_watch,
    refusal,
    unreachable,
)

from campus.deploy.engine import PhaseFailed, _wait
from campus.deploy.phases import Phase
from campus.kube.watch import namespace_view

DEPLOYMENTS = "/apis/apps/v1/namespaces/acme/deployments"
PODS = "/api/v1/namespaces/acme/pods"
JOBS = "/apis/batch/v1/namespaces/acme/jobs"


def lms(available: int, version: str = "100") -> dict[str, Any]:
    deployment = obj(
        "apps/v1",
        "Deployment",
        "lms",
        "acme",
        spec={
            "replicas": 2,
            "selector": {"matchLabels": {"app": "lms"}},
            "template": {"metadata": {"labels": {"app": "lms"}}, "spec": {"containers": []}},
        },
        status={
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": available,
        },
    )
    deployment["metadata"].update(generation=1, resourceVersion=version)
    return deployment


def wait_for_lms(api: FakeApi, timeout: float) -> tuple[float, list[str]]:
    """Run the applications phase's wait for lms; seconds it took, and what it said."""
    said: list[str] = []
    say: Callable[[str, str], None] = lambda phase, message: said.append(message)  # noqa: E731
    started = time.monotonic()
    with namespace_view(api.client(), "acme") as view:
        _wait(view, Phase.APPLICATIONS, "Deployment", ["lms"], timeout, say, {"lms": 1})
    return time.monotonic() - started, said


def test_a_deployment_becoming_available_through_watch_events_ends_the_wait(
    api: FakeApi,
) -> None:
    api.on("GET", DEPLOYMENTS, listing("DeploymentList", [lms(available=0)]))
    api.on(
        "WATCH",
        DEPLOYMENTS,
        events(("MODIFIED", lms(1, "101")), ("MODIFIED", lms(2, "102"))),
        quiet_watch,
    )
    seconds, _ = wait_for_lms(api, timeout=10)
    assert seconds < 5


def test_without_the_event_the_wait_times_out_saying_what_it_waits_for(api: FakeApi) -> None:
    api.on("GET", DEPLOYMENTS, listing("DeploymentList", [lms(available=1)]))
    with pytest.raises(PhaseFailed, match=r"timed out after 1s: lms: 1/2 replicas available"):
        wait_for_lms(api, timeout=1)


@pytest.mark.parametrize(
    ("verb", "route"),
    [("watch", ("WATCH", PODS)), ("list", ("GET", PODS))],
)
def test_a_refused_watch_or_list_fails_the_wait_at_once_with_the_refusal(
    api: FakeApi, verb: str, route: tuple[str, str]
) -> None:
    api.on("GET", DEPLOYMENTS, listing("DeploymentList", [lms(available=0)]))
    message = f'pods is forbidden: User "dev" cannot {verb} resource "pods" in "acme"'
    api.on(*route, refusal(403, message))
    started = time.monotonic()
    with pytest.raises(PhaseFailed) as raised:
        wait_for_lms(api, timeout=15)
    assert time.monotonic() - started < 10
    assert str(raised.value) == f"applications: cannot {verb} Pods in acme: {message}"
    assert raised.value.phase is Phase.APPLICATIONS


@pytest.mark.parametrize(
    "expired",
    [expired_event(), refusal(410, "too old resource version")],
    ids=["error event", "410 answer"],
)
def test_an_expired_watch_lists_again(api: FakeApi, expired: Any) -> None:
    api.on(
        "GET",
        DEPLOYMENTS,
        listing("DeploymentList", [lms(available=0)], version="100"),
        listing("DeploymentList", [lms(available=2, version="300")], version="300"),
    )
    api.on("WATCH", DEPLOYMENTS, expired, quiet_watch)
    seconds, _ = wait_for_lms(api, timeout=10)
    assert seconds < 5
    assert api.requested("GET", DEPLOYMENTS) >= 2


def test_network_trouble_on_a_watch_is_retried(api: FakeApi) -> None:
    api.on("GET", DEPLOYMENTS, listing("DeploymentList", [lms(available=0)]))
    api.on("WATCH", PODS, unreachable, quiet_watch)
    api.on("WATCH", JOBS, refusal(503, "etcd is overloaded"), quiet_watch)
    api.on("WATCH", DEPLOYMENTS, unreachable, events(("MODIFIED", lms(2, "101"))), quiet_watch)
    seconds, _ = wait_for_lms(api, timeout=15)
    assert seconds < 10
