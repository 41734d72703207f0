"""The copy of the backup store's Secret a deploy keeps beside the backup pods, and who may
read the source: pure logic (the deploy's reads and writes: tests/api)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from campus.access.model import DEPLOYER, rbac_objects
from campus.backup.schedule import STORE_SECRET
from campus.backup.store import (
    COPIED_FROM,
    StoreSecretRefused,
    backs_up,
    copy_needed,
    store_copy,
)
from campus.fleet.load import load_fleet


def encoded(**values: str) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}


KEYS = encoded(
    AWS_ACCESS_KEY_ID="campus", AWS_SECRET_ACCESS_KEY="s3-secret", RESTIC_PASSWORD="encryption"
)


def test_the_copy_holds_the_keys_restic_needs_and_nothing_else() -> None:
    source = {**KEYS, **encoded(AWS_DEFAULT_REGION="eu-west-1", ROOT_PASSWORD="admin")}
    copy = store_copy("campus-backups/store", source, "acme-prod", "acme-prod")
    assert copy["metadata"]["name"] == STORE_SECRET and copy["metadata"]["namespace"] == "acme-prod"
    assert set(copy["data"]) == {*KEYS, "AWS_DEFAULT_REGION"}
    assert copy["data"]["RESTIC_PASSWORD"] == KEYS["RESTIC_PASSWORD"]  # copied as stored
    assert copy["metadata"]["annotations"] == {COPIED_FROM: "campus-backups/store"}
    assert copy["metadata"]["labels"]["campus.openedx.org/environment"] == "acme-prod"


def test_a_source_lacking_a_key_is_refused_naming_it() -> None:
    lacking = {k: v for k, v in KEYS.items() if k != "RESTIC_PASSWORD"}
    with pytest.raises(StoreSecretRefused, match="campus-backups/store lacks RESTIC_PASSWORD"):
        store_copy("campus-backups/store", lacking, "acme-prod", "acme-prod")
    with pytest.raises(StoreSecretRefused, match="lacks AWS_ACCESS_KEY_ID, AWS_SECRET"):
        store_copy("campus-backups/store", None, "acme-prod", "acme-prod")


def test_an_unchanged_copy_is_not_applied_again() -> None:
    wanted = store_copy("campus-backups/store", KEYS, "acme-prod", "acme-prod")
    live = {**wanted, "metadata": {**wanted["metadata"], "resourceVersion": "7"}}
    assert copy_needed(wanted, None)
    assert not copy_needed(wanted, live)
    assert copy_needed(wanted, {**live, "data": {**KEYS, "RESTIC_PASSWORD": "bmV3"}})
    moved = store_copy("other/store", KEYS, "acme-prod", "acme-prod")
    assert copy_needed(moved, live)


def test_only_objects_with_the_backup_cronjob_need_a_copy() -> None:
    cronjob = {"kind": "CronJob", "metadata": {"name": "campus-backup"}}
    other = {"kind": "CronJob", "metadata": {"name": "plugin-task"}}
    assert backs_up([other, cronjob]) and not backs_up([other])


FLEET = """\
defaults:
  backup:
    store:
      repository: "s3:http://s3.campus-backups.svc:7070/campus"
      secret: campus-backups/store
      namespace: campus-backups
environments:
  acme-prod:
    hosts: {lms: learn.acme.example.org}
  acme-dev:
    hosts: {lms: learn.dev.acme.example.org}
    backup: {enabled: false}
  globex-prod:
    hosts: {lms: learn.globex.example.org}
    backup: {store: {secret: globex-backups/store}}
"""


def test_deploying_identities_may_read_their_environments_store_secret_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fleet.yml"
    path.write_text(FLEET)
    objects = rbac_objects(load_fleet(path))
    roles = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o["rules"]
        for o in objects
        if o["kind"] == "Role"
    }
    get = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    assert roles == {
        ("campus-backups", f"campus:{DEPLOYER}:backup-store"): [get | {"resourceNames": ["store"]}],
        ("globex-backups", f"campus:{DEPLOYER}:backup-store"): [get | {"resourceNames": ["store"]}],
        ("campus-backups", "campus:acme-operator:backup-store"): [
            get | {"resourceNames": ["store"]}
        ],
        ("globex-backups", "campus:globex-operator:backup-store"): [
            get | {"resourceNames": ["store"]}
        ],
    }
    bindings = [
        o
        for o in objects
        if o["kind"] == "RoleBinding" and o["metadata"]["name"].endswith(":backup-store")
    ]
    assert {b["roleRef"]["kind"] for b in bindings} == {"Role"}
    assert {b["subjects"][0]["name"] for b in bindings} == {
        DEPLOYER,
        "acme-operator",
        "globex-operator",
    }
