"""Backups on the sandbox's real node (docs/backups.md): an environment placed there is
backed up by restic from its real MariaDB to the sandbox's real S3 store (versitygw), the
snapshot holds the rows written before it, a second backup adds little, and `campus
backups` and `campus status` say what was made.

Uses the `real_sandbox` fixture (one real node; its start runs the store)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lightkube import KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import Pod

from campus.cli.main import cli
from campus.kube.client import KubeClient
from campus.sandbox import cluster, object_store, real_nodes
from campus.sandbox.paths import state_dir

pytestmark = pytest.mark.integration

ENV = "bk"
FLEET = """\
cluster:
  sandbox: {sandbox}
  real_nodes: [bk]
defaults:
  plugins: []
  size: small
  ingress: {{mode: ingress, class: traefik, controller_namespace: traefik}}
  backup:
    schedule: "0 3 * * *"
    keep: {{daily: 7}}
    store:
      repository: "{repository}"
      secret: campus-backups/store
      namespace: campus-backups
environments:
  bk:
    hosts: {{lms: learn.bk.example.org}}
"""
# Written into the real MariaDB before the backup, looked for in the snapshot's dump.
MARKER = "campus-backup-probe-4711"
# And 16 MB that stays as it is. restic cuts a file where a rolling hash of its content
# says so (about every 1 MiB), and at 8 MiB when it has found no such place. So the rows
# must vary: a repeated string offers almost no cut points, its forced cuts move with any
# earlier change (InnoDB's statistics, the dump's own timestamp) and nothing dedups.
SQL = (
    "CREATE DATABASE IF NOT EXISTS probe; "
    "CREATE TABLE IF NOT EXISTS probe.marks (v VARCHAR(64)); "
    f"INSERT INTO probe.marks VALUES ('{MARKER}'); "
    "CREATE TABLE IF NOT EXISTS probe.bulk (n INT PRIMARY KEY, v TEXT); "
    "INSERT INTO probe.bulk SELECT seq, CONCAT("
    + ", ".join(f"SHA2(seq + {k * 100_000}, 512)" for k in range(8))
    + ") FROM probe.seq_1_to_16000;"
)


def _client(info: cluster.SandboxInfo) -> KubeClient:
    return KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="campus-test")


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def fleet(real_sandbox: cluster.SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backups") / "fleet.yml"
    path.write_text(FLEET.format(sandbox=real_sandbox.name, repository=object_store.repository()))
    _run("deploy", "-f", str(path), "--timeout", "300")
    client = _client(real_sandbox)
    [mysql] = [
        p for p in client.list(Pod, namespace=ENV, labels={"app.kubernetes.io/name": "mysql"})
    ]
    assert mysql.metadata and mysql.metadata.name
    # The root password from the container's own environment, never on a command line.
    script = f'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -uroot -h127.0.0.1 -e "{SQL}"'
    _exec(real_sandbox, mysql.metadata.name, ["sh", "-c", script])
    return path


def _exec(info: cluster.SandboxInfo, pod: str, command: list[str]) -> str:
    import subprocess

    from campus.sandbox.build import ensure_binaries

    kubectl = str(ensure_binaries().path("kubectl"))
    result = subprocess.run(
        [kubectl, f"--kubeconfig={info.kubeconfig}", "-n", ENV, "exec", pod, "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _restic_job(client: KubeClient, name: str, script: str) -> str:
    """A Job of the backup pod's restic alone (no dumps) running `script`; its log."""
    cron = client.get(CronJob, "campus-backup", namespace=ENV).to_dict()
    template = copy.deepcopy(cron["spec"]["jobTemplate"])
    pod = template["spec"]["template"]["spec"]
    pod.pop("initContainers", None)
    [restic] = [c for c in pod["containers"] if "restic" in c["image"]]
    restic["command"] = ["sh", "-c", script]
    restic.pop("args", None)
    pod["containers"] = [restic]
    template["spec"]["backoffLimit"] = 0
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ENV},
        "spec": template["spec"],
    }
    client.create(from_dict(job))
    deadline = time.monotonic() + 180
    while True:
        status = client.get(Job, name, namespace=ENV).status
        if status and (status.succeeded or status.failed):
            break
        assert time.monotonic() < deadline, f"{name} did not finish"
        time.sleep(1)
    [found] = client.list(Pod, namespace=ENV, labels={"job-name": name})
    assert found.metadata and found.metadata.name
    log = "".join(client.log(found.metadata.name, namespace=ENV))
    assert status.succeeded, log
    return log


def test_a_backup_of_the_real_database_lands_in_the_real_store(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    first = _run("backup", ENV, "-f", str(fleet), "-o", "json")
    made = json.loads(first.stdout)
    assert made["succeeded"], made
    assert made["node"].startswith("real-"), made["node"]  # a real node ran it, not KWOK
    snapshot = made["snapshot"]
    assert snapshot["snapshot_id"] and snapshot["total_files_processed"] >= 1
    # The snapshot, read back through the S3 API and decrypted, holds the row.
    dump = _restic_job(
        _client(real_sandbox),
        "probe-dump",
        "restic dump latest /backup/mysql-all-databases.sql | grep -c " + MARKER,
    )
    assert int(dump.strip().splitlines()[-1]) >= 1


def test_a_second_backup_adds_little_and_retention_keeps_one_a_day(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    second = json.loads(_run("backup", ENV, "-f", str(fleet), "-o", "json").stdout)
    assert second["succeeded"], second
    summary = second["snapshot"]
    # Deduplicated: an unchanged database adds a small part of what was read.
    assert summary["total_bytes_processed"] > 16_000_000, summary
    assert summary["data_added"] < summary["total_bytes_processed"] / 4, summary
    listed = json.loads(_run("backups", ENV, "-f", str(fleet), "-o", "json").stdout)
    snapshots = listed["snapshots"]
    # keep: {daily: 7}: of two snapshots the same day, `restic forget` keeps the newer.
    assert len(snapshots) == 1
    assert all(s["release"] for s in snapshots)
    assert all("/backup" in s["paths"] for s in snapshots)
    assert {s["hostname"] for s in snapshots} == {ENV}
    assert snapshots[-1]["id"].startswith(summary["snapshot_id"][:8])


def test_the_store_holds_only_ciphertext(fleet: Path, real_sandbox: cluster.SandboxInfo) -> None:
    nodes = real_nodes.nodes_directory(state_dir(real_sandbox.name))
    files = [p for p in nodes.glob("*/object-store/buckets/campus/bk/data/*/*") if p.is_file()]
    assert files, "no restic data objects in the store's directory"
    assert not any(MARKER.encode() in p.read_bytes() for p in files)


def test_status_shows_the_last_backup(fleet: Path) -> None:
    # The CronJob controller records a finished Job it owns as its last success.
    deadline = time.monotonic() + 60
    while True:
        listed = json.loads(_run("status", "-f", str(fleet), "-o", "json").stdout)
        [environment] = [e for e in listed["environments"] if e["name"] == ENV]
        backup = environment["backup"]
        if backup and backup["last_success"]:
            break
        assert time.monotonic() < deadline, environment
        time.sleep(2)
    assert not backup["late"] and not backup["last_run_failed"], backup


def _mysql(info: cluster.SandboxInfo, sql: str) -> str:
    client = _client(info)
    [mysql] = client.list(Pod, namespace=ENV, labels={"app.kubernetes.io/name": "mysql"})
    assert mysql.metadata and mysql.metadata.name
    script = f'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -uroot -h127.0.0.1 -N -e "{sql}"'
    return _exec(info, mysql.metadata.name, ["sh", "-c", script])


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _explained(result: Any) -> str:
    """The output, and the traceback of an exception the command did not handle."""
    import traceback

    if result.exc_info is None or isinstance(result.exception, SystemExit):
        return str(result.output)
    return result.output + "".join(traceback.format_exception(*result.exc_info))


def _untouched(info: cluster.SandboxInfo) -> None:
    """The environment as it was: lms scaled as deployed, no maintenance page."""
    from lightkube.resources.apps_v1 import Deployment

    client = _client(info)
    names = {d.metadata.name for d in client.list(Deployment, namespace=ENV) if d.metadata}
    assert "campus-maintenance" not in names
    lms = client.get(Deployment, "lms", namespace=ENV)
    assert lms.spec and lms.spec.replicas and lms.spec.replicas >= 1


def test_a_restore_without_yes_changes_nothing(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    result = _invoke("restore", ENV, "-f", str(fleet))
    assert result.exit_code == 1
    assert "add --yes" in result.output
    _untouched(real_sandbox)


def test_a_restore_brings_back_what_was_lost_since_the_snapshot(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    # The snapshot of the first test holds the marker row; lose it, and add a row after.
    _mysql(real_sandbox, "DELETE FROM probe.marks; INSERT INTO probe.marks VALUES ('later')")
    result = _invoke("restore", ENV, "-f", str(fleet), "--yes", "-o", "json")
    assert result.exit_code == 0, _explained(result)
    done = json.loads(result.stdout)
    assert done["kind"] == "Restore" and done["node"].startswith("real-"), done
    assert "lms" in done["stopped"] and done["down_seconds"] > 0
    assert done["snapshot_age_seconds"] is not None and done["snapshot_age_seconds"] >= 0
    rows = _mysql(real_sandbox, "SELECT v FROM probe.marks").split()
    assert rows == [MARKER]  # the database as the snapshot had it: the later row is gone
    # The environment's own root password still works (the system schema is not loaded),
    # and the site is back: applications up, no maintenance page, routes to lms again.
    _untouched(real_sandbox)
    from lightkube.resources.networking_v1 import Ingress

    for ingress in _client(real_sandbox).list(Ingress, namespace=ENV):
        backends = {
            p.backend.service.name
            for rule in (ingress.spec.rules if ingress.spec else None) or []
            for p in (rule.http.paths if rule.http else [])
            if p.backend.service
        }
        assert "campus-maintenance" not in backends


def _store_secret(info: cluster.SandboxInfo) -> Any:
    from lightkube.resources.core_v1 import Secret

    return _client(info).get(Secret, "campus-backup-store", namespace=ENV)


def test_a_wrong_encryption_key_is_refused_before_anything_changes(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    import base64

    from lightkube.resources.core_v1 import Secret
    from lightkube.types import PatchType

    client = _client(real_sandbox)
    original = _store_secret(real_sandbox).data["RESTIC_PASSWORD"]
    wrong = base64.b64encode(b"not-the-key").decode()
    patch = {"data": {"RESTIC_PASSWORD": wrong}}
    client.patch(Secret, "campus-backup-store", patch, namespace=ENV, patch_type=PatchType.MERGE)
    try:
        result = _invoke("restore", ENV, "-f", str(fleet), "--yes")
    finally:
        restore = {"data": {"RESTIC_PASSWORD": original}}
        client.patch(
            Secret, "campus-backup-store", restore, namespace=ENV, patch_type=PatchType.MERGE
        )
    assert result.exit_code == 1, result.output
    assert "nothing was changed" in result.output
    assert "wrong password" in result.output  # restic's own words
    _untouched(real_sandbox)


def test_a_damaged_snapshot_is_refused_before_anything_changes(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    nodes = real_nodes.nodes_directory(state_dir(real_sandbox.name))
    packs = sorted(
        p for p in nodes.glob("*/object-store/buckets/campus/bk/data/*/*") if p.is_file()
    )
    assert packs
    largest = max(packs, key=lambda p: p.stat().st_size)  # the dump's data, not a tree
    kept = largest.read_bytes()
    largest.write_bytes(kept[: len(kept) // 2])  # truncated, as an interrupted upload leaves it
    try:
        result = _invoke("restore", ENV, "-f", str(fleet), "--yes")
    finally:
        largest.write_bytes(kept)
    assert result.exit_code == 1, result.output
    assert "cannot be read whole" in result.output and "nothing was changed" in result.output
    _untouched(real_sandbox)


def test_the_restore_drill_counts_the_same_in_the_copy_and_cleans_up(
    fleet: Path, real_sandbox: cluster.SandboxInfo, tmp_path: Path
) -> None:
    from lightkube.resources.core_v1 import Namespace

    page = tmp_path / "drill.html"
    result = _invoke("drill", "restore", ENV, "-f", str(fleet), "-o", "json", "--report", str(page))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["mismatches"] == [], report
    assert report["compared"] >= 1 and report["rto_seconds"] > 0, report
    assert report["cleaned_up"]
    assert "passed" in page.read_text()
    names = {n.metadata.name for n in _client(real_sandbox).list(Namespace) if n.metadata}
    assert report["scratch_namespace"] not in names or _terminating(real_sandbox, report)


def _terminating(info: cluster.SandboxInfo, report: dict[str, Any]) -> bool:
    from lightkube.resources.core_v1 import Namespace

    found = _client(info).get(Namespace, report["scratch_namespace"])
    return bool(found.status and found.status.phase == "Terminating")


def test_the_restore_drill_fails_naming_a_table_written_since_the_snapshot(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    _mysql(real_sandbox, "INSERT INTO probe.marks VALUES ('after-the-snapshot')")
    deadline = time.monotonic() + 120  # the previous drill's namespace may still terminate
    while True:
        result = _invoke("drill", "restore", ENV, "-f", str(fleet), "-o", "json")
        if "exists" not in result.output or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["mismatches"] == [{"what": "rows probe.marks", "source": 2, "restored": 1}], (
        report
    )
