"""The backup CronJob and its egress policy, rendered from Tutor's real output (the example
fleet's acme-prod, backed up) and from small objects for what the example lacks (file
volumes), then hardened like every pod."""

from __future__ import annotations

import copy
import dataclasses
import shlex
from pathlib import Path
from typing import Any

import pytest

from campus.backup.schedule import (
    CRONJOB,
    POLICY,
    STORE_SECRET,
    USER,
    WAIVERS,
    backup_objects,
    binary_quantity,
)
from campus.fleet.backup import BackupSpec, resolved
from campus.fleet.load import load_fleet
from campus.harden import harden_all
from campus.harden.backup import RULE
from campus.harden.peer import SKIP_PREFIX
from campus.lint import lint
from campus.render import render_fleet
from campus.render.model import RenderedEnvironment

STORE = {
    "repository": "s3:http://s3.campus-backups.svc:7070/campus",
    "secret": "campus-backups/store",
    "namespace": "campus-backups",
}


def backed_up(rendered: RenderedEnvironment, **backup: Any) -> RenderedEnvironment:
    spec = BackupSpec.model_validate({"store": STORE, **backup})
    environment = rendered.environment.model_copy(update={"backup": resolved(spec)})
    return dataclasses.replace(rendered, environment=environment)


@pytest.fixture(scope="module")
def prod(rendered_example: dict[str, RenderedEnvironment]) -> RenderedEnvironment:
    return backed_up(rendered_example["acme-prod"], keep={"daily": 7, "weekly": 4})


@pytest.fixture(scope="module")
def hardened(prod: RenderedEnvironment) -> list[dict[str, Any]]:
    objects, jobs = harden_all(prod)
    return objects + jobs


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_of(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def containers(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}


def test_the_cronjob_runs_one_backup_at_a_time_with_deadlines(hardened: list[Any]) -> None:
    spec = find(hardened, "CronJob", CRONJOB)["spec"]
    assert spec["schedule"] == "0 3 * * *" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_the_dumps_use_the_environments_own_images_and_mysql_password(
    hardened: list[Any],
) -> None:
    deployments = {o["metadata"]["name"]: o for o in hardened if o["kind"] == "Deployment"}
    found = containers(pod_of(find(hardened, "CronJob", CRONJOB)))
    mysql = deployments["mysql"]["spec"]["template"]["spec"]["containers"][0]
    assert found["mysql-dump"]["image"] == mysql["image"]
    [server] = [v for v in mysql["env"] if v["name"] == "MYSQL_ROOT_PASSWORD"]
    assert found["mysql-dump"]["env"] == [{"name": "MYSQL_PWD", "valueFrom": server["valueFrom"]}]
    assert "secretKeyRef" in server["valueFrom"]  # where the secrets rule moved it
    shell, flag, script = found["mysql-dump"]["command"]
    assert (shell, flag) == ("/bin/sh", "-c")
    # Waits for the server to answer (a new pod's address may not be let through yet),
    # then dumps once.
    waiting, dumping = script.split("exec ", 1)
    assert "mysqladmin --host=mysql --port=3306 --connect-timeout=2 ping" in waiting
    command = shlex.split(dumping)
    assert command[0] == "mysqldump" and "--host=mysql" in command and "--port=3306" in command
    assert {"--single-transaction", "--routines", "--events", "--all-databases"} <= set(command)
    mongo = deployments["mongodb"]["spec"]["template"]["spec"]["containers"][0]
    assert found["mongodb-dump"]["image"] == mongo["image"]
    assert found["mongodb-dump"]["command"][0] == "mongodump"
    assert "meilisearch" not in str(found)  # rebuilt from the databases, never backed up


def test_restic_backs_up_into_the_environments_repository_and_forgets(
    prod: RenderedEnvironment, hardened: list[Any]
) -> None:
    restic = containers(pod_of(find(hardened, "CronJob", CRONJOB)))["restic"]
    assert restic["image"] == "docker.io/restic/restic:0.18.1"
    env = {v["name"]: v for v in restic["env"]}
    assert env["RESTIC_REPOSITORY"]["value"] == STORE["repository"] + "/acme-prod"
    for key in ("RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": STORE_SECRET, "key": key}
    assert env["RESTIC_CACHE_DIR"]["value"] == "/cache"
    script = restic["command"][-1]
    assert "restic cat config >/dev/null || restic init" in script
    assert (
        f"restic backup --host acme-prod --tag campus --tag release={prod.tutor_version} --json "
        "/backup\n" in script
    )
    assert script.endswith(
        "restic forget --host acme-prod --tag campus --group-by host --keep-daily 7 "
        "--keep-weekly 4 --prune"
    )


def test_every_container_is_hardened_and_the_pod_is_unprivileged(hardened: list[Any]) -> None:
    cronjob = find(hardened, "CronJob", CRONJOB)
    pod = pod_of(cronjob)
    assert pod["securityContext"]["runAsUser"] == USER and pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False and "affinity" not in pod
    for container in containers(pod).values():
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]} and "runAsUser" not in context
        resources = container["resources"]
        assert {"cpu", "memory", "ephemeral-storage"} <= set(resources["requests"])
        assert {"memory", "ephemeral-storage"} <= set(resources["limits"])
    waived = {
        value.split("=", 1)[0]
        for key, value in cronjob["metadata"]["annotations"].items()
        if key.startswith(SKIP_PREFIX)
    }
    assert waived == {"CKV_K8S_11", "CKV_K8S_15", "CKV_K8S_43", "CKV_K8S_35"}
    reasons = dict(
        v.split("=", 1)
        for k, v in cronjob["metadata"]["annotations"].items()
        if k.startswith(SKIP_PREFIX)
    )
    assert reasons["CKV_K8S_35"] == WAIVERS["CKV_K8S_35"]
    assert all("=" not in reason for reason in WAIVERS.values())  # Checkov splits on it


def test_the_backup_pods_reach_the_store_their_databases_and_dns_only(
    hardened: list[Any],
) -> None:
    policy = find(hardened, "NetworkPolicy", POLICY)["spec"]
    assert policy["policyTypes"] == ["Egress"]
    assert policy["podSelector"]["matchExpressions"][0]["values"] == [CRONJOB, "campus-backup-list"]
    store, databases, dns = policy["egress"]
    assert store == {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "campus-backups"}
                }
            }
        ]
    }
    assert databases["to"][0]["podSelector"]["matchExpressions"][0]["values"] == [
        "mysql",
        "mongodb",
    ]
    assert dns == {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def test_an_external_store_is_reached_by_its_addresses(prod: RenderedEnvironment) -> None:
    store = {"repository": "s3:https://s3.example.org/b", "secret": "s/k", "cidrs": ["10.0.9.0/24"]}
    outside = backed_up(prod, store=store)
    [_, policy] = backup_objects(outside.environment, outside.objects, {}, "22.0.3")
    assert policy["spec"]["egress"][0] == {"to": [{"ipBlock": {"cidr": "10.0.9.0/24"}}]}


def test_the_hardened_environment_passes_lint_and_the_rule(
    prod: RenderedEnvironment, hardened: list[Any]
) -> None:
    assert lint(prod, hardened) == []
    raw = copy.deepcopy(prod.objects)
    assert [v.message for v in RULE.check(prod, raw)] == [
        f"the fleet file asks for backups: no CronJob {CRONJOB}",
        f"the fleet file asks for backups: no NetworkPolicy {POLICY}",
    ]


def test_an_environment_without_backups_has_no_cronjob_and_refuses_one(
    rendered_example: dict[str, RenderedEnvironment], hardened: list[Any]
) -> None:
    plain = rendered_example["acme-prod"]
    objects, _ = harden_all(plain)
    assert not [o for o in objects if o["kind"] == "CronJob"]
    stray = [find(hardened, "CronJob", CRONJOB)]
    assert [v.message for v in RULE.check(plain, objects + stray)] == [
        "the fleet file asks for no backups of this environment"
    ]


def test_a_dump_reading_another_password_than_the_server_is_refused(
    prod: RenderedEnvironment, hardened: list[Any]
) -> None:
    objects = copy.deepcopy(hardened)
    dump = containers(pod_of(find(objects, "CronJob", CRONJOB)))["mysql-dump"]
    dump["env"][0]["valueFrom"]["secretKeyRef"]["name"] = "mysql-mysql-00000000"
    [found] = RULE.check(prod, objects)
    assert "reads the root password from elsewhere than the MySQL server" in found.message


# Small objects for what the example fleet does not render: Caddy's volume (caddy mode)
# and tutor-minio's, both written by root.
def deployment(name: str, claim: str | None, user: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": name, "image": f"docker.io/{name}:1.0"}]}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    if user is not None:
        spec["securityContext"] = {"runAsUser": user}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": spec}
        },
    }


def claim(name: str, size: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"resources": {"requests": {"storage": size}}},
    }


def test_file_volumes_are_read_on_their_writers_node_as_their_owner(
    prod: RenderedEnvironment,
) -> None:
    objects = [
        deployment("mysql", "mysql", 999),
        claim("mysql", "5Gi"),
        deployment("caddy", "caddy"),
        claim("caddy", "1Gi"),
        deployment("minio", "minio"),
        claim("minio", "10Gi"),
    ]
    cronjob, _ = backup_objects(prod.environment, objects, {}, "22.0.3")
    pod = pod_of(cronjob)
    restic = containers(pod)["restic"]
    assert restic["securityContext"] == {
        "readOnlyRootFilesystem": True,
        "runAsUser": 0,  # the files' owner: Tutor runs Caddy and MinIO as root
        "runAsNonRoot": False,
    }
    mounts = {m["mountPath"]: m for m in restic["volumeMounts"]}
    assert mounts["/volumes/caddy"]["readOnly"] and mounts["/volumes/minio"]["readOnly"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["caddy"]["persistentVolumeClaim"] == {"claimName": "caddy", "readOnly": True}
    assert volumes["dumps"]["emptyDir"]["sizeLimit"] == "5Gi"  # the database's volume
    terms = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert [t["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] for t in terms] == [
        "caddy",
        "minio",
    ]
    assert {t["topologyKey"] for t in terms} == {"kubernetes.io/hostname"}
    assert "/backup /volumes/caddy /volumes/minio" in restic["command"][-1]
    assert list(containers(pod)) == ["mysql-dump", "restic"]  # no MongoDB rendered: no dump


def test_a_file_volume_written_by_a_user_is_read_as_that_user(prod: RenderedEnvironment) -> None:
    objects = [deployment("minio", "minio", 1000), claim("minio", "1Gi")]
    cronjob, policy = backup_objects(prod.environment, objects, {}, "22.0.3")
    restic = containers(pod_of(cronjob))["restic"]
    assert restic["securityContext"]["runAsUser"] == 1000
    assert restic["securityContext"]["runAsNonRoot"] is True
    assert len(policy["spec"]["egress"]) == 2  # no database to reach


def test_nothing_to_back_up_renders_nothing(prod: RenderedEnvironment) -> None:
    assert backup_objects(prod.environment, [deployment("lms", None)], {}, "22.0.3") == []


def test_the_root_reading_backup_carries_its_own_waivers(prod: RenderedEnvironment) -> None:
    objects = [*copy.deepcopy(prod.objects), deployment("minio", "minio"), claim("minio", "1Gi")]
    with_minio = dataclasses.replace(prod, objects=objects)
    hardened, _ = harden_all(with_minio)
    annotations = find(hardened, "CronJob", CRONJOB)["metadata"]["annotations"]
    reasons = dict(v.split("=", 1) for k, v in annotations.items() if k.startswith(SKIP_PREFIX))
    assert reasons["CKV_K8S_23"] == WAIVERS["CKV_K8S_23"]
    assert reasons["CKV_K8S_40"] == WAIVERS["CKV_K8S_40"]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(1024**3, "1Gi"), (512 * 1024**2, "512Mi"), (13056 * 1024**2, "13056Mi"), (1000, "1000")],
)
def test_quantities_are_written_as_the_api_server_writes_them(amount: int, text: str) -> None:
    assert binary_quantity(amount) == text


BACKUPS = Path(__file__).parents[1] / "fleets" / "backups.yml"


@pytest.fixture(scope="module")
def rendered_backups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderedEnvironment]:
    """tests/fleets/backups.yml through Tutor: caddy mode with tutor-minio, and an Ingress
    environment backing up outside the cluster."""
    state = tmp_path_factory.mktemp("backup-state")
    return {r.environment.name: r for r in render_fleet(load_fleet(BACKUPS), state_dir=state)}


def test_tutors_caddy_and_minio_volumes_are_backed_up_from_their_node(
    rendered_backups: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_backups["files-caddy"]
    objects, jobs = harden_all(rendered)
    assert lint(rendered, objects + jobs) == []
    pod = pod_of(find(objects, "CronJob", CRONJOB))
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {"caddy", "minio"}
    terms = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert {t["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] for t in terms} == {
        "caddy",
        "minio",
    }
    assert containers(pod)["restic"]["securityContext"]["runAsUser"] == 0


def test_an_external_store_renders_from_the_fleet_file(
    rendered_backups: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_backups["remote-store"]
    objects, jobs = harden_all(rendered)
    assert lint(rendered, objects + jobs) == []
    cronjob = find(objects, "CronJob", CRONJOB)
    assert cronjob["spec"]["schedule"] == "@hourly"
    restic = containers(pod_of(cronjob))["restic"]
    assert (
        "--keep-hourly 24 --keep-daily 7 --keep-weekly 4 --keep-monthly 3" in restic["command"][-1]
    )
    policy = find(objects, "NetworkPolicy", POLICY)
    assert policy["spec"]["egress"][0] == {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}
