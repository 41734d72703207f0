"""The Jobs `campus backup` and `campus backups` make from the live CronJob, and what a
running backup Job is said to wait on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from campus.backup.jobs import INSTANTIATE, Stage, listing_job, manual_job, stage
from campus.backup.schedule import CRONJOB, backup_objects
from campus.fleet.backup import BackupSpec, resolved
from campus.fleet.model import Environment, Hosts

NOW = datetime(2026, 11, 25, 14, 5, 9, tzinfo=UTC)


def environment() -> Environment:
    spec = BackupSpec.model_validate(
        {"store": {"repository": "s3:http://s3:7070/b", "secret": "s/k", "namespace": "s"}}
    )
    return Environment(
        name="acme",
        namespace="acme",
        hosts=Hosts(lms="learn.acme.example.org"),
        tutor={},
        plugins=(),
        size="small",
        production=False,
        replicas={},
        autoscaling={},
        resources={},
        ingress_mode="caddy",
        ingress_class="nginx",
        ingress_controller_namespace="ingress-nginx",
        tls=None,
        backup=resolved(spec),
    )


def live_cronjob(services: tuple[str, ...] = ("mysql", "caddy")) -> dict[str, Any]:
    """The rendered CronJob as the API server returns it: with a uid, on a caddy volume."""
    objects = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": name}},
                    "spec": {
                        "containers": [{"name": name, "image": f"docker.io/{name}:1"}],
                        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": name}}],
                    },
                }
            },
        }
        for name in services
    ] + [
        {"kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": {}}
        for name in services
    ]
    cronjob, _ = backup_objects(environment(), objects, {}, "22.0.3")
    cronjob["metadata"]["uid"] = "0d3f0c84-6b1d-4f5e-9a43-3f6c2b1e8a77"
    return cronjob


def test_a_manual_backup_is_the_cronjobs_template_owned_by_it() -> None:
    cronjob = live_cronjob()
    job = manual_job(cronjob, NOW)
    assert job["metadata"]["name"] == "campus-backup-manual-20261125-140509"
    assert job["metadata"]["namespace"] == "acme"
    assert job["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": CRONJOB,
            "uid": cronjob["metadata"]["uid"],
            "controller": True,
        }
    ]
    assert job["metadata"]["annotations"][INSTANTIATE] == "manual"
    assert job["metadata"]["labels"]["campus.openedx.org/environment"] == "acme"
    template = copy.deepcopy(cronjob["spec"]["jobTemplate"]["spec"])
    assert job["spec"] == template | {"backoffLimit": 0}  # watched by whoever ran it: no retry
    assert cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 1  # the CronJob untouched


def test_a_listing_is_the_backup_pod_reduced_to_restic_snapshots() -> None:
    job = listing_job(live_cronjob(), NOW)
    assert job["metadata"]["name"] == "campus-backup-list-20261125-140509"
    assert "ownerReferences" not in job["metadata"]  # a listing is no backup of the CronJob
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "campus-backup-list"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0
    pod = spec["template"]["spec"]
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "campus-backup-list"
    assert "initContainers" not in pod and "affinity" not in pod
    [restic] = pod["containers"]
    assert restic["command"] == ["restic", "snapshots", "--json"]
    assert [m["mountPath"] for m in restic["volumeMounts"]] == ["/cache", "/tmp"]
    assert sorted(v["name"] for v in pod["volumes"]) == ["cache", "tmp"]
    assert restic["securityContext"] == {"readOnlyRootFilesystem": True}  # the pod's user
    assert {e["name"] for e in restic["env"]} >= {"RESTIC_REPOSITORY", "RESTIC_PASSWORD"}


def job(**conditions: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "campus-backup-manual-1"},
        "status": {
            "conditions": [
                {"type": k, "status": "True", "reason": v} for k, v in conditions.items()
            ]
        },
    }


def pod(
    node: str | None = "node-2", phase: str = "Pending", **states: dict[str, Any]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "initContainers": [{"name": "mysql-dump"}, {"name": "mongodb-dump"}],
        "containers": [{"name": "restic"}],
    }
    if node:
        spec["nodeName"] = node
    statuses = [{"name": name, "state": state} for name, state in states.items()]
    return {
        "metadata": {"name": "campus-backup-manual-1-x7k2p"},
        "spec": spec,
        "status": {
            "phase": phase,
            "initContainerStatuses": [s for s in statuses if s["name"] != "restic"],
            "containerStatuses": [s for s in statuses if s["name"] == "restic"],
        },
    }


DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}


@pytest.mark.parametrize(
    ("the_pod", "message"),
    [
        (None, "waiting for the Job controller to create the pod"),
        (pod(node=None), "pod campus-backup-manual-1-x7k2p pending: waiting for the scheduler"),
        (
            pod(node="node-2", **{"mysql-dump": {"waiting": {"reason": "PodInitializing"}}}),
            "mysql-dump waiting on node-2: PodInitializing",
        ),
        (
            pod(**{"mysql-dump": {"running": {}}}),
            "dumping MySQL (mysql-dump running on node-2)",
        ),
        (
            pod(**{"mysql-dump": DONE, "mongodb-dump": {"running": {}}}),
            "dumping MongoDB (mongodb-dump running on node-2)",
        ),
        (
            pod(
                phase="Running",
                **{"mysql-dump": DONE, "mongodb-dump": DONE, "restic": {"running": {}}},
            ),
            "restic backing up to the store (restic running on node-2)",
        ),
    ],
)
def test_each_stage_says_what_it_waits_on(the_pod: dict[str, Any] | None, message: str) -> None:
    found = stage(job(), the_pod)
    assert (found.message, found.done, found.failed) == (message, False, False)


def test_an_unschedulable_pod_says_the_schedulers_reason() -> None:
    pending = pod(node=None)
    pending["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.",
        }
    ]
    assert stage(job(), pending).message == (
        "pod campus-backup-manual-1-x7k2p pending: Unschedulable: 0/3 nodes are available: "
        "3 node(s) didn't match pod affinity rules."
    )


def test_the_end_of_a_backup_names_the_container_whose_log_tells() -> None:
    failed = pod(
        phase="Failed", **{"mysql-dump": {"terminated": {"exitCode": 2, "reason": "Error"}}}
    )
    found = stage(job(), failed)
    assert (found.done, found.failed, found.container) == (True, True, "mysql-dump")
    assert found.message == "mysql-dump failed (Error, exit code 2) on node-2"
    succeeded = pod(phase="Succeeded", **{"mysql-dump": DONE, "mongodb-dump": DONE, "restic": DONE})
    assert stage(job(), succeeded) == Stage(
        "the backup pod completed", done=True, container="restic"
    )
    missing = pod(
        **{
            "mysql-dump": {
                "waiting": {
                    "reason": "CreateContainerConfigError",
                    "message": 'secret "campus-backup-store" not found',
                }
            }
        }
    )
    assert stage(job(), missing).failed
    syncing = pod(
        **{
            "mysql-dump": {
                "waiting": {
                    "reason": "CreateContainerConfigError",
                    "message": "failed to sync secret cache: timed out waiting for the condition",
                }
            }
        }
    )
    assert not stage(job(), syncing).failed  # the kubelet tries again by itself
    assert stage(job(Failed="DeadlineExceeded"), None).message == "the Job failed: DeadlineExceeded"
