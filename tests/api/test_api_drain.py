"""Evictions at the HTTP edge: the Eviction API's 429 (a PodDisruptionBudget allows no
disruption now) is a refusal a drain expects and retries, a pod already gone is evicted,
anything else is raised as the error it is; the drain stops on a budget that never allows
an eviction instead of retrying it for ever."""

from __future__ import annotations

import pytest
from fakeapi import FakeApi, answer, listing, obj, refusal

from campus.drill.drain import drain
from campus.kube.drain import evict
from campus.kube.errors import Refused

EVICTION = "/api/v1/namespaces/acme/pods/redis-1/eviction"
BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget."
EVICTED = answer({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}, 201)


def test_a_budget_refusal_is_a_value_and_a_gone_pod_is_evicted(api: FakeApi) -> None:
    api.on("POST", EVICTION, refusal(429, BLOCKED), refusal(404, "pods redis-1 not found"))
    client = api.client()
    held = evict(client, "acme", "redis-1")
    assert not held.done and held.blocked == BLOCKED
    assert evict(client, "acme", "redis-1").done


def test_other_eviction_failures_are_raised(api: FakeApi) -> None:
    api.on("POST", EVICTION, refusal(500, "etcd is gone"))
    with pytest.raises(Refused, match="etcd is gone"):
        evict(api.client(), "acme", "redis-1")


def test_a_drain_stops_on_a_budget_that_never_allows_the_eviction(api: FakeApi) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "resourceVersion": "100"},
        "status": {
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    pod = obj(
        "v1",
        "Pod",
        "redis-1",
        "acme",
        spec={"nodeName": "node-1", "containers": [{"name": "redis", "image": "redis"}]},
        status={"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    )
    pod["metadata"]["labels"] = {"app.kubernetes.io/name": "redis"}
    pod["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "redis-x",
            "uid": "1",
            "controller": True,
        }
    ]
    budget = obj(
        "policy/v1",
        "PodDisruptionBudget",
        "redis",
        "acme",
        spec={"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}},
        status={
            "expectedPods": 1,
            "currentHealthy": 1,
            "desiredHealthy": 1,
            "disruptionsAllowed": 0,
        },
    )
    api.on("GET", "/api/v1/pods", listing("PodList", [pod]))
    api.on("GET", "/api/v1/namespaces/acme/pods", listing("PodList", [pod]))
    api.on("GET", "/api/v1/nodes", listing("NodeList", [node]))
    api.on("PATCH", "/api/v1/nodes/node-1", answer(node))
    api.on(
        "GET", "/apis/policy/v1/poddisruptionbudgets", listing("PodDisruptionBudgetList", [budget])
    )
    api.on(
        "GET",
        "/apis/policy/v1/namespaces/acme/poddisruptionbudgets",
        listing("PodDisruptionBudgetList", [budget]),
    )
    api.on("POST", EVICTION, refusal(429, BLOCKED))
    result = drain(api.client(), "node-1", [], timeout=30, retry=0.01)
    assert not result.complete and result.evicted == []
    [stuck] = result.stuck
    assert (stuck.budget, stuck.service) == ("redis", "redis")
    assert result.blocked == {"acme/redis-1": BLOCKED}
    assert api.requested("POST", EVICTION) == 1  # named at once, not retried for ever
    assert api.requested("PATCH", "/api/v1/nodes/node-1") == 1  # cordoned
