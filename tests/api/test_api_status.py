"""`campus status` reads each kind once across the cluster, and each namespace on its own
when cluster-wide reading is forbidden to the credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from fakeapi import FakeApi, listing, metadata_listing, obj, refusal, unreachable

from campus.fleet.load import load_fleet
from campus.fleet.model import Environment
from campus.kube.errors import Forbidden, Unreachable
from campus.labels import DEPLOYED_AT, ENVIRONMENT, PLUGIN_VERSIONS, REVISION, TUTOR_VERSION
from campus.status.collect import fleet_status

FLEET = """\
cluster:
  context: fake
defaults:
  plugins: []
  size: small
  ingress: {mode: ingress}
environments:
  acme-prod:
    hosts: {lms: learn.prod.acme.example.org}
    production: true
  acme-dev:
    hosts: {lms: learn.dev.acme.example.org}
"""

CLUSTER_WIDE = {
    "deployments": "/apis/apps/v1/deployments",
    "pods": "/api/v1/pods",
    "hpas": "/apis/autoscaling/v2/horizontalpodautoscalers",
    "jobs": "/apis/batch/v1/jobs",
    "revisions": "/api/v1/secrets",
    "cronjobs": "/apis/batch/v1/cronjobs",
}


def namespaced(namespace: str, kind: str) -> str:
    prefix, plural = CLUSTER_WIDE[kind].rsplit("/", 1)
    return f"{prefix}/namespaces/{namespace}/{plural}"


@pytest.fixture
def environments(tmp_path: Path) -> list[Environment]:
    path = tmp_path / "fleet.yml"
    path.write_text(FLEET)
    return list(load_fleet(path).environments)


def lms(namespace: str, ready: int) -> dict[str, Any]:
    return obj(
        "apps/v1",
        "Deployment",
        "lms",
        namespace,
        spec={
            "replicas": 2,
            "selector": {"matchLabels": {"app": "lms"}},
            "template": {"metadata": {"labels": {"app": "lms"}}, "spec": {"containers": []}},
        },
        status={"readyReplicas": ready, "replicas": 2},
    )


def namespaced_credentials(api: FakeApi) -> None:
    """Cluster-wide reading refused; each namespace answers with its lms."""
    for path in CLUSTER_WIDE.values():
        api.on("GET", path, refusal(403, "pods is forbidden: cannot list at the cluster scope"))
    for namespace, ready in (("acme-prod", 2), ("acme-dev", 1)):
        api.on(
            "GET",
            namespaced(namespace, "deployments"),
            listing("DeploymentList", [lms(namespace, ready)]),
        )


def services(statuses: list[Any]) -> dict[str, list[tuple[str, int, int]]]:
    return {s.name: [(v.name, v.ready, v.desired) for v in s.services] for s in statuses}


def test_cluster_wide_reads_are_grouped_by_namespace(
    api: FakeApi, environments: list[Environment]
) -> None:
    api.on(
        "GET",
        CLUSTER_WIDE["deployments"],
        listing("DeploymentList", [lms("acme-prod", 2), lms("acme-dev", 1), lms("other", 0)]),
    )
    statuses = fleet_status(api.client(), environments)
    assert services(statuses) == {"acme-prod": [("lms", 2, 2)], "acme-dev": [("lms", 1, 2)]}
    assert not any("/namespaces/" in path for _, path in api.requests)


def test_cluster_wide_reading_forbidden_falls_back_to_each_namespace(
    api: FakeApi, environments: list[Environment]
) -> None:
    namespaced_credentials(api)
    statuses = fleet_status(api.client(), environments)
    assert services(statuses) == {"acme-prod": [("lms", 2, 2)], "acme-dev": [("lms", 1, 2)]}
    for namespace in ("acme-prod", "acme-dev"):
        for kind in CLUSTER_WIDE:
            assert api.requested("GET", namespaced(namespace, kind)) == 1


def test_a_namespace_that_may_not_be_read_is_reported_clearly(
    api: FakeApi, environments: list[Environment]
) -> None:
    api.on("GET", CLUSTER_WIDE["pods"], refusal(403, "pods is forbidden at the cluster scope"))
    message = 'pods is forbidden: User "dev" cannot list resource "pods" in "acme-dev"'
    api.on("GET", namespaced("acme-dev", "pods"), refusal(403, message))
    with pytest.raises(Forbidden) as raised:
        fleet_status(api.client(), environments)
    assert str(raised.value) == f"cannot read Pods in acme-dev: {message}"


def test_a_cluster_wide_read_that_fails_otherwise_does_not_fall_back(
    api: FakeApi, environments: list[Environment]
) -> None:
    api.on("GET", CLUSTER_WIDE["jobs"], unreachable)
    with pytest.raises(Unreachable, match="cannot read Jobs in all namespaces"):
        fleet_status(api.client(), environments)
    assert not any("/namespaces/" in path for _, path in api.requests)


def test_a_reader_that_may_not_read_secrets_sees_status_without_the_revision(
    api: FakeApi, environments: list[Environment]
) -> None:
    """A read-only identity is refused Secrets (they hold passwords): the rest still shows."""
    namespaced_credentials(api)
    for namespace in ("acme-prod", "acme-dev"):
        api.on("GET", namespaced(namespace, "revisions"), refusal(403, "secrets is forbidden"))
    statuses = fleet_status(api.client(), environments)
    assert services(statuses) == {"acme-prod": [("lms", 2, 2)], "acme-dev": [("lms", 1, 2)]}
    assert [s.revision for s in statuses] == [None, None]


def revision(environment: str, number: int) -> dict[str, Any]:
    """A revision Secret: labels and annotations, and the manifest status never reads."""
    secret = obj("v1", "Secret", f"campus-revision-{number}", environment)
    secret["metadata"]["labels"] = {ENVIRONMENT: environment, REVISION: str(number)}
    secret["metadata"]["annotations"] = {
        DEPLOYED_AT: "2026-01-02T03:04:05+00:00",
        TUTOR_VERSION: "21.0.9",
        PLUGIN_VERSIONS: f"mfe=21.0.{number}",
    }
    return secret | {"data": {"manifest": "H4sIAAAAAAAA/w=="}}


def test_revisions_are_read_as_metadata_only(api: FakeApi, environments: list[Environment]) -> None:
    """The fake answers metadata-only requests alone: a request for whole Secrets (their
    gzipped manifests) is refused, and the revision would be missing."""
    secrets = [revision("acme-prod", n) for n in (1, 3, 2)] + [revision("acme-dev", 1)]
    api.on("GET", CLUSTER_WIDE["revisions"], metadata_listing(secrets))
    statuses = {s.name: s for s in fleet_status(api.client(), environments)}
    prod, dev = statuses["acme-prod"], statuses["acme-dev"]
    assert (prod.revision, prod.deployed_at) == (3, "2026-01-02T03:04:05+00:00")
    assert prod.release == "tutor 21.0.9, mfe 21.0.3"
    assert (dev.revision, dev.release) == (1, "tutor 21.0.9, mfe 21.0.1")


def test_the_backup_cronjobs_are_read_once_by_their_label(
    api: FakeApi, environments: list[Environment]
) -> None:
    selectors = []

    def cronjobs(request: httpx2.Request) -> httpx2.Response:
        selectors.append(request.url.params.get("labelSelector"))
        cronjob = obj(
            "batch/v1",
            "CronJob",
            "campus-backup",
            "acme-prod",
            spec={
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
            },
            status={"lastSuccessfulTime": "2026-01-02T03:04:05Z"},
        )
        return listing("CronJobList", [cronjob])(request)

    api.on("GET", CLUSTER_WIDE["cronjobs"], cronjobs)
    statuses = {s.name: s for s in fleet_status(api.client(), environments)}
    backup = statuses["acme-prod"].backup
    assert backup is not None and backup.last_success == "2026-01-02T03:04:05Z"
    assert statuses["acme-dev"].backup is None
    assert selectors == ["app.kubernetes.io/name=campus-backup"]


def namespace(name: str, environment: str) -> dict[str, Any]:
    found = obj("v1", "Namespace", name, "")
    del found["metadata"]["namespace"]
    found["metadata"]["labels"] = {ENVIRONMENT: environment}
    return found


def test_without_a_fleet_file_the_environments_are_the_labelled_namespaces(api: FakeApi) -> None:
    from campus.status.discover import deployed_environments
    from campus.status.model import DeployedEnvironment

    namespaces = [namespace("acme-prod", "acme-prod"), namespace("beta", "beta-dev")]
    selectors = []

    def labelled(request: httpx2.Request) -> httpx2.Response:
        selectors.append(request.url.params.get("labelSelector"))
        return metadata_listing(namespaces)(request)

    api.on("GET", "/api/v1/namespaces", labelled)
    secrets = [revision("acme-prod", n) for n in (1, 3, 2)]
    api.on("GET", CLUSTER_WIDE["revisions"], metadata_listing(secrets))
    assert deployed_environments(api.client()) == [
        DeployedEnvironment("acme-prod", "acme-prod", 3),
        DeployedEnvironment("beta-dev", "beta", None),
    ]
    assert selectors == [ENVIRONMENT]  # only the namespaces campus labelled


def test_credentials_that_may_not_list_namespaces_are_told_to_name_the_fleet_file(
    api: FakeApi,
) -> None:
    from campus.status.discover import NotDiscoverable, deployed_environments

    api.on("GET", "/api/v1/namespaces", refusal(403, "namespaces is forbidden"))
    with pytest.raises(NotDiscoverable, match="name the fleet file with -f"):
        deployed_environments(api.client())


def test_an_environment_is_located_by_name_or_refused_with_those_deployed(api: FakeApi) -> None:
    from campus.errors import CampusError
    from campus.status.discover import locate

    api.on("GET", "/api/v1/namespaces", metadata_listing([namespace("beta", "beta-dev")]))
    assert locate(api.client(), None, "beta-dev", "context fake") == ("beta-dev", "beta")
    assert api.requested("GET", CLUSTER_WIDE["revisions"]) == 0  # a name needs no revision
    with pytest.raises(CampusError) as raised:
        locate(api.client(), None, "nope", "context fake")
    assert (
        str(raised.value) == "no environment nope in the cluster (context fake); deployed: beta-dev"
    )
