"""The node-failure drill's analysis: gaps, recovery and the verdict, from samples."""

from __future__ import annotations

import pytest

from campus.drill.availability import (
    Sample,
    analyse,
    busiest_node,
    data_downtime,
    first_recovery,
)
from campus.kube.service_pods import pick_pods
from campus.services import Facts, Kind

DESIRED = {("prod", "lms"): 2, ("dev", "lms"): 1}
PRODUCTION = {"prod": True, "dev": False}


def samples(*rows: tuple[float, int, int, bool]) -> list[Sample]:
    return [
        Sample(at, {("prod", "lms"): prod, ("dev", "lms"): dev}, node_ready)
        for at, prod, dev, node_ready in rows
    ]


def test_production_keeps_a_replica_while_dev_loses_its_only_one() -> None:
    report = analyse(
        "node-1",
        5,
        samples(
            (0, 1, 0, True),
            (1, 1, 0, True),
            (2, 1, 0, False),
            (3, 1, 1, False),
            (4, 2, 1, False),
        ),
        DESIRED,
        PRODUCTION,
    )
    by_key = {(s.environment, s.service): s for s in report.services}
    assert by_key["dev", "lms"].seconds_without_ready == 3
    assert by_key["prod", "lms"].seconds_without_ready == 0
    assert by_key["prod", "lms"].seconds_below_desired == 4
    assert by_key["prod", "lms"].lowest == 1
    assert report.detected_after == 2
    assert report.recovered_after == 4
    assert [s.environment for s in report.outages] == ["dev"]
    assert report.passed


def test_a_production_web_service_down_fails_the_drill() -> None:
    report = analyse(
        "node-1",
        2,
        samples((0, 0, 1, True), (1, 0, 1, False), (2, 2, 1, False)),
        DESIRED,
        {"prod": True},
    )
    assert [s.service for s in report.broken_promises] == ["lms"]
    assert not report.passed
    assert report.to_dict()["passed"] is False


def test_no_recovery_and_unschedulable_pods_fail_the_drill() -> None:
    never = analyse("n", 1, samples((0, 1, 1, True), (1, 1, 1, False)), DESIRED, PRODUCTION)
    assert never.recovered_after is None and not never.passed
    stuck = analyse(
        "n", 1, samples((0, 2, 1, False)), DESIRED, PRODUCTION, ["dev/lms-x: Unschedulable"]
    )
    assert stuck.recovered_after == 0 and not stuck.passed


def test_recovery_is_the_start_of_the_last_whole_run() -> None:
    rows = samples((0, 2, 1, False), (1, 1, 1, False), (2, 2, 1, False), (3, 2, 1, False))
    assert first_recovery(rows, DESIRED) == 2


@pytest.mark.parametrize(
    ("pods", "expected"),
    [({"node-0": 3, "node-1": 5, "node-2": 5}, "node-1"), ({"b": 1, "a": 1}, "a")],
)
def test_busiest_node(pods: dict[str, int], expected: str) -> None:
    assert busiest_node(pods) == expected


def test_busiest_node_needs_pods() -> None:
    with pytest.raises(ValueError, match="no node"):
        busiest_node({})


def pod(name: str, service: str, node: str | None, ready: bool, **metadata: object) -> dict:  # type: ignore[type-arg]
    return {
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": service, **metadata}},
        "spec": {"nodeName": node, "containers": [{"name": service}]},
        "status": {"conditions": [{"type": "Ready", "status": str(ready)}]},
    }


def test_pick_pods_prefers_ready_and_skips_unscheduled_and_jobs() -> None:
    picked = pick_pods(
        [
            pod("lms-b", "lms", "n1", False),
            pod("lms-a", "lms", "n2", True),
            pod("lms-c", "lms", None, False),
            pod("cms-a", "cms", "n1", True),
            pod("lms-job", "lms", "n1", True, **{"job-name": "lms-job"}),
        ],
        "lms",
    )
    assert [(p.name, p.ready, p.container) for p in picked] == [
        ("lms-a", True, "lms"),
        ("lms-b", False, "lms"),
    ]


def test_what_a_service_is_comes_from_its_workloads_facts_not_its_name() -> None:
    desired = {("prod", "widget"): 2, ("prod", "smtp"): 2, ("prod", "vault"): 1}
    # widget: a plugin service the fallback found stateless; smtp: made single and stateful
    # by the fleet file; vault: a plugin's data service the fallback found on a volume.
    facts = {
        ("prod", "widget"): Facts(Kind.WEB, True),
        ("prod", "smtp"): Facts(Kind.WEB, False),
        ("prod", "vault"): Facts(Kind.DATA, False),
    }
    rows = [
        Sample(0, {("prod", "widget"): 0, ("prod", "smtp"): 0, ("prod", "vault"): 0}, True),
        Sample(2, {("prod", "widget"): 2, ("prod", "smtp"): 2, ("prod", "vault"): 1}, False),
    ]
    report = analyse("n", 3, rows, desired, {"prod": True}, facts=facts)
    assert [s.service for s in report.broken_promises] == ["widget"]
    outcome = {s.service: s.to_dict() for s in report.services}
    assert outcome["widget"]["mustStayUp"] and outcome["widget"]["kind"] == "web"
    assert not outcome["smtp"]["mustStayUp"]
    assert data_downtime(rows, desired, facts) == {"prod": 2.0}
    # Without facts (a workload deployed before they were written), the known entry by
    # name decides: smtp must stay up, and so must every unknown name (a stateless web
    # service, the catalogue's guess for a name alone), the data service vault included.
    by_name = analyse("n", 3, rows, desired, {"prod": True})
    assert [s.service for s in by_name.broken_promises] == ["smtp", "vault", "widget"]
