"""Rotating an environment's Tutor secrets: what is generated again, what a rotation's
outcome leaves in force, the pending record in the state Secret, campus's root password Job."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from campus.deploy.phases import Phase
from campus.state.model import TutorState, decode, encode, pending_message, settle
from campus.state.rotation import (
    PHASES,
    ROOT_JOB,
    RotationRefused,
    ages,
    check_rotatable,
    generated_again,
    root_password_job,
    services_missing,
    verdict,
)

STATE = TutorState(
    "acme-dev",
    {
        "ID": "abc",
        "MYSQL_ROOT_PASSWORD": "old-root-pw",
        "MEILISEARCH_MASTER_KEY": "old-master",
        "MEILISEARCH_API_KEY": "old-api",
        "OPENEDX_SECRET_KEY": "old-secret-key",
    },
)
PENDING = replace(
    STATE,
    rotating=("MYSQL_ROOT_PASSWORD",),
    pending={"MYSQL_ROOT_PASSWORD": "new-root-pw"},
    pending_since="2026-11-25T10:00:00+00:00",
)


def test_the_phase_names_are_the_deploys() -> None:
    assert tuple(phase.value for phase in Phase) == PHASES


def test_the_meilisearch_api_key_is_generated_again_with_its_master_key() -> None:
    assert generated_again(["MEILISEARCH_MASTER_KEY", "OPENEDX_SECRET_KEY"]) == [
        "MEILISEARCH_MASTER_KEY",
        "OPENEDX_SECRET_KEY",
        "MEILISEARCH_API_KEY",
    ]
    check_rotatable("acme-dev", ["MYSQL_ROOT_PASSWORD", "MEILISEARCH_MASTER_KEY"], STATE)


def test_a_data_service_campus_does_not_run_is_not_rotated_by_it() -> None:
    [problem] = services_missing(["MYSQL_ROOT_PASSWORD", "OPENEDX_SECRET_KEY"], {"lms", "cms"})
    assert problem.startswith("MYSQL_ROOT_PASSWORD: no Deployment mysql")
    assert not services_missing(["MEILISEARCH_MASTER_KEY"], {"meilisearch"})


@pytest.mark.parametrize(
    ("names", "outcome", "reached", "resuming", "expected"),
    [
        (["MYSQL_ROOT_PASSWORD"], "deployed", "availability", False, "confirmed"),
        # Every init Job completed once the applications begin rolling.
        (["MYSQL_ROOT_PASSWORD"], "failed", "applications", False, "confirmed"),
        # A Job that timed out may still change the password.
        (["MYSQL_ROOT_PASSWORD"], "failed", "init jobs", False, "pending"),
        (["OPENEDX_MYSQL_PASSWORD"], "failed", "backing services", False, "nothing"),
        # Meilisearch restarts with the new key in the backing phase.
        (["MEILISEARCH_MASTER_KEY"], "failed", "backing services", False, "pending"),
        (["MEILISEARCH_MASTER_KEY"], "failed", "configuration", False, "nothing"),
        (["OPENEDX_SECRET_KEY"], "failed", "init jobs", False, "nothing"),
        (["OPENEDX_SECRET_KEY", "MYSQL_ROOT_PASSWORD"], "failed", "init jobs", False, "pending"),
        # Lock not taken: nothing applied.
        (["MYSQL_ROOT_PASSWORD"], "failed", "", False, "nothing"),
        # Finishing a pending rotation: the first attempt may have reached MySQL.
        (["MYSQL_ROOT_PASSWORD"], "failed", "", True, "pending"),
    ],
)
def test_what_a_rotation_leaves_in_force(
    names: list[str], outcome: str, reached: str, resuming: bool, expected: str
) -> None:
    assert verdict(names, outcome, reached, resuming) == expected


def test_a_pending_rotation_round_trips_and_only_finishing_it_is_allowed() -> None:
    secret = encode(PENDING, "acme-dev")
    assert "new-root-pw" not in json.dumps(secret["metadata"])  # names in annotations only
    assert decode(secret) == PENDING
    assert decode(encode(STATE, "acme-dev")).pending == {}
    with pytest.raises(RotationRefused, match="rotation of MYSQL_ROOT_PASSWORD begun"):
        check_rotatable("acme-dev", ["OPENEDX_SECRET_KEY"], PENDING)
    check_rotatable("acme-dev", ["MYSQL_ROOT_PASSWORD"], PENDING)
    message = pending_message("acme-dev", PENDING)
    assert "`campus secrets rotate acme-dev MYSQL_ROOT_PASSWORD` finishes it" in message
    assert "new-root-pw" not in message and "new-root-pw" not in repr(PENDING)
    [root] = [
        a for a in ages(PENDING, datetime(2026, 11, 26, tzinfo=UTC)) if a.name.startswith("MYSQL")
    ]
    assert root.rotation.startswith("pending since 2026-11-25T10:00:00+00:00")


def test_the_root_password_job_reads_both_passwords_from_a_secret() -> None:
    template = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "mysql-init-1", "namespace": "acme-dev", "labels": {"a": "b"}},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "mysql",
                            "image": "mysql:8.4",
                            "args": ["sh", "-e", "-c", 'eval "$CAMPUS_INIT_SCRIPT"'],
                            "env": [{"name": "CAMPUS_INIT_SCRIPT", "value": "x"}],
                        }
                    ],
                }
            }
        },
    }
    config = {"MYSQL_ROOT_USERNAME": "root", "MYSQL_HOST": "mysql", "MYSQL_PORT": 3306}
    secret, job = root_password_job(template, config, "old-pw", "it's-new")
    assert "old-pw" not in json.dumps(job) and "it's-new" not in json.dumps(job)
    assert job["metadata"]["name"] == ROOT_JOB and job["spec"]["backoffLimit"] == 1
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mysql:8.4" and container["command"] == ["sh", "-c"]
    references = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "valueFrom" in e
    }
    assert set(references.values()) == {secret["metadata"]["name"]}
    assert set(references) == set(secret["stringData"])
    assert secret["stringData"]["CAMPUS_ROTATE_SQL"] == (
        "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'it\\'s-new'; "
        "ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY 'it\\'s-new';"
    )
    # The same rotation gives the same objects; another gives others.
    assert root_password_job(template, config, "old-pw", "it's-new") == (secret, job)
    other, _ = root_password_job(template, config, "old-pw", "newer")
    assert other["metadata"]["name"] != secret["metadata"]["name"]
    assert template["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "x"


def test_a_render_while_a_rotation_is_pending_says_so_and_uses_the_values_in_force() -> None:
    settled = settle(
        "acme-dev",
        "acme-dev",
        cached=None,
        confirmed=True,
        stored=PENDING,
        unconsulted=None,
        fleet_keys=frozenset(),
        cache=".campus/acme-dev/config.yml",
    )
    assert settled.seed["MYSQL_ROOT_PASSWORD"] == "old-root-pw"
    assert settled.describe() == (
        "cluster (no local cache; rotation of MYSQL_ROOT_PASSWORD pending, deploys refused "
        "until `campus secrets rotate acme-dev MYSQL_ROOT_PASSWORD` finishes it)"
    )
