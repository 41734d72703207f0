"""An environment's backup: the CronJob `campus-backup` and the NetworkPolicy that lets its
pods reach the store. Pure: rendered from the environment's objects as hardening has made
them so far (the MySQL root password is read where the secrets rule moved it).

One pod per run. Init containers dump the databases into an emptyDir, each with the
environment's own image of that database (so the client matches the server): MySQL with
`mysqldump --single-transaction` (a consistent InnoDB snapshot without locking the
tables), MongoDB with `mongodump --archive` when the environment runs Tutor's MongoDB.
Then restic backs up the dumps, and the file volumes campus knows (`FILE_VOLUMES`), into
the environment's own repository `<store.repository>/<environment>`, and forgets what the
retention no longer keeps. Meilisearch is not backed up: its index is rebuilt from the
databases.

A file volume is ReadWriteOnce: it mounts on one node at a time, so the pod that reads it
must run on the node of the pod that writes it (a required podAffinity to that service's
pods); it is mounted read-only. Caddy and MinIO run as root, so their files are root's
(Caddy keeps its keys 0600): the restic container reads such volumes as root, the files'
owner, with every capability dropped; otherwise everything runs as an unprivileged user.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping
from typing import Any

from campus.fleet.backup import Backup
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject
from campus.kube.resources import memory_bytes
from campus.labels import COMPONENT, ENVIRONMENT, HOSTNAME, MANAGED_BY, NAME, NAMESPACE_NAME

CRONJOB = "campus-backup"
LISTING = "campus-backup-list"  # the pods of `campus backups`
POLICY = "campus-backup-egress"
STORE_SECRET = "campus-backup-store"  # the deploy's copy of `backup.store.secret`
COMPONENT_VALUE = "backup"
RESTIC = "restic"
MYSQL_DUMP = "mysql-dump"
MONGODB_DUMP = "mongodb-dump"
DUMPS = "/backup"
VOLUMES = "/volumes"  # file volumes, each at /volumes/<claim>
CACHE = "/cache"
# A user owning nothing on the node or in any image (and high: Checkov's CKV_K8S_40).
USER = 10001
# The PersistentVolumeClaims campus backs up as files, by claim: what each holds.
FILE_VOLUMES = {
    "caddy": "Caddy's certificates and ACME account (ingress mode caddy)",
    "minio": "tutor-minio's buckets: uploaded media and files",
}
# Databases dumped, by Tutor's Deployment name: their PersistentVolumeClaim bounds the dump.
DATABASES = ("mysql", "mongodb")
# How a run may go: a run missed by up to an hour (controller down) still starts; one run
# at a time; one retry; a run taking four hours is stopped.
STARTING_DEADLINE = 3600
ACTIVE_DEADLINE = 4 * 3600
BACKOFF_LIMIT = 1
SUCCESSFUL_HISTORY = 3
FAILED_HISTORY = 1  # the last failure's pod and logs; status reads the newest run
CACHE_SIZE = 2 * 1024**3
TMP_SIZE = 512 * 1024**2
DEFAULT_DUMP_SIZE = 1024**3  # no database volume: the dumps' room regardless
EPHEMERAL_REQUEST = "1Gi"  # what the scheduler reserves; the limit bounds the dumps
LAYER_SIZE = 256 * 1024**2  # container logs and writable layers
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
# Checkov findings waived on the CronJob (campus.harden.peer), with why.
WAIVERS = {
    "CKV_K8S_15": (
        "the backup images are pinned: the environment's own database images (Tutor's) and "
        "backup.image; pulling on every run would make each backup depend on the registry"
    ),
    "CKV_K8S_43": (
        "pinned by versioned tags, as Tutor pins its images; backup.image can name a digest"
    ),
    "CKV_K8S_35": (
        "mysqldump and restic read the MySQL password, the store's keys and the encryption "
        "key from environment variables (MYSQL_PWD, AWS_*, RESTIC_PASSWORD); the values live "
        "in Secrets only"
    ),
    "CKV_K8S_23": (
        "restic reads the file volumes of Caddy or MinIO, which run as root and keep their "
        "files root's (Caddy's keys 0600): it runs as their owner, root, every capability "
        "dropped, the volumes mounted read-only; the dumps run unprivileged"
    ),
    "CKV_K8S_40": (
        "restic reads root's files on the file volumes as their owner, root; every other "
        "container runs as user 10001"
    ),
}


def binary_quantity(amount: int) -> str:
    """Bytes as the API server writes them back (`1Gi`, not `1024Mi`), so that a live
    object matches what was rendered."""
    for suffix, unit in (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if amount % unit == 0:
            return f"{amount // unit}{suffix}"
    return str(amount)


def _deployments(objects: list[KubeObject]) -> dict[str, KubeObject]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}


def _claim_sizes(objects: list[KubeObject]) -> dict[str, int]:
    sizes = {}
    for obj in objects:
        if obj["kind"] == "PersistentVolumeClaim":
            storage = ((obj.get("spec") or {}).get("resources") or {}).get("requests") or {}
            sizes[obj["metadata"]["name"]] = memory_bytes(storage.get("storage", "0"))
    return sizes


def _claims_of(deployment: KubeObject) -> list[str]:
    spec = deployment["spec"]["template"]["spec"]
    return [
        str(v["persistentVolumeClaim"]["claimName"])
        for v in spec.get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def _password_variable(mysql: KubeObject) -> dict[str, Any] | None:
    """MYSQL_PWD read from where the mysql Deployment reads its root password (after the
    secrets rule: a key of a Secret), so a rotated password is followed."""
    for container in mysql["spec"]["template"]["spec"].get("containers") or []:
        for variable in container.get("env") or []:
            if variable.get("name") == "MYSQL_ROOT_PASSWORD" and "valueFrom" in variable:
                return {"name": "MYSQL_PWD", "valueFrom": copy.deepcopy(variable["valueFrom"])}
    return None


def _writer(deployments: Mapping[str, KubeObject], claim: str) -> tuple[str, int] | None:
    """The service whose pods mount `claim`, and the user they write it as (Tutor setting
    none: the image's, root for Caddy and MinIO)."""
    for name, deployment in deployments.items():
        if claim not in _claims_of(deployment):
            continue
        spec = deployment["spec"]["template"]["spec"]
        user = (spec.get("securityContext") or {}).get("runAsUser")
        for container in spec.get("containers") or []:
            user = (container.get("securityContext") or {}).get("runAsUser", user)
            break
        labels = (deployment["spec"]["template"].get("metadata") or {}).get("labels") or {}
        return str(labels.get(NAME, name)), int(user or 0)
    return None


def _container(name: str, image: str, command: list[str], ephemeral: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": command,
        "resources": {
            "requests": {**RESOURCES["requests"], "ephemeral-storage": EPHEMERAL_REQUEST},
            "limits": {**RESOURCES["limits"], "ephemeral-storage": ephemeral},
        },
        "securityContext": {"readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "dumps", "mountPath": DUMPS}],
    }


CONNECT_ATTEMPTS = 30  # about a minute


def _script(environment: str, backup: Backup, release: str, paths: list[str]) -> str:
    """The restic container's steps: the repository created on the first run, a snapshot
    tagged with the release, then what the retention no longer keeps forgotten. Every
    snapshot of the repository is the environment's (`--host`), so retention counts them
    all as one group whatever volumes a snapshot holds."""
    keep = [
        f"--keep-{period} {count}" for period, count in backup.keep.model_dump().items() if count
    ]
    host = shlex.quote(environment)
    tags = f"--tag campus --tag {shlex.quote('release=' + (release or 'unknown'))}"
    return "\n".join(
        [
            "set -eu",
            "restic cat config >/dev/null || restic init",
            f"restic backup --host {host} {tags} --json {' '.join(paths)}",
            f"restic forget --host {host} --tag campus --group-by host {' '.join(keep)} --prune",
        ]
    )


def _store_variables(backup: Backup, environment: str) -> list[dict[str, Any]]:
    def secret(key: str, optional: bool = False) -> dict[str, Any]:
        reference: dict[str, Any] = {"name": STORE_SECRET, "key": key}
        if optional:
            reference["optional"] = True
        return {"name": key, "valueFrom": {"secretKeyRef": reference}}

    return [
        {"name": "RESTIC_REPOSITORY", "value": f"{backup.store.repository}/{environment}"},
        secret("RESTIC_PASSWORD"),
        secret("AWS_ACCESS_KEY_ID"),
        secret("AWS_SECRET_ACCESS_KEY"),
        secret("AWS_DEFAULT_REGION", optional=True),
        {"name": "RESTIC_CACHE_DIR", "value": CACHE},
        {"name": "TMPDIR", "value": "/tmp"},  # restic writes pack files there first
        {"name": "RESTIC_PROGRESS_FPS", "value": "0.1"},  # a status line every 10 s
    ]


def _labels(name: str) -> dict[str, str]:
    return {NAME: name, COMPONENT: COMPONENT_VALUE}


def backup_objects(
    environment: Environment,
    objects: list[KubeObject],
    settings: Mapping[str, Any],
    release: str,
) -> list[KubeObject]:
    """The CronJob and its NetworkPolicy; none when the environment has no backup, or
    nothing to back up (external databases and no file volume)."""
    backup = environment.backup
    if backup is None:
        return []
    deployments = _deployments(objects)
    sizes = _claim_sizes(objects)
    databases = [name for name in DATABASES if name in deployments]
    volumes = [claim for claim in FILE_VOLUMES if claim in sizes and _writer(deployments, claim)]
    if not databases and not volumes:
        return []
    dump_room = sum(
        sizes.get(claim, 0) for name in databases for claim in _claims_of(deployments[name])
    )
    dump_room = dump_room or DEFAULT_DUMP_SIZE
    ephemeral = binary_quantity(dump_room + CACHE_SIZE + TMP_SIZE + LAYER_SIZE)
    init_containers = []
    if "mysql" in deployments:
        mysql = deployments["mysql"]
        image = mysql["spec"]["template"]["spec"]["containers"][0]["image"]
        server = [
            f"--host={settings.get('MYSQL_HOST', 'mysql')}",
            f"--port={settings.get('MYSQL_PORT', 3306)}",
        ]
        dumping = [
            "mysqldump",
            *server,
            f"--user={settings.get('MYSQL_ROOT_USERNAME', 'root')}",
            "--single-transaction",
            "--routines",
            "--events",
            "--all-databases",
            f"--result-file={DUMPS}/mysql-all-databases.sql",
        ]
        # A new pod's traffic may be dropped until the policy engine has programmed its
        # address (seconds, on any CNI): wait for the server to answer, then dump once.
        waiting = shlex.join(["mysqladmin", *server, "--connect-timeout=2", "ping"])
        script = (
            f"for attempt in $(seq {CONNECT_ATTEMPTS}); do "
            f"{waiting} >/dev/null 2>&1 && break; sleep 2; done; exec {shlex.join(dumping)}"
        )
        dump = _container(MYSQL_DUMP, image, ["/bin/sh", "-c", script], ephemeral)
        password = _password_variable(mysql)
        if password:
            dump["env"] = [password]
        init_containers.append(dump)
    if "mongodb" in deployments:
        image = deployments["mongodb"]["spec"]["template"]["spec"]["containers"][0]["image"]
        init_containers.append(
            _container(
                MONGODB_DUMP,
                image,
                [
                    "mongodump",
                    f"--host={settings.get('MONGODB_HOST', 'mongodb')}",
                    f"--port={settings.get('MONGODB_PORT', 27017)}",
                    f"--archive={DUMPS}/mongodb.archive",
                ],
                ephemeral,
            )
        )
    paths = [DUMPS] + [f"{VOLUMES}/{claim}" for claim in volumes]
    restic = _container(
        RESTIC,
        backup.image,
        ["/bin/sh", "-c", _script(environment.name, backup, release, paths)],
        ephemeral,
    )
    restic["env"] = _store_variables(backup, environment.name)
    restic["volumeMounts"] += [
        {"name": "cache", "mountPath": CACHE},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes_spec: list[dict[str, Any]] = [
        {"name": "dumps", "emptyDir": {"sizeLimit": binary_quantity(dump_room)}},
        {"name": "cache", "emptyDir": {"sizeLimit": binary_quantity(CACHE_SIZE)}},
        {"name": "tmp", "emptyDir": {"sizeLimit": binary_quantity(TMP_SIZE)}},
    ]
    affinity: list[dict[str, Any]] = []
    owners = set()
    for claim in volumes:
        found = _writer(deployments, claim)
        assert found is not None
        service, owner = found
        owners.add(owner)
        volumes_spec.append(
            {"name": claim, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        )
        restic["volumeMounts"].append(
            {"name": claim, "mountPath": f"{VOLUMES}/{claim}", "readOnly": True}
        )
        term = {"labelSelector": {"matchLabels": {NAME: service}}, "topologyKey": HOSTNAME}
        if term not in affinity:
            affinity.append(term)
    if owners:
        # The files' owner when the writers agree on one; root (every capability dropped
        # still) reads what several users wrote.
        owner = owners.pop() if len(owners) == 1 else 0
        restic["securityContext"] |= {"runAsUser": owner, "runAsNonRoot": owner != 0}
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "securityContext": {"runAsUser": USER, "runAsGroup": USER, "runAsNonRoot": True},
        "initContainers": init_containers,
        "containers": [restic],
        "volumes": volumes_spec,
    }
    if affinity:
        pod["affinity"] = {
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": affinity}
        }
    labels = _labels(CRONJOB)
    owned = {**labels, ENVIRONMENT: environment.name, MANAGED_BY: "campus"}
    cronjob: KubeObject = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": CRONJOB,
            "namespace": environment.namespace,
            "labels": dict(labels),
        },
        "spec": {
            "schedule": backup.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE,
            "successfulJobsHistoryLimit": SUCCESSFUL_HISTORY,
            "failedJobsHistoryLimit": FAILED_HISTORY,
            "jobTemplate": {
                # The Jobs carry the environment's labels: status finds them with the rest.
                "metadata": {"labels": owned},
                "spec": {
                    "backoffLimit": BACKOFF_LIMIT,
                    "activeDeadlineSeconds": ACTIVE_DEADLINE,
                    "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
                },
            },
        },
    }
    return [cronjob, egress_policy(environment, backup, databases)]


def egress_policy(environment: Environment, backup: Backup, databases: list[str]) -> KubeObject:
    """What the backup pods may reach: the store, the databases they dump and DNS. On
    port 53 to any address: cluster DNS may be pods in kube-system, a node-local cache or
    the node itself, and names nothing else."""
    store = backup.store
    to: list[dict[str, Any]] = (
        [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: store.namespace}}}]
        if store.namespace
        else [{"ipBlock": {"cidr": cidr}} for cidr in store.cidrs]
    )
    egress: list[dict[str, Any]] = [{"to": to}]
    if databases:
        selector = {"matchExpressions": [{"key": NAME, "operator": "In", "values": databases}]}
        egress.append({"to": [{"podSelector": selector}]})
    egress.append({"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]})
    pods = {"matchExpressions": [{"key": NAME, "operator": "In", "values": [CRONJOB, LISTING]}]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": POLICY,
            "namespace": environment.namespace,
            "labels": _labels(CRONJOB),
        },
        "spec": {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress},
    }


def password_reference(cronjob: KubeObject) -> dict[str, Any] | None:
    """Where the CronJob's MySQL dump reads the root password from."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for container in pod.get("initContainers") or []:
        for variable in container.get("env") or []:
            if variable.get("name") == "MYSQL_PWD":
                found: dict[str, Any] = variable.get("valueFrom") or {}
                return found
    return None


def mysql_password_reference(objects: list[KubeObject]) -> dict[str, Any] | None:
    """Where the mysql Deployment reads its root password from (None: no such Deployment)."""
    mysql = _deployments(objects).get("mysql")
    variable = _password_variable(mysql) if mysql else None
    return dict(variable["valueFrom"]) if variable else None
