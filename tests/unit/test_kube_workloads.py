"""Readers over workloads' autoscalers and pods, as rendered and as listed."""

from __future__ import annotations

from typing import Any

from campus.kube.workloads import (
    ScaleTarget,
    Unschedulable,
    autoscaler_of,
    autoscalers,
    max_replicas,
    min_replicas,
    scale_target,
    unschedulable,
)


def hpa(name: str, kind: str = "Deployment", namespace: str | None = None, **spec: Any) -> Any:
    metadata: dict[str, Any] = {"name": f"{name}-hpa"}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name}, **spec},
    }


def workload(name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata, "spec": {}}


def test_an_autoscaler_targets_a_workload_in_its_own_namespace() -> None:
    assert scale_target(hpa("lms", namespace="prod")) == ScaleTarget("prod", "Deployment", "lms")
    assert scale_target(hpa("lms")) == ScaleTarget("", "Deployment", "lms")


def test_autoscalers_are_found_by_kind_namespace_and_name() -> None:
    lms, cms = hpa("lms", minReplicas=2, maxReplicas=4), hpa("cms", kind="StatefulSet")
    rendered = [lms, cms, {"kind": "Deployment", **workload("lms")}]
    scalers = autoscalers(rendered)
    assert set(scalers) == {
        ScaleTarget("", "Deployment", "lms"),
        ScaleTarget("", "StatefulSet", "cms"),
    }
    assert autoscaler_of(scalers, "Deployment", workload("lms")) is lms
    # Same name, other kind or namespace: not its autoscaler.
    assert autoscaler_of(scalers, "Deployment", workload("cms")) is None
    assert autoscaler_of(scalers, "Deployment", workload("lms", "other")) is None


def test_listed_autoscalers_without_kind_are_found_and_other_objects_are_not() -> None:
    listed = hpa("lms", namespace="prod", minReplicas=3, maxReplicas=6)
    del listed["kind"]  # list items from the API server carry no kind
    deployment = {"kind": "Deployment", "metadata": {"name": "lms", "namespace": "prod"}}
    scalers = autoscalers([listed, deployment])
    assert list(scalers) == [ScaleTarget("prod", "Deployment", "lms")]
    found = autoscaler_of(scalers, "Deployment", workload("lms", "prod"))
    assert found is listed
    assert (min_replicas(listed), max_replicas(listed)) == (3, 6)


def test_min_replicas_defaults_to_one_as_the_api_server_does() -> None:
    assert min_replicas(hpa("lms", maxReplicas=4)) == 1


def pod(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "lms-1"}, "status": {"conditions": list(conditions)}}


FILTERS = "0/3 nodes are available: 3 Insufficient cpu."
PREEMPTION = "preemption: 0/3 nodes are available: 3 No preemption victims found."


def test_an_unschedulable_pod_gives_the_schedulers_reason_and_message() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": f"{FILTERS} {PREEMPTION}",
    }
    failure = unschedulable(pod({"type": "Ready", "status": "False"}, condition))
    assert failure == Unschedulable("Unschedulable", f"{FILTERS} {PREEMPTION}")
    assert str(failure) == f"Unschedulable: {FILTERS} {PREEMPTION}"
    assert failure.filters == FILTERS  # preemption's verdict left out


def test_a_scheduled_or_not_yet_considered_pod_is_not_unschedulable() -> None:
    assert unschedulable(pod({"type": "PodScheduled", "status": "True"})) is None
    assert unschedulable(pod()) is None
    assert unschedulable({"metadata": {"name": "new"}}) is None


def test_unschedulable_without_message_or_reason() -> None:
    failure = unschedulable(pod({"type": "PodScheduled", "status": "False"}))
    assert failure == Unschedulable("Unschedulable", "")
    assert failure.filters == "Unschedulable."
    bare = unschedulable(pod({"type": "PodScheduled", "status": "False", "reason": "X"}))
    assert bare is not None and bare.filters == "X."
