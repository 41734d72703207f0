"""The Jobs of `campus restore`, built from the target environment's live backup CronJob
(which has the databases' images, where the root password is read, the store's Secret and
the NetworkPolicy that lets its pods reach the store and the databases). Pure.

Two Jobs, so that nothing changes before the snapshot is known to be whole:

- the check reads every file of the snapshot through restic (`restic dump` of each of its
  paths to /dev/null: restic authenticates every blob it decrypts, so a missing or damaged
  pack, a wrong key or unreachable store fails here), while the site still serves;
- the restore, once the site is in maintenance and the applications are scaled to zero:
  restic restores the snapshot into the pod's scratch volume, then one container per data
  service loads it. MySQL: each database of the dump dropped and loaded again, except the
  `mysql` system schema (its users and passwords are the target's own: a staging refreshed
  from production keeps staging's credentials). MongoDB: `mongorestore --drop`. A file
  volume (Caddy's, MinIO's): the snapshot's files copied over it (files the snapshot lacks
  are kept: campus deletes no data it was not asked to).

Which container failed tells what changed: the restic one changes nothing; any later one
has begun to replace data (`LOADERS`).
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campus.backup.jobs import job_object, job_template, stamp
from campus.backup.schedule import (
    CACHE,
    CACHE_SIZE,
    DUMPS,
    LAYER_SIZE,
    MONGODB_DUMP,
    MYSQL_DUMP,
    RESTIC,
    TMP_SIZE,
    VOLUMES,
    binary_quantity,
)
from campus.kube.objects import KubeObject
from campus.kube.resources import memory_bytes
from campus.kube.workloads import command_line
from campus.labels import NAME

CHECK_PREFIX = "campus-restore-check-"
RESTORE_PREFIX = "campus-restore-"
JOB_NAME = "campus-restore"  # the Jobs' name label (their pods keep the backup pods' one,
# which the NetworkPolicies admit to the store and the databases)
SCRATCH = "/restore"  # the snapshot restored, before it is loaded
FETCH = "restic-restore"
MYSQL_LOAD = "mysql-load"
MONGODB_LOAD = "mongodb-load"
VOLUMES_LOAD = "volumes-load"
LOADERS = (MYSQL_LOAD, MONGODB_LOAD, VOLUMES_LOAD)  # a failure here has changed data
CHECK_DEADLINE = 3600
RESTORE_DEADLINE = 4 * 3600
MYSQL_DUMP_FILE = "mysql-all-databases.sql"
MONGODB_ARCHIVE = "mongodb.archive"
DOING = {
    RESTIC: "restic reading every file of the snapshot",
    FETCH: "restic restoring the snapshot into the scratch volume",
    MYSQL_LOAD: "loading MySQL",
    MONGODB_LOAD: "loading MongoDB",
    VOLUMES_LOAD: "copying the file volumes",
}
# The lines of a dump that start each database's part (mysqldump --all-databases).
_DATABASE_LINE = "-- Current Database: "


@dataclass(frozen=True)
class Parts:
    """What the target's backup pod holds, read from its live CronJob."""

    restic: dict[str, Any]
    mysql: dict[str, Any] | None
    mongodb: dict[str, Any] | None
    volumes: tuple[str, ...]  # claims mounted at /volumes/<claim>


def _pod(cronjob: KubeObject) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def parts(cronjob: KubeObject) -> Parts:
    pod = _pod(cronjob)
    init = {c["name"]: c for c in pod.get("initContainers") or []}
    [restic] = [c for c in pod["containers"] if c["name"] == RESTIC]
    volumes = tuple(
        m["mountPath"].removeprefix(f"{VOLUMES}/")
        for m in restic.get("volumeMounts") or []
        if m["mountPath"].startswith(f"{VOLUMES}/")
    )
    return Parts(restic, init.get(MYSQL_DUMP), init.get(MONGODB_DUMP), volumes)


def repository(cronjob: KubeObject) -> str:
    """The restic repository the CronJob backs up into."""
    for variable in parts(cronjob).restic.get("env") or []:
        if variable.get("name") == "RESTIC_REPOSITORY":
            return str(variable.get("value", ""))
    return ""


def release(cronjob: KubeObject) -> str:
    """The release the environment was last deployed with, as its backups tag it."""
    script = " ".join(parts(cronjob).restic.get("command") or [])
    for word in shlex.split(script.replace("\n", " ")):
        if word.startswith("release="):
            return word.removeprefix("release=")
    return ""


def _with_repository(container: dict[str, Any], source_repository: str) -> dict[str, Any]:
    result = copy.deepcopy(container)
    result["env"] = [
        {"name": "RESTIC_REPOSITORY", "value": source_repository}
        if v.get("name") == "RESTIC_REPOSITORY"
        else v
        for v in result.get("env") or []
    ]
    result.pop("args", None)
    return result


def _scratch_size(cronjob: KubeObject) -> int:
    """Room for the restored snapshot: the dumps' room plus each file volume's claim (read
    from the CronJob's dumps volume; the claims' sizes are not known here, so twice it)."""
    for volume in _pod(cronjob).get("volumes") or []:
        if volume["name"] == "dumps":
            room = memory_bytes(str((volume.get("emptyDir") or {}).get("sizeLimit", "1Gi")))
            return room * (2 if parts(cronjob).volumes else 1)
    return 1024**3


def _base(cronjob: KubeObject, name: str, deadline: int) -> tuple[KubeObject, dict[str, Any]]:
    template = job_template(cronjob)
    spec = template["spec"]
    spec.update(backoffLimit=0, activeDeadlineSeconds=deadline)
    spec.pop("ttlSecondsAfterFinished", None)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), NAME: JOB_NAME}
    job = job_object(name, cronjob, spec, labels=labels)
    pod = spec["template"]["spec"]
    pod.pop("affinity", None)  # the writers of the volumes are scaled to zero by then
    return job, pod


def check_job(
    cronjob: KubeObject, source_repository: str, snapshot: str, paths: list[str], now: datetime
) -> KubeObject:
    """restic alone, reading each of the snapshot's paths whole (to /dev/null)."""
    job, pod = _base(cronjob, CHECK_PREFIX + stamp(now), CHECK_DEADLINE)
    restic = _with_repository(parts(cronjob).restic, source_repository)
    script = ["set -eu", f"restic cat snapshot {shlex.quote(snapshot)} >/dev/null"]
    script += [
        f"restic dump {shlex.quote(snapshot)} {shlex.quote(path)} >/dev/null" for path in paths
    ]
    script.append(f"echo snapshot {shlex.quote(snapshot)} read whole")
    restic["command"] = ["/bin/sh", "-c", "\n".join(script)]
    restic["volumeMounts"] = [
        m for m in restic.get("volumeMounts") or [] if m["mountPath"] in (CACHE, "/tmp")
    ]
    pod.pop("initContainers", None)
    pod["containers"] = [restic]
    kept = {m["name"] for m in restic["volumeMounts"]}
    pod["volumes"] = [v for v in pod.get("volumes") or [] if v["name"] in kept]
    return job


def told(container: dict[str, Any], command: list[str]) -> None:
    """Tell a copy of a dump container to run `command` the way the dump was told. One
    without a command of its own runs its image's entrypoint with arguments (the sandbox's
    stand-ins do, after their leading flags): so does the copy, behind the same flags."""
    if container.get("command"):
        container["command"] = command
        container.pop("args", None)
        return
    arguments = [str(w) for w in container.get("args") or []]
    flags = []
    for word in arguments:
        if not word.startswith("--"):
            break
        flags.append(word)
    container["args"] = [*flags, *command]


def connection(container: dict[str, Any]) -> list[str]:
    """The `--host=`, `--port=` and `--user=` of the backup's MySQL dump container. Its
    script names the server twice (its ping, then mysqldump): each word once here."""
    found = dict.fromkeys(w for word in command_line(container) for w in shlex.split(word))
    return [w for w in found if w.startswith(("--host=", "--port=", "--user="))]


def server_wait(words: list[str]) -> str:
    """A shell line waiting, as the dump does, for the server to answer (about a minute)."""
    ping = shlex.join(["mysqladmin", *words, "--connect-timeout=2", "ping"])
    return f"for attempt in $(seq 30); do {ping} >/dev/null 2>&1 && break; sleep 2; done"


def mysql_script(
    container: dict[str, Any], dump_file: str = f"{SCRATCH}{DUMPS}/{MYSQL_DUMP_FILE}"
) -> str:
    """Wait for the server (as the dump does), drop each database the dump holds but the
    system schema, load the dump without the system schema's part."""
    words = connection(container)
    client = shlex.join(["mysql", *words])
    dump = shlex.quote(dump_file)
    marker = _DATABASE_LINE.replace("-", r"\-")
    names = shlex.quote(f"s/^{marker}`\\(.*\\)`$/\\1/p")
    system = f"^{marker}`mysql`$"
    start = f"^{marker}"
    # Within the system schema's part (its line up to the next database's line) every
    # line goes but that next database's line.
    skip = shlex.quote(f"/{system}/,/{start}/{{/{system}/d;/{start}/!d;}}")
    return "\n".join(
        [
            "set -eu",
            server_wait(words),
            f"for db in $(sed -n {names} {dump}); do",
            '  [ "$db" = mysql ] && continue',
            '  echo "dropping database $db"',
            f'  {client} -e "DROP DATABASE IF EXISTS \\`$db\\`"',
            "done",
            f"sed -e {skip} {dump} | {client}",
            "echo MySQL loaded",
        ]
    )


def _loader(name: str, source: dict[str, Any], command: list[str]) -> dict[str, Any]:
    container = copy.deepcopy(source)
    container["name"] = name
    told(container, command)
    container["volumeMounts"] = [{"name": "scratch", "mountPath": SCRATCH, "readOnly": True}]
    return container


def restore_job(
    cronjob: KubeObject, source_repository: str, snapshot: str, now: datetime
) -> KubeObject:
    """restic restoring the snapshot into the scratch volume, then each loader in turn
    (init containers run one after the other; the last step is the pod's container)."""
    job, pod = _base(cronjob, RESTORE_PREFIX + stamp(now), RESTORE_DEADLINE)
    found = parts(cronjob)
    fetch = _with_repository(found.restic, source_repository)
    fetch["name"] = FETCH
    fetch["command"] = [
        "/bin/sh",
        "-c",
        "\n".join(
            [
                "set -eu",
                f"restic restore {shlex.quote(snapshot)} --target {SCRATCH}",
                f"echo snapshot {shlex.quote(snapshot)} restored into {SCRATCH}",
            ]
        ),
    ]
    fetch["volumeMounts"] = [
        m for m in fetch.get("volumeMounts") or [] if m["mountPath"] in (CACHE, "/tmp")
    ] + [{"name": "scratch", "mountPath": SCRATCH}]
    steps = [fetch]
    if found.mysql is not None:
        steps.append(_loader(MYSQL_LOAD, found.mysql, ["/bin/sh", "-c", mysql_script(found.mysql)]))
    if found.mongodb is not None:
        server = [w for w in command_line(found.mongodb) if w.startswith(("--host=", "--port="))]
        archive = f"--archive={SCRATCH}{DUMPS}/{MONGODB_ARCHIVE}"
        steps.append(
            _loader(MONGODB_LOAD, found.mongodb, ["mongorestore", *server, "--drop", archive])
        )
    if found.volumes:
        copying = ["set -eu"] + [
            f"cp -a {SCRATCH}{VOLUMES}/{claim}/. {VOLUMES}/{claim}/" for claim in found.volumes
        ]
        copying.append("echo file volumes copied")
        volumes = _loader(VOLUMES_LOAD, found.restic, ["/bin/sh", "-c", "\n".join(copying)])
        volumes["env"] = []  # no store to reach: only files to copy
        volumes["volumeMounts"] += [
            {"name": claim, "mountPath": f"{VOLUMES}/{claim}"} for claim in found.volumes
        ]
    else:
        volumes = None
    if volumes is not None:
        steps.append(volumes)
    room = _scratch_size(cronjob)
    scratch = {"name": "scratch", "emptyDir": {"sizeLimit": binary_quantity(room)}}
    ephemeral = binary_quantity(room + CACHE_SIZE + TMP_SIZE + LAYER_SIZE)
    for step in steps:  # the pod's bound is its largest container's: each holds it all
        step.setdefault("resources", {}).setdefault("limits", {})["ephemeral-storage"] = ephemeral
    kept = {m["name"] for step in steps for m in step.get("volumeMounts") or []}
    claims = []
    for volume in pod.get("volumes") or []:
        if volume["name"] not in kept:
            continue
        if "persistentVolumeClaim" in volume:
            volume = copy.deepcopy(volume)
            volume["persistentVolumeClaim"].pop("readOnly", None)  # written now
        claims.append(volume)
    pod["volumes"] = [v for v in claims if v["name"] != "dumps"] + [scratch]
    pod["initContainers"] = steps[:-1]
    pod["containers"] = steps[-1:]
    return job
