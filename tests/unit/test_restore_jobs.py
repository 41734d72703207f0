"""The Jobs of `campus restore`, built from the target's live backup CronJob; the MySQL
loader's script run for real against stand-in `mysql` and `mysqladmin` commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from test_backup_jobs import NOW, live_cronjob

from campus.restore import counts, jobs
from campus.sandbox import placement

SOURCE = "s3:http://s3:7070/b/acme-prod"


def _pod(job: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = job["spec"]["template"]["spec"]
    return pod


def test_the_cronjob_says_its_repository_release_and_parts() -> None:
    cronjob = live_cronjob()
    assert jobs.repository(cronjob) == "s3:http://s3:7070/b/acme"
    assert jobs.release(cronjob) == "22.0.3"
    found = jobs.parts(cronjob)
    assert found.mysql is not None and found.mongodb is None
    assert found.volumes == ("caddy",)


def test_the_check_reads_each_path_of_the_source_snapshot_with_restic_alone() -> None:
    job = jobs.check_job(live_cronjob(), SOURCE, "abc123", ["/backup", "/volumes/caddy"], NOW)
    assert job["metadata"]["name"].startswith(jobs.CHECK_PREFIX)
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == jobs.JOB_NAME
    pod = _pod(job)
    assert "initContainers" not in pod and "affinity" not in pod
    [restic] = pod["containers"]
    script = restic["command"][-1]
    assert "restic dump abc123 /backup >/dev/null" in script
    assert "restic dump abc123 /volumes/caddy >/dev/null" in script
    repository = {v["name"]: v.get("value") for v in restic["env"]}["RESTIC_REPOSITORY"]
    assert repository == SOURCE  # the source's repository, the target's credentials
    # Nothing of the target's is mounted: the check can change nothing.
    assert {v["name"] for v in pod["volumes"]} == {"cache", "tmp"}
    assert job["spec"]["backoffLimit"] == 0


def test_the_restore_fetches_then_loads_each_service_into_a_writable_volume() -> None:
    job = jobs.restore_job(live_cronjob(), SOURCE, "abc123", NOW)
    pod = _pod(job)
    names = [c["name"] for c in pod["initContainers"]] + [c["name"] for c in pod["containers"]]
    assert names == [jobs.FETCH, jobs.MYSQL_LOAD, jobs.VOLUMES_LOAD]
    assert "affinity" not in pod  # the volumes' writers are scaled to zero by then
    claims = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"name": "caddy", "persistentVolumeClaim": {"claimName": "caddy"}}]
    [volumes] = pod["containers"]
    assert {"name": "caddy", "mountPath": "/volumes/caddy"} in volumes["volumeMounts"]
    assert "cp -a /restore/volumes/caddy/. /volumes/caddy/" in volumes["command"][-1]
    assert volumes["env"] == []  # copying files needs no key
    fetch, mysql = pod["initContainers"]
    assert "restic restore abc123 --target /restore" in fetch["command"][-1]
    # The loader reads the root password where the dump does, and the scratch read-only.
    dump = jobs.parts(live_cronjob()).mysql
    assert dump is not None and mysql.get("env") == dump.get("env")
    assert mysql["volumeMounts"] == [{"name": "scratch", "mountPath": "/restore", "readOnly": True}]
    limits = {c["resources"]["limits"]["ephemeral-storage"] for c in [fetch, mysql, volumes]}
    assert len(limits) == 1


def test_a_dump_run_through_its_images_entrypoint_is_loaded_and_counted_the_same_way() -> None:
    # In the sandbox MongoDB is a stand-in: the dump container has no command, only the
    # stand-in's flag and the words it would run. The loader and counter keep that form.
    cronjob = live_cronjob(("mysql", "mongodb", "caddy"))
    [placed] = placement.place([cronjob])
    dump = jobs.parts(placed).mongodb
    assert dump is not None and "command" not in dump
    pod = _pod(jobs.restore_job(placed, SOURCE, "abc123", NOW))
    [mongodb] = [c for c in pod["initContainers"] if c["name"] == jobs.MONGODB_LOAD]
    assert "command" not in mongodb
    assert mongodb["args"][:2] == [placement.JOB_FLAG, "mongorestore"]
    assert "--host=mongodb" in mongodb["args"] and "--drop" in mongodb["args"]
    [mysql] = [c for c in pod["initContainers"] if c["name"] == jobs.MYSQL_LOAD]
    assert mysql["command"][:2] == ["/bin/sh", "-c"] and "args" not in mysql
    counters = [_pod(job)["containers"][0] for job in counts.count_jobs(placed, "bk", NOW)]
    assert [c["name"] for c in counters] == ["mysql-count", "mongodb-count"]
    assert counters[1]["args"][:2] == [placement.JOB_FLAG, "mongosh"]
    assert "--host=mongodb" in counters[1]["args"]


DUMP = """-- MySQL dump
/*!40101 SET NAMES utf8mb4 */;

--
-- Current Database: `mysql`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql`;
USE `mysql`;
INSERT INTO `global_priv` VALUES ('localhost','root','secret-of-the-source');

--
-- Current Database: `openedx`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `openedx`;
USE `openedx`;
INSERT INTO `auth_user` VALUES (1,'staff');

--
-- Current Database: `probe`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `probe`;
-- Dump completed
"""


def test_the_mysql_loader_drops_and_loads_every_database_but_the_system_schema(
    tmp_path: Path,
) -> None:
    # Stand-in clients: each records its arguments, `mysql` also what it is fed.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for name in ("mysql", "mysqladmin"):
        script = bin_dir / name
        script.write_text(
            f'#!/bin/sh\necho "{name} $*" >> {log}\n'
            + (f"[ -t 0 ] || cat >> {tmp_path / 'fed'}\n" if name == "mysql" else "")
        )
        script.chmod(0o755)
    dump = tmp_path / "dump.sql"
    dump.write_text(DUMP)
    container = jobs.parts(live_cronjob()).mysql
    assert container is not None
    result = subprocess.run(
        ["/bin/sh", "-c", jobs.mysql_script(container, str(dump))],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("mysqladmin --host=mysql --port=3306 --user=root")
    drops = [c for c in calls if "DROP DATABASE" in c]
    assert drops == [
        "mysql --host=mysql --port=3306 --user=root -e DROP DATABASE IF EXISTS `openedx`",
        "mysql --host=mysql --port=3306 --user=root -e DROP DATABASE IF EXISTS `probe`",
    ]
    fed = (tmp_path / "fed").read_text()
    assert "secret-of-the-source" not in fed and "`global_priv`" not in fed
    assert "INSERT INTO `auth_user` VALUES (1,'staff');" in fed
    assert "-- Current Database: `openedx`" in fed and "CREATE DATABASE" in fed
    assert fed.rstrip().endswith("-- Dump completed")
