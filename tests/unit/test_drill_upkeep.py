"""Node upkeep's pure decisions: what a drain would move and when it must refuse, which
disruption budgets block a drain forever, a rotation's report, data-service downtime,
and the picture's panels."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from campus.deploy.model import DeployRequest
from campus.drill.availability import Moment, Sample, ServiceOutcome, Timeline, data_downtime
from campus.drill.control_plane import STAMP, ControlPlaneReport, DeployOutcome, stamped
from campus.drill.drain_plan import never_allows, plan_drain, selects
from campus.drill.rotation import RotatedNode, analyse_rotation
from campus.errors import CampusError
from campus.labels import SERVICE_KIND, STATELESS
from campus.output.drill_picture import rows_of, write_picture
from campus.sandbox.nodes import next_node_name

OWNERS = {"acme-prod": ("acme-prod", True), "acme-dev": ("acme-dev", False)}


def node(name: str, ready: bool = True, cordoned: bool = False, cpu: str = "8") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"unschedulable": True} if cordoned else {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(
    namespace: str,
    name: str,
    service: str,
    on: str,
    owner: str | None = "ReplicaSet",
    ready: bool = True,
    cpu: str = "500m",
) -> dict[str, Any]:
    references = [{"kind": owner, "name": "x", "controller": True}] if owner else []
    return {
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": {"app.kubernetes.io/name": service},
            "ownerReferences": references,
        },
        "spec": {
            "nodeName": on,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def budget(namespace: str, service: str, expected: int, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": service},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": service}}, **spec},
        "status": {"expectedPods": expected},
    }


NODES = [node("node-0"), node("node-1"), node("node-2")]


def test_a_drain_moves_pods_to_nodes_with_room_and_leaves_daemonsets() -> None:
    pods = [
        pod("acme-prod", "lms-a", "lms", "node-0"),
        pod("acme-prod", "lms-b", "lms", "node-1"),
        pod("acme-dev", "mysql-a", "mysql", "node-0", cpu="7"),
        pod("kube-system", "proxy-a", "proxy", "node-0", owner="DaemonSet"),
        pod("acme-dev", "big-a", "big", "node-2", cpu="7"),
        {
            **pod("acme-dev", "init-a", "init", "node-0", owner="Job"),
            "status": {"phase": "Succeeded"},
        },
    ]
    plan = plan_drain("node-0", pods, NODES, [], OWNERS)
    assert plan.allowed
    assert plan.staying == ["acme-dev/init-a", "kube-system/proxy-a"]
    moves = {m.pod: m.room_on for m in plan.moves}
    assert moves == {"lms-a": ["node-1", "node-2"], "mysql-a": ["node-1"]}


def test_a_drain_that_would_zero_a_production_web_service_is_refused() -> None:
    pods = [
        pod("acme-prod", "lms-a", "lms", "node-0"),
        pod("acme-prod", "lms-b", "lms", "node-1", ready=False),  # not serving
        pod("acme-prod", "cms-a", "cms", "node-0"),
        pod("acme-prod", "cms-b", "cms", "node-2"),
        pod("acme-dev", "lms-c", "lms", "node-0"),  # not production: may go down
    ]
    plan = plan_drain("node-0", pods, NODES, [], OWNERS)
    assert not plan.allowed
    assert len(plan.refusals) == 1
    assert "production service acme-prod/lms with no ready replica" in plan.refusals[0]


def annotated(service: dict[str, Any], kind: str, stateless: bool) -> dict[str, Any]:
    """A pod with the catalogue facts hardening puts on its template."""
    service["metadata"]["annotations"] = {
        SERVICE_KIND: kind,
        STATELESS: str(stateless).lower(),
    }
    return service


def test_a_drain_judges_a_service_by_the_facts_its_pods_carry_not_its_name() -> None:
    pods = [
        # A plugin's service no catalogue entry names, classified stateless by the fallback.
        annotated(pod("acme-prod", "widget-a", "widget", "node-0"), "web", True),
        # smtp, which the catalogue calls stateless, made single by the fleet file.
        annotated(pod("acme-prod", "smtp-a", "smtp", "node-0"), "web", False),
    ]
    plan = plan_drain("node-0", pods, NODES, [], OWNERS)
    [refusal] = plan.refusals
    assert "production service acme-prod/widget with no ready replica" in refusal


def test_a_replica_on_a_failed_node_does_not_count_as_serving() -> None:
    pods = [pod("acme-prod", "lms-a", "lms", "node-0"), pod("acme-prod", "lms-b", "lms", "node-1")]
    nodes = [node("node-0"), node("node-1", ready=False), node("node-2")]
    assert not plan_drain("node-0", pods, nodes, [], OWNERS).allowed


def test_unknown_nodes_and_pods_nobody_recreates_are_refused() -> None:
    assert "there is no node 'node-9'" in plan_drain("node-9", [], NODES, [], OWNERS).refusals[0]
    bare = [pod("default", "debug", "debug", "node-0", owner=None)]
    assert "has no controller" in plan_drain("node-0", bare, NODES, [], OWNERS).refusals[0]


@pytest.mark.parametrize(
    ("spec", "expected", "blocks"),
    [
        ({"minAvailable": 1}, 1, "minAvailable: 1 with 1 replica"),
        ({"minAvailable": 1}, 2, None),
        ({"minAvailable": "100%"}, 3, "minAvailable: 100% with 3 replicas"),
        ({"minAvailable": "50%"}, 3, None),
        ({"maxUnavailable": 0}, 3, "maxUnavailable: 0"),
        ({"maxUnavailable": "10%"}, 3, None),  # rounds up to 1
        ({"maxUnavailable": 1}, 1, None),
        ({"minAvailable": 1}, 0, None),  # covers no pod
    ],
)
def test_budgets_that_never_allow_an_eviction(
    spec: dict[str, Any], expected: int, blocks: str | None
) -> None:
    assert never_allows(budget("ns", "svc", expected, **spec)) == blocks


def test_the_single_replica_trap_is_named_with_its_fix() -> None:
    pods = [
        pod("acme-dev", "redis-a", "redis", "node-0"),
        pod("acme-dev", "lms-a", "lms", "node-0"),
    ]
    budgets = [
        budget("acme-dev", "redis", 1, minAvailable=1),
        budget("acme-dev", "cms", 1, minAvailable=1),  # covers no pod on the node
        budget("other", "redis", 1, minAvailable=1),  # another namespace
    ]
    plan = plan_drain("node-0", pods, NODES, budgets, OWNERS)
    assert plan.allowed  # kubectl would start and wait forever; campus names it
    [stuck] = plan.stuck
    assert (stuck.namespace, stuck.budget, stuck.service) == ("acme-dev", "redis", "redis")
    assert "2 or more replicas" in stuck.fix and "maxUnavailable: 1" in stuck.fix


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({}, True),
        ({"matchLabels": {"app": "lms"}}, True),
        ({"matchLabels": {"app": "cms"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["lms"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["lms"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
    ],
)
def test_label_selectors(selector: dict[str, Any], selected: bool) -> None:
    assert selects(selector, {"app": "lms"}) is selected


DESIRED = {("prod", "lms"): 2, ("dev", "mysql"): 1, ("dev", "redis"): 1, ("prod", "mysql"): 1}


def rows(*states: tuple[float, int, int, int, int]) -> list[Sample]:
    return [
        Sample(
            at,
            {("prod", "lms"): lms, ("dev", "mysql"): m, ("dev", "redis"): r, ("prod", "mysql"): p},
        )
        for at, lms, m, r, p in states
    ]


def test_data_downtime_is_the_union_of_an_environments_data_services_gaps() -> None:
    samples = rows(
        (0, 2, 1, 1, 1), (1, 1, 0, 1, 1), (2, 2, 0, 0, 1), (3, 2, 1, 0, 1), (5, 2, 1, 1, 1)
    )
    assert data_downtime(samples, DESIRED) == {"dev": 4.0}


def test_a_rotation_passes_only_when_every_node_was_replaced() -> None:
    samples = rows((0, 2, 1, 1, 1), (1, 1, 0, 1, 1), (2, 2, 1, 1, 1))
    done = [
        RotatedNode("node-0", "node-3", 4, 20, True),
        RotatedNode("node-1", "node-4", 3, 18, True),
    ]
    report = analyse_rotation(
        ["node-0", "node-1"], done, samples, DESIRED, {"prod": True}, [Moment(0, "node-3 added")]
    )
    assert report.passed and report.data_downtime == {"dev": 1.0}
    data = report.to_dict()
    assert data["productionSecondsWithoutReady"] == {"prod/lms": 0.0}
    assert data["rotated"][1] == {
        "node": "node-1",
        "replacement": "node-4",
        "evicted": 3,
        "seconds": 18,
        "deleted": True,
    }
    half = analyse_rotation(["node-0", "node-1"], done[:1], samples, DESIRED, {"prod": True}, [])
    assert not half.passed and not half.completed
    down = analyse_rotation(
        ["node-0"], done[:1], rows((0, 0, 1, 1, 1), (1, 2, 1, 1, 1)), DESIRED, {"prod": True}, []
    )
    assert not down.passed and [s.service for s in down.broken_promises] == ["lms"]


def test_the_picture_puts_production_first_and_finds_gaps_at_zero(tmp_path: Path) -> None:
    samples = rows((0, 2, 1, 1, 1), (1, 1, 0, 1, 1), (2, 2, 0, 1, 1), (3, 2, 1, 1, 1))
    timeline = Timeline(samples, DESIRED, {"prod": True, "dev": False}, [Moment(1, "failed")])
    drawn, left_out = rows_of(timeline)
    assert [r.key for r in drawn] == [
        ("prod", "lms"),
        ("prod", "mysql"),
        ("dev", "mysql"),
        ("dev", "redis"),
    ]
    assert drawn[2].gaps == [(1, 3)] and not drawn[3].gaps
    assert left_out == []  # a few services: every one drawn

    page = tmp_path / "drill.html"
    write_picture(timeline, page, "node failure: node-1")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    # Nothing to fetch: no script, stylesheet, image or font from elsewhere.
    assert not any(tag in text for tag in ("<script", "<link", "<image", "src=", "@font-face"))
    image = tmp_path / "drill.png"
    write_picture(timeline, image, "node failure")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CampusError, match=r"\.html or \.png"):
        write_picture(timeline, tmp_path / "drill.pdf", "x")


def test_a_replacement_node_takes_the_next_free_name() -> None:
    assert next_node_name({"node-0", "node-1", "node-5", "other"}) == "node-6"
    assert next_node_name(set()) == "node-0"


def test_the_control_plane_drill_stamps_only_pod_templates_and_judges_the_outcomes() -> None:
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "lms"},
        "spec": {"template": {"metadata": {"labels": {"app": "lms"}}, "spec": {}}},
    }
    service = {"kind": "Service", "metadata": {"name": "lms"}, "spec": {}}
    request = DeployRequest("prod", "prod", [deployment, service], [])
    stamp = stamped(request, "now")
    template = stamp.objects[0]["spec"]["template"]["metadata"]
    assert template["annotations"] == {STAMP: "now"} and template["labels"] == {"app": "lms"}
    assert stamp.objects[1] == service and "annotations" not in deployment["spec"]["template"]

    def report(during: str, message: str, after: str, left: int) -> ControlPlaneReport:
        return ControlPlaneReport(
            "kube-apiserver",
            3,
            2,
            [DeployOutcome("prod", during, message, 10)],
            [DeployOutcome("prod", after, "", 5)],
            20,
            {"prod": left},
        )

    assert report("deployed", "", "unchanged", 0).passed
    gap = ServiceOutcome("prod", "lms", True, 2, 0, 3.0, 3.0, "web", must_stay_up=True)
    lost = dataclasses.replace(report("deployed", "", "unchanged", 0), services=[gap])
    assert not lost.passed and lost.to_dict()["services"][0]["mustStayUp"]
    assert report("deployed", "", "unchanged", 0).interrupted_completed_after == 7
    assert report("failed", "why", "deployed", 0).interrupted_completed_after is None
    assert report("failed", "cannot reach the API server", "deployed", 0).passed
    assert not report("failed", " ", "deployed", 0).passed  # failed without saying why
    assert not report("deployed", "", "failed", 0).passed
    assert not report("deployed", "", "deployed", 2).passed  # left half-applied
