"""`campus backup` and `campus backups` against the fake API server: their Job created
from the live CronJob, followed through watch events, restic's JSON read from the pod's
log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from fakeapi import FakeApi, answer, events, obj, quiet_watch

from campus.backup.run import list_snapshots, run_backup
from campus.backup.schedule import CRONJOB
from campus.errors import CampusError

JOBS = "/apis/batch/v1/namespaces/acme/jobs"
PODS = "/api/v1/namespaces/acme/pods"


def cronjob() -> dict[str, Any]:
    restic = {
        "name": "restic",
        "image": "docker.io/restic/restic:0.18.1",
        "command": ["/bin/sh", "-c", "restic backup ..."],
        "volumeMounts": [
            {"name": "dumps", "mountPath": "/backup"},
            {"name": "cache", "mountPath": "/cache"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {
        "initContainers": [{"name": "mysql-dump", "image": "docker.io/mysql:8.4.11"}],
        "containers": [restic],
        "volumes": [{"name": n, "emptyDir": {}} for n in ("dumps", "cache", "tmp")],
    }
    labels = {"app.kubernetes.io/name": CRONJOB, "campus.openedx.org/environment": "acme"}
    found = obj(
        "batch/v1",
        "CronJob",
        CRONJOB,
        "acme",
        spec={
            "schedule": "0 3 * * *",
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {"backoffLimit": 1, "template": {"spec": pod}},
            },
        },
    )
    found["metadata"]["uid"] = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    return found


class Cluster:
    """What the fake answers once a Job is created: its pod, ended as `ending` says."""

    def __init__(self, api: FakeApi, ending: Callable[[str], dict[str, Any]]) -> None:
        self.created: list[dict[str, Any]] = []
        self.ending = ending
        api.on("GET", f"/apis/batch/v1/namespaces/acme/cronjobs/{CRONJOB}", answer(cronjob()))
        api.on("POST", JOBS, self.create)
        api.on("WATCH", PODS, self.pods)

    def create(self, http: httpx2.Request) -> httpx2.Response:
        job = json.loads(http.content)
        job["metadata"]["resourceVersion"] = "101"
        self.created.append(job)
        return httpx2.Response(201, json=job)

    def pods(self, http: httpx2.Request) -> httpx2.Response:
        if not self.created:
            return quiet_watch(http)
        name = self.created[-1]["metadata"]["name"]
        template = self.created[-1]["spec"]["template"]["spec"]
        spec = {
            "nodeName": "node-1",
            **{k: template[k] for k in ("initContainers", "containers") if k in template},
        }
        pod = obj("v1", "Pod", f"{name}-x7k2p", "acme", spec=spec)
        pod["metadata"]["labels"] = {"job-name": name}
        pod["metadata"]["resourceVersion"] = "102"
        pod["status"] = self.ending(name)
        return events(("ADDED", pod))(http)


def terminated(name: str, code: int) -> dict[str, Any]:
    return {
        "name": name,
        "image": "docker.io/restic/restic:0.18.1",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "state": {
            "terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
        },
    }


def log(api: FakeApi, pod: str, *lines: str) -> None:
    body = "".join(f"{line}\n" for line in lines).encode()
    api.on("GET", f"{PODS}/{pod}/log", lambda http: httpx2.Response(200, content=body))


SUMMARY = {
    "message_type": "summary",
    "files_new": 2,
    "files_changed": 0,
    "files_unmodified": 0,
    "data_added": 1048576,
    "total_files_processed": 2,
    "total_bytes_processed": 3145728,
    "total_duration": 4.2,
    "snapshot_id": "40dc1520",
}


def test_a_backup_runs_the_cronjobs_template_and_reads_restics_summary(api: FakeApi) -> None:
    def succeeded(name: str) -> dict[str, Any]:
        log(
            api,
            f"{name}-x7k2p",
            '{"message_type":"status","percent_done":0.5}',
            json.dumps(SUMMARY),
        )
        return {
            "phase": "Succeeded",
            "initContainerStatuses": [terminated("mysql-dump", 0)],
            "containerStatuses": [terminated("restic", 0)],
        }

    cluster = Cluster(api, succeeded)
    said: list[str] = []
    run, summary = run_backup(api.client(), "acme", "acme", said.append)
    [job] = cluster.created
    assert job["metadata"]["name"].startswith("campus-backup-manual-")
    assert job["metadata"]["ownerReferences"][0]["uid"] == cronjob()["metadata"]["uid"]
    assert job["spec"]["backoffLimit"] == 0
    assert not run.failed and run.node == "node-1"
    assert summary is not None and summary.snapshot_id == "40dc1520"
    assert summary.total_bytes_processed == 3145728
    assert said[0] == f"created Job {job['metadata']['name']}"


def test_a_failed_dump_ends_the_backup_with_its_last_log_lines(api: FakeApi) -> None:
    def failed(name: str) -> dict[str, Any]:
        log(api, f"{name}-x7k2p", "mysqldump: Got error: 1045: Access denied for user 'root'")
        return {"phase": "Failed", "initContainerStatuses": [terminated("mysql-dump", 2)]}

    Cluster(api, failed)
    run, summary = run_backup(api.client(), "acme", "acme", lambda message: None)
    assert run.failed and summary is None
    assert run.stage.container == "mysql-dump"
    assert run.stage.message == "mysql-dump failed (Error, exit code 2) on node-1"
    assert run.lines == ["mysqldump: Got error: 1045: Access denied for user 'root'"]


def test_the_snapshots_are_listed_by_a_job_deleted_once_read(api: FakeApi) -> None:
    snapshot = {
        "time": "2026-11-25T03:00:04.512873Z",
        "paths": ["/backup"],
        "hostname": "acme",
        "tags": ["campus", "release=22.0.3"],
        "id": "40dc1520" + "0" * 56,
        "short_id": "40dc1520",
    }

    def listed(name: str) -> dict[str, Any]:
        log(api, f"{name}-x7k2p", json.dumps([snapshot]))
        return {"phase": "Succeeded", "containerStatuses": [terminated("restic", 0)]}

    cluster = Cluster(api, listed)
    _, found = list_snapshots(api.client(), "acme", "acme", lambda message: None)
    [job] = cluster.created
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["name"].startswith("campus-backup-list-")
    assert "ownerReferences" not in job["metadata"] and "initContainers" not in pod
    assert pod["containers"][0]["command"] == ["restic", "snapshots", "--json"]
    assert {v["name"] for v in pod["volumes"]} == {"cache", "tmp"}
    assert found is not None and [s.release for s in found] == ["22.0.3"]
    assert api.requested("DELETE", f"{JOBS}/{job['metadata']['name']}") == 1


def test_an_environment_without_the_cronjob_has_no_backups(api: FakeApi) -> None:
    with pytest.raises(CampusError, match="acme has no backups: no CronJob campus-backup"):
        run_backup(api.client(), "acme", "acme", lambda message: None)


def test_a_container_that_cannot_start_ends_the_backup_and_its_job(api: FakeApi) -> None:
    def stuck(name: str) -> dict[str, Any]:
        waiting = {
            "reason": "CreateContainerConfigError",
            "message": 'secret "campus-backup-store" not found',
        }
        status = terminated("mysql-dump", 0) | {"name": "restic", "state": {"waiting": waiting}}
        return {
            "phase": "Pending",
            "initContainerStatuses": [terminated("mysql-dump", 0)],
            "containerStatuses": [status],
        }

    cluster = Cluster(api, stuck)
    run, _ = run_backup(api.client(), "acme", "acme", lambda message: None)
    [job] = cluster.created
    assert run.failed and run.stage.message == (
        'restic cannot start: CreateContainerConfigError: secret "campus-backup-store" not '
        "found (the Job is deleted)"
    )
    assert api.requested("DELETE", f"{JOBS}/{job['metadata']['name']}") == 1
