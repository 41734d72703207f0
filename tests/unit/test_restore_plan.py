"""What `campus restore` decides before changing anything: the snapshot, the release
check, the workloads stopped during the load and the init Jobs run again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from campus.backup.restic import Snapshot
from campus.restore import plan

NOW = datetime(2026, 12, 7, 21, 0, 0, tzinfo=UTC)


def snapshot(identifier: str, time: str, release: str = "21.0.2") -> Snapshot:
    return Snapshot(
        id=identifier,
        short_id=identifier[:8],
        time=time,
        hostname="acme-prod",
        tags=("campus", f"release={release}"),
        paths=("/backup",),
    )


SNAPSHOTS = [
    snapshot("aaaa1111" + "0" * 56, "2026-12-05T03:00:00Z"),
    snapshot("aaaa2222" + "0" * 56, "2026-12-06T03:00:00Z"),
    snapshot("bbbb3333" + "0" * 56, "2026-12-07T03:00:00Z"),
]


def test_latest_is_the_newest_and_an_id_may_be_its_start() -> None:
    assert plan.choose(SNAPSHOTS, "latest", "acme-prod") is SNAPSHOTS[-1]
    assert plan.choose(SNAPSHOTS, "aaaa2", "acme-prod") is SNAPSHOTS[1]
    with pytest.raises(plan.RestoreRefused, match="names 2 snapshots"):
        plan.choose(SNAPSHOTS, "aaaa", "acme-prod")
    with pytest.raises(plan.RestoreRefused, match=r"no snapshot 'cccc'.*bbbb3333"):
        plan.choose(SNAPSHOTS, "cccc", "acme-prod")
    with pytest.raises(plan.RestoreRefused, match="campus backup acme-prod"):
        plan.choose([], "latest", "acme-prod")


def test_a_snapshot_of_a_newer_release_is_refused_an_older_one_is_not() -> None:
    newer = snapshot("c" * 64, "2026-12-07T03:00:00Z", release="21.0.2")
    refusal = plan.release_refusal(newer, "acme-staging", "20.0.5")
    assert refusal and "newer than acme-staging's 20.0.5" in refusal and "upgrade" in refusal
    assert plan.release_refusal(newer, "acme-staging", "21.0.2") is None
    assert plan.release_refusal(newer, "acme-staging", "22.0.0") is None
    assert plan.release_refusal(newer, "acme-staging", "") is None  # unknown: not guessed


def deployment(name: str, replicas: int, service: str | None = None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": service or name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels}, "spec": {}}},
    }


def test_the_applications_stop_and_the_data_services_keep_running() -> None:
    live = [
        deployment("lms", 3),
        deployment("lms-worker", 2),
        deployment("cms", 1),
        deployment("mysql", 1),
        deployment("redis", 1),
        deployment("mongodb", 1),
        deployment("campus-maintenance", 1),
    ]
    assert plan.applications(live) == {"lms": 3, "lms-worker": 2, "cms": 1}


def job(name: str, created: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "acme",
            "creationTimestamp": created,
            "labels": {"app.kubernetes.io/managed-by": "campus", "controller-uid": "u1"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "spec": {
            "selector": {"matchLabels": {"controller-uid": "u1"}},
            "template": {
                "metadata": {"labels": {"job-name": name, "controller-uid": "u1", "a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }


def test_the_newest_run_of_each_init_task_runs_again_in_its_order() -> None:
    live = [
        job("lms-init-1-0123abcd", "2026-12-01T10:00:01Z"),
        job("mysql-init-1-89abcdef", "2026-12-01T10:00:00Z"),
        job("lms-init-1-fedcba98", "2026-12-06T10:00:01Z"),  # a later deploy's
        job("mysql-init-1-89abcd00", "2026-12-06T10:00:00Z"),
        job("campus-backup-manual-20261206", "2026-12-06T11:00:00Z"),
        job("upgrade-sumac-1-mongodb", "2026-12-06T09:00:00Z"),
    ]
    again = plan.init_jobs(live, NOW)
    assert [j["metadata"]["name"] for j in again] == [
        "mysql-init-1-restore-20261207-210000",
        "lms-init-1-restore-20261207-210000",
    ]
    copy = again[1]
    assert "selector" not in copy["spec"]
    assert copy["spec"]["template"]["metadata"]["labels"] == {"a": "b"}
    assert copy["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "campus"}
    assert copy["metadata"]["annotations"] == {}


def test_a_live_route_keeps_its_spec_and_own_metadata_only() -> None:
    route = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "lms",
            "namespace": "acme",
            "uid": "x",
            "resourceVersion": "9",
            "managedFields": [{}],
            "labels": {"app.kubernetes.io/managed-by": "campus"},
        },
        "spec": {"rules": [{"host": "learn.acme.example.org"}]},
        "status": {"loadBalancer": {}},
    }
    assert plan.live_route(route) == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "lms",
            "namespace": "acme",
            "labels": {"app.kubernetes.io/managed-by": "campus"},
            "annotations": {},
        },
        "spec": {"rules": [{"host": "learn.acme.example.org"}]},
    }


def test_waiting_for_the_applications_ends_at_once_on_a_crash_loop() -> None:
    import pytest

    from campus.errors import CampusError
    from campus.restore.run import rolled_out

    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "lms", "generation": 2},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "lms"}}},
        "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1},
    }
    pod = {
        "metadata": {"name": "lms-7c9", "labels": {"app.kubernetes.io/name": "lms"}},
        "status": {
            "containerStatuses": [
                {
                    "name": "lms",
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                }
            ]
        },
    }
    check = rolled_out(["lms"])
    assert check({"lms": deployment}, {}) == "lms: 0/1 replicas available"
    with pytest.raises(CampusError, match="CrashLoopBackOff"):
        check({"lms": deployment}, {"lms-7c9": pod})
    ready = {**deployment, "status": {**deployment["status"], "availableReplicas": 1}}
    assert check({"lms": ready}, {"lms-7c9": pod}) is None
