"""A deploy's copy of the backup store's Secret against the fake API server: read,
refused when missing or unreadable, applied only when changed, deleted when the
environment no longer backs up."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest
from fakeapi import FakeApi, answer, obj, refusal

from campus.backup.schedule import CRONJOB, STORE_SECRET
from campus.backup.store import StoreSecretRefused, store_copy
from campus.deploy.backup_store import keep_copy, wanted_copy
from campus.deploy.model import DeployRequest
from campus.kube.errors import Forbidden
from campus.kube.objects import ObjectKey

SOURCE = "/api/v1/namespaces/campus-backups/secrets/store"
COPY = f"/api/v1/namespaces/acme/secrets/{STORE_SECRET}"
KEYS = {
    key: base64.b64encode(value.encode()).decode()
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "campus"),
        ("AWS_SECRET_ACCESS_KEY", "s3-secret"),
        ("RESTIC_PASSWORD", "encryption"),
    )
}
CRONJOB_OBJECT = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": CRONJOB}}


def request(backup_store: str = "campus-backups/store") -> DeployRequest:
    return DeployRequest("acme", "acme", [CRONJOB_OBJECT], [], backup_store=backup_store)


def test_the_store_secret_is_read_and_copied_with_its_keys(api: FakeApi) -> None:
    api.on("GET", SOURCE, answer(obj("v1", "Secret", "store", "campus-backups", data=KEYS)))
    wanted = wanted_copy(api.client(), request())
    assert wanted == store_copy("campus-backups/store", KEYS, "acme", "acme")


def test_a_missing_store_secret_stops_the_deploy_naming_what_to_create(api: FakeApi) -> None:
    with pytest.raises(StoreSecretRefused, match="no Secret store in namespace campus-backups"):
        wanted_copy(api.client(), request())


def test_a_store_secret_the_deployer_may_not_read_says_how_to_grant_it(api: FakeApi) -> None:
    api.on("GET", SOURCE, refusal(403, 'secrets "store" is forbidden'))
    with pytest.raises(Forbidden, match="campus access apply"):
        wanted_copy(api.client(), request())


def test_no_backups_or_no_source_reads_nothing(api: FakeApi) -> None:
    assert wanted_copy(api.client(), request(backup_store="")) is None
    plain = DeployRequest("acme", "acme", [], [], backup_store="campus-backups/store")
    assert wanted_copy(api.client(), plain) is None
    assert api.requests == []


def test_the_copy_is_applied_when_it_differs_and_deleted_when_backups_end(api: FakeApi) -> None:
    applied: list[dict[str, Any]] = []

    def apply(http: httpx2.Request) -> httpx2.Response:
        applied.append(json.loads(http.content))
        return httpx2.Response(200, json=applied[-1])

    api.on("PATCH", COPY, apply)
    api.on("DELETE", COPY, answer({"kind": "Status", "apiVersion": "v1", "status": "Success"}))
    wanted = store_copy("campus-backups/store", KEYS, "acme", "acme")
    key = ObjectKey("v1", "Secret", "acme", STORE_SECRET)
    said: list[str] = []

    def say(phase: str, message: str) -> None:
        said.append(message)

    keep_copy(api.client(), request(), wanted, {}, say)
    assert applied[0]["data"] == KEYS
    keep_copy(api.client(), request(), wanted, {key: wanted}, say)  # unchanged: no request
    assert api.requested("PATCH", COPY) == 1
    keep_copy(api.client(), DeployRequest("acme", "acme", [], []), None, {key: wanted}, say)
    assert api.requested("DELETE", COPY) == 1
    assert said[-1] == f"deleting {key}: the environment no longer backs up"
