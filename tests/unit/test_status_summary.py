"""Summarising live objects into an environment's status: problems, health, ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from campus.status.model import age, summarise

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def deployment(name: str, desired: int, ready: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": desired},
        "status": {"readyReplicas": ready},
    }


def pod(name: str, service: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": service},
            "creationTimestamp": (NOW - timedelta(minutes=12)).isoformat(),
        },
        "spec": {"nodeName": status.pop("node", "node-1"), "containers": [{"name": service}]},
        "status": status,
    }


def test_healthy_environment_with_autoscaler_and_revision() -> None:
    hpa = {
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "lms"},
            "minReplicas": 2,
            "maxReplicas": 4,
        },
        "status": {"currentReplicas": 3},
    }
    result = summarise(
        "prod",
        "prod",
        [deployment("lms", 3, 3)],
        [pod("lms-a", "lms", phase="Running", containerStatuses=[{"ready": True}])],
        [hpa],
        [],
        (4, "2026-11-25T11:00:00+00:00"),
        now=NOW,
    )
    assert result.healthy
    [service] = result.services
    assert (service.hpa_current, service.hpa_min, service.hpa_max) == (3, 2, 4)
    assert result.revision == 4
    assert result.pods[0].age == "12m" and result.pods[0].ready == "1/1"


def test_problems_name_their_cause() -> None:
    pending = pod(
        "lms-b",
        "lms",
        node=None,
        phase="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            }
        ],
    )
    crashing = pod(
        "cms-a",
        "cms",
        phase="Running",
        containerStatuses=[
            {
                "name": "cms",
                "ready": False,
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    )
    done = pod("lms-job-x", "lms-job", phase="Succeeded")
    failed_job = {
        "metadata": {"name": "lms-init-1"},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimit"}]},
    }
    result = summarise(
        "dev",
        "dev",
        [deployment("lms", 2, 1), deployment("cms", 1, 0)],
        [pending, crashing, done],
        [],
        [failed_job],
        None,
        now=NOW,
    )
    assert not result.healthy
    assert [p.name for p in result.pods] == ["cms-a", "lms-b"]  # the finished Job pod is history
    assert result.pods[1].node == "<none>"
    assert result.pods[0].status == "CrashLoopBackOff" and result.pods[0].restarts == 7
    text = " | ".join(result.problems)
    assert "pod lms-b Pending: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu." in text
    assert "CrashLoopBackOff (7 restarts)" in text
    assert "job lms-init-1: BackoffLimit" in text


def test_ages_read_like_kubectl() -> None:
    assert [age(NOW - timedelta(seconds=s), NOW) for s in (5, 600, 4 * 3600, 3 * 86400)] == [
        "5s",
        "10m",
        "4h",
        "3d",
    ]
    assert age(None, NOW) == "-" and age("", NOW) == "-"


def test_a_service_kind_is_what_its_deployment_says() -> None:
    widget = deployment("widget", 1, 1)
    widget["metadata"]["annotations"] = {"campus.openedx.org/service-kind": "data"}
    result = summarise("dev", "dev", [widget, deployment("mysql", 1, 1)], [], [], [], None)
    assert {s.name: s.kind for s in result.services} == {"widget": "data", "mysql": "data"}


def test_the_hpa_column_says_in_words_what_is_not_measured_yet() -> None:
    from campus.output.status import _hpa_cell
    from campus.status.model import EnvironmentStatus, ServiceStatus

    services = [
        ServiceStatus("lms", ready=3, desired=3, hpa_current=3, hpa_min=3, hpa_max=8),
        ServiceStatus("cms", ready=2, desired=2, hpa_current=None, hpa_min=2, hpa_max=4),
        ServiceStatus("caddy", ready=1, desired=1),
    ]
    cell = _hpa_cell(EnvironmentStatus("acme-prod", "acme-prod", services=services))
    assert cell == "lms 3 of 3-8, cms 2-4 (no count yet)"
    assert "?" not in cell


def fleet_of(*names: str) -> list[Any]:
    """The fleet's environments as the merge reads them: name and namespace."""
    from types import SimpleNamespace

    return [SimpleNamespace(name=name, namespace=name) for name in names]


def test_without_a_fleet_file_the_environments_are_what_the_cluster_holds() -> None:
    from campus.status.model import DeployedEnvironment, KnownEnvironment, known_environments

    deployed = [DeployedEnvironment("b", "b", 2), DeployedEnvironment("a", "ns-a", None)]
    assert known_environments(None, deployed) == [
        KnownEnvironment("a", "ns-a", planned=False, deployed=True),
        KnownEnvironment("b", "b", planned=False, deployed=True),
    ]
    assert known_environments(None, []) == []


def test_a_fleet_file_scopes_the_view_and_adds_what_is_planned_but_not_deployed() -> None:
    from campus.status.model import DeployedEnvironment, known_environments

    deployed = [DeployedEnvironment("a", "a", 1), DeployedEnvironment("other", "other", 1)]
    known = known_environments(fleet_of("c", "a"), deployed)
    assert [(k.name, k.planned, k.deployed) for k in known] == [
        ("c", True, False),
        ("a", True, True),
    ]
    # The same name in another namespace is another environment (a fleet's namespace moved).
    moved = known_environments(fleet_of("a"), [DeployedEnvironment("a", "elsewhere")])
    assert [k.deployed for k in moved] == [False]


def test_credentials_that_may_not_list_namespaces_leave_deployment_unknown() -> None:
    from campus.status.model import known_environments

    assert [k.deployed for k in known_environments(fleet_of("a", "b"), None)] == [None, None]


def test_a_planned_environment_not_deployed_reads_as_such() -> None:
    from rich.console import Console

    from campus.output.status import status_document, status_view
    from campus.status.model import EnvironmentStatus

    planned = EnvironmentStatus("acme-new", "acme-new", deployed=False)
    [document] = status_document([planned])["environments"]
    assert (document["deployed"], document["healthy"]) == (False, False)
    console = Console(width=200, record=True)
    console.print(status_view([planned]))
    [row] = [line for line in console.export_text().splitlines() if "acme-new" in line]
    assert "not deployed" in row and "degraded" not in row


def test_environments_are_selected_by_name_and_namespace_or_refused_naming_the_source() -> None:
    import pytest

    from campus.errors import CampusError
    from campus.status.model import KnownEnvironment, select_known

    known = [KnownEnvironment(n, f"ns-{n}", planned=False, deployed=True) for n in ("a", "b")]
    where = "the cluster (context prod)"
    assert select_known(known, (), None, where) == known
    assert [k.name for k in select_known(known, ("b",), None, where)] == ["b"]
    assert [k.name for k in select_known(known, (), "ns-a", where)] == ["a"]
    assert select_known([], (), None, where) == []
    with pytest.raises(
        CampusError, match=r"no environment c in the cluster \(context prod\); known: a, b"
    ):
        select_known(known, ("c", "a"), None, where)
    with pytest.raises(CampusError, match=r"no environment of the cluster .* in namespace ns-c"):
        select_known(known, (), "ns-c", where)
