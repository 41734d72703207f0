"""Pure deploy logic: phase order, health judgements, revision encoding, preparation."""

from __future__ import annotations

from typing import Any

import pytest

from campus.deploy.health import deployment_health, job_health, pod_problem
from campus.deploy.phases import Phase, phase_of, plan_phases
from campus.deploy.prepare import is_data, prepare, versioned_job
from campus.deploy.revisions import (
    Revision,
    decode,
    describe_release,
    encode,
    parse_plugins,
    to_expire,
)
from campus.labels import PLUGIN_VERSIONS
from campus.services import defaults


def obj(kind: str, name: str, api_version: str = "v1", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **extra}


def test_phases_in_dependency_order() -> None:
    objects = [
        obj("HorizontalPodAutoscaler", "lms", "autoscaling/v2"),
        obj("Deployment", "lms", "apps/v1"),
        obj("Deployment", "mysql", "apps/v1"),
        obj("Secret", "openedx-secrets"),
        obj("NetworkPolicy", "deny", "networking.k8s.io/v1"),
        obj("Namespace", "acme"),
    ]
    jobs = [obj("Job", "mysql-init", "batch/v1"), obj("Job", "lms-init", "batch/v1")]
    plans = plan_phases(objects, jobs)
    # The upgrade phase holds no rendered objects: its Jobs come from the release change.
    assert [p.phase for p in plans] == [p for p in Phase if p is not Phase.UPGRADE]
    assert [o["metadata"]["name"] for o in plans[3].objects] == ["mysql-init", "lms-init"]
    assert phase_of(obj("Deployment", "redis", "apps/v1"), defaults()) is Phase.BACKING
    assert phase_of(obj("Deployment", "mfe", "apps/v1"), defaults()) is Phase.APPLICATIONS


def deployment(generation: int = 2, desired: int = 3, **status: int) -> dict[str, Any]:
    return {
        **obj("Deployment", "lms", "apps/v1", spec={"replicas": desired}),
        "metadata": {"name": "lms", "generation": generation},
        "status": {"observedGeneration": 2, **status},
    }


def test_deployment_rolled_out_only_when_all_replicas_updated_and_available() -> None:
    assert deployment_health(deployment(replicas=3, updatedReplicas=3, availableReplicas=3)).ready
    assert not deployment_health(
        deployment(replicas=4, updatedReplicas=3, availableReplicas=3)
    ).ready  # an old replica still terminating
    assert not deployment_health(
        deployment(replicas=3, updatedReplicas=3, availableReplicas=2)
    ).ready
    assert not deployment_health(
        deployment(generation=3, replicas=3, updatedReplicas=3, availableReplicas=3)
    ).ready  # the controller has not seen the newest spec


def test_scale_down_is_not_done_while_surplus_replicas_are_counted() -> None:
    """Scaled from 3 to 2: the controller has seen the new spec, but the third pod is still
    counted in status.replicas (and so updated, ready and available). The old verdict (every
    count >= desired) called this done."""
    scaling_down = deployment(
        desired=2, replicas=3, updatedReplicas=3, readyReplicas=3, availableReplicas=3
    )
    health = deployment_health(scaling_down)
    assert not health.ready and not health.failed
    assert "scaling down" in health.message and "1 replicas to remove" in health.message
    done = deployment(
        desired=2, replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2
    )
    assert deployment_health(done).ready


def test_scale_up_waits_for_every_new_replica_to_be_available() -> None:
    scaling_up = deployment(desired=4, replicas=4, updatedReplicas=4, availableReplicas=3)
    assert "3/4 replicas available" in deployment_health(scaling_up).message
    assert not deployment_health(scaling_up).ready


def test_job_failure_and_completion() -> None:
    failed = obj(
        "Job",
        "lms-init",
        status={
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
        },
    )
    assert job_health(failed).failed
    assert "BackoffLimitExceeded" in job_health(failed).message
    done = obj("Job", "x", status={"conditions": [{"type": "Complete", "status": "True"}]})
    assert job_health(done).ready


def test_unschedulable_pod_reports_the_scheduler_message() -> None:
    pod = obj(
        "Pod",
        "lms-abc",
        status={
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                }
            ],
        },
    )
    problem = pod_problem(pod)
    assert problem is not None and "Insufficient cpu" in problem.message


def test_image_pull_backoff_is_a_failure() -> None:
    pod = obj(
        "Pod",
        "lms-abc",
        status={
            "containerStatuses": [
                {"name": "lms", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]
        },
    )
    problem = pod_problem(pod)
    assert problem is not None and problem.failed


def test_revision_round_trip() -> None:
    revision = Revision(
        number=7,
        environment="acme-prod",
        digest="abc",
        campus_version="0.1.0",
        tutor_version="22.0.3",
        fleet_hash="f00",
        deployed_at="2026-11-24T00:00:00+00:00",
        deployed_by="ops@host",
        objects=(obj("ConfigMap", "c", data={"a": "b"}),),
        init_jobs=(obj("Job", "j", "batch/v1"),),
        plugin_versions={"mfe": "22.1.0", "forum": "22.0.0"},
    )
    secret = encode(revision, "acme")
    assert secret["kind"] == "Secret"
    assert "manifest.json.gz" in secret["data"]
    assert secret["metadata"]["annotations"][PLUGIN_VERSIONS] == "forum=22.0.0,mfe=22.1.0"
    assert decode(secret) == revision
    assert revision.release == "tutor 22.0.3, forum 22.0.0, mfe 22.1.0"


def test_a_revision_recorded_before_releases_were_has_no_plugins_and_an_empty_release() -> None:
    assert parse_plugins("") == {}
    assert describe_release("", {}) == ""
    assert describe_release("21.0.9", {}) == "tutor 21.0.9"


def test_only_revisions_beyond_the_newest_ten_expire() -> None:
    assert to_expire(list(range(1, 11))) == []
    assert to_expire(list(range(1, 13))) == [1, 2]


def test_init_job_name_follows_its_content() -> None:
    job = obj("Job", "lms-init-1", "batch/v1", spec={"template": {"spec": {"x": 1}}})
    changed = obj("Job", "lms-init-1", "batch/v1", spec={"template": {"spec": {"x": 2}}})
    assert versioned_job(job)["metadata"]["name"] == versioned_job(job)["metadata"]["name"]
    assert versioned_job(job)["metadata"]["name"] != versioned_job(changed)["metadata"]["name"]
    assert len(versioned_job(obj("Job", "x" * 80, "batch/v1"))["metadata"]["name"]) <= 63


def test_prepare_labels_and_namespaces_everything() -> None:
    objects, jobs = prepare(
        [obj("Namespace", "acme"), obj("Service", "lms")],
        [obj("Job", "j", "batch/v1")],
        "acme",
        "acme-ns",
    )
    assert "namespace" not in objects[0]["metadata"]
    assert objects[1]["metadata"]["namespace"] == "acme-ns"
    for item in (*objects, *jobs):
        assert item["metadata"]["labels"]["campus.openedx.org/environment"] == "acme"
        assert item["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "campus"


@pytest.mark.parametrize(
    ("item", "data"),
    [
        (obj("PersistentVolumeClaim", "mysql"), True),
        (
            {
                **obj("Secret", "s"),
                "metadata": {"name": "s", "labels": {"campus.openedx.org/data": "true"}},
            },
            True,
        ),
        (obj("ConfigMap", "c"), False),
    ],
)
def test_data_objects_are_recognised(item: dict[str, Any], data: bool) -> None:
    assert is_data(item) is data


def test_autoscaling_floors_name_each_autoscaled_deployment() -> None:
    from campus.deploy.phases import autoscaling_floors

    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "lms"}, "minReplicas": 3},
    }
    other = {"kind": "Deployment", "metadata": {"name": "cms"}, "spec": {"replicas": 2}}
    assert autoscaling_floors([hpa, other]) == {"lms": 3}


def test_a_kubelet_cache_not_yet_synced_is_waited_on_a_missing_secret_is_not() -> None:
    def waiting(message: str) -> dict[str, Any]:
        reason = {"reason": "CreateContainerConfigError", "message": message}
        return obj(
            "Pod",
            "mysql-init-2-x",
            status={"containerStatuses": [{"name": "mysql", "state": {"waiting": reason}}]},
        )

    passing = pod_problem(
        waiting("failed to sync secret cache: timed out waiting for the condition")
    )
    assert passing is not None and not passing.failed and "secret cache" in passing.message
    missing = pod_problem(waiting('secret "mysql-root" not found'))
    assert missing is not None and missing.failed
