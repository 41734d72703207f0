"""The deploy engine against the sandbox's real API server and controllers."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from example_fleet import example_on_kwok
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import PersistentVolumeClaim, Pod
from lightkube.types import PatchType

from campus.cli.main import cli
from campus.deploy.destroy import destroy_environment
from campus.deploy.engine import deploy_environment, deploy_fleet
from campus.deploy.history import list_revisions
from campus.deploy.model import DeployOptions, DeployRequest
from campus.kube.errors import NotFound
from campus.output.progress import QuietProgress
from campus.pipeline import deploy_requests, load

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"
OPTIONS = DeployOptions(phase_timeout=180)


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DeployRequest]:
    """The example fleet, rendered and hardened once for every test here."""
    fleet_copy = tmp_path_factory.mktemp("fleet") / "fleet.yml"
    fleet_copy.write_text(example_on_kwok())
    fleet = load(fleet_copy)
    return {r.environment: r for r in deploy_requests(fleet)}


def renamed(request: DeployRequest, environment: str) -> DeployRequest:
    """The same environment under another name and namespace, so tests do not share state."""
    namespace = environment

    def move(obj: dict[str, Any]) -> dict[str, Any]:
        moved = copy.deepcopy(obj)
        if moved["kind"] == "Namespace":
            moved["metadata"]["name"] = namespace
        else:
            moved["metadata"]["namespace"] = namespace
        return moved

    return DeployRequest(
        environment=environment,
        namespace=namespace,
        objects=[move(o) for o in request.objects],
        init_jobs=[move(j) for j in request.init_jobs],
    )


def resource_versions(kube: Client, namespace: str) -> dict[str, str]:
    from campus.kube.apply import list_namespace

    kinds = [
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("v1", "PersistentVolumeClaim"),
    ]
    return {
        str(key): obj["metadata"]["resourceVersion"]
        for key, obj in list_namespace(kube, namespace, kinds, {}).items()
    }


def test_whole_example_fleet_deploys_and_every_pod_is_ready(
    kube: Client, requests: dict[str, DeployRequest]
) -> None:
    results = deploy_fleet(kube, list(requests.values()), OPTIONS, QuietProgress())
    assert {r.environment: r.outcome for r in results} == dict.fromkeys(requests, "deployed")
    for request in requests.values():
        pods = [
            p for p in kube.list(Pod, namespace=request.namespace) if p.status.phase != "Succeeded"
        ]
        assert pods, request.namespace
        for pod in pods:
            assert pod.spec.nodeName, pod.metadata.name
            ready = {c.type: c.status for c in pod.status.conditions or []}
            assert ready.get("Ready") == "True", pod.metadata.name
    # A second deploy with nothing changed writes nothing.
    before = {r.namespace: resource_versions(kube, r.namespace) for r in requests.values()}
    again = deploy_fleet(kube, list(requests.values()), OPTIONS, QuietProgress())
    assert [r.outcome for r in again] == ["unchanged"] * len(requests)
    for request in requests.values():
        assert len(list_revisions(kube, request.namespace, request.environment)) == 1
    after = {r.namespace: resource_versions(kube, r.namespace) for r in requests.values()}
    assert after == before


@pytest.fixture
def scratch(
    kube: Client, requests: dict[str, DeployRequest], request: pytest.FixtureRequest
) -> Iterator[DeployRequest]:
    """acme-dev under a name of the test's own, removed afterwards."""
    name = ("t-" + request.node.name.removeprefix("test_").replace("_", "-"))[:40].rstrip("-")
    yield renamed(requests["acme-dev"], name)
    from lightkube.resources.core_v1 import Namespace

    kube.delete(Namespace, name)


def test_replica_change_rolls_out(kube: Client, scratch: DeployRequest) -> None:
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    scaled = copy.deepcopy(scratch)
    for obj in scaled.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "cms":
            obj["spec"]["replicas"] = 3
    result = deploy_environment(kube, scaled, OPTIONS, QuietProgress())
    assert result.outcome == "deployed" and result.changed >= 1
    cms = kube.get(Deployment, "cms", namespace=scratch.namespace)
    assert cms.status.readyReplicas == 3


def test_hand_edits_to_what_campus_renders_are_put_back(
    kube: Client, scratch: DeployRequest
) -> None:
    """An unchanged deploy skips objects that match their last revision; a field campus
    owns that someone changed by hand must still be put back."""
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    kube.patch(
        Deployment,
        "smtp",
        [{"op": "replace", "path": "/spec/replicas", "value": 3}],
        namespace=scratch.namespace,
        patch_type=PatchType.JSON,
    )
    result = deploy_environment(kube, scratch, OPTIONS, QuietProgress())
    assert result.changed == 1 and result.created == 0
    assert kube.get(Deployment, "smtp", namespace=scratch.namespace).spec.replicas == 1
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "unchanged"


def test_removed_service_is_pruned_and_volumes_stay(kube: Client, scratch: DeployRequest) -> None:
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    without_mongodb = copy.deepcopy(scratch)
    without_mongodb.objects[:] = [
        o
        for o in scratch.objects
        if not (
            o["metadata"]["name"] == "mongodb"
            and o["kind"] in ("Deployment", "Service", "PersistentVolumeClaim")
        )
    ]
    result = deploy_environment(kube, without_mongodb, OPTIONS, QuietProgress())
    assert result.outcome == "deployed", result.message
    assert any("Deployment" in p and "mongodb" in p for p in result.pruned)
    with pytest.raises(NotFound):
        kube.get(Deployment, "mongodb", namespace=scratch.namespace)
    kube.get(PersistentVolumeClaim, "mongodb", namespace=scratch.namespace)  # still there


def failing_job(namespace: str) -> dict[str, Any]:
    """A migration that fails: the real Job controller gives up on it after one second."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "lms-broken-migration", "namespace": namespace},
        "spec": {
            "activeDeadlineSeconds": 1,
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"campus.test/no-such-node": "true"},
                    "containers": [{"name": "migrate", "image": "busybox", "command": ["false"]}],
                }
            },
        },
    }


def test_failed_init_job_keeps_previous_revision_while_others_deploy(
    kube: Client, scratch: DeployRequest, requests: dict[str, DeployRequest]
) -> None:
    first = deploy_environment(kube, scratch, OPTIONS, QuietProgress())
    assert first.outcome == "deployed"
    upgrade = copy.deepcopy(scratch)
    upgrade.init_jobs.append(failing_job(scratch.namespace))
    for obj in upgrade.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "lms":
            obj["spec"]["template"]["metadata"].setdefault("annotations", {})["upgrade"] = "2"
    other = renamed(requests["globex-staging"], scratch.namespace + "-other")
    try:
        results = deploy_fleet(kube, [upgrade, other], OPTIONS, QuietProgress())
        assert [r.outcome for r in results] == ["failed", "deployed"]
        assert "DeadlineExceeded" in results[0].message
        lms = kube.get(Deployment, "lms", namespace=scratch.namespace)
        annotations = lms.spec.template.metadata.annotations or {}
        assert "upgrade" not in annotations  # the application was not switched
        revisions = list_revisions(kube, scratch.namespace, scratch.environment)
        assert [r.number for r in revisions] == [first.revision]
    finally:
        from lightkube.resources.core_v1 import Namespace

        kube.delete(Namespace, other.namespace)


def test_a_deploy_after_an_unfinished_one_puts_back_what_that_one_left(
    kube: Client, scratch: DeployRequest
) -> None:
    """A deploy that fails after applying leaves objects no revision describes. The next
    deploy of the last revision must put them back, though every value it renders is live
    (which alone would let it skip the object)."""
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    unfinished = copy.deepcopy(scratch)
    unfinished.init_jobs.append(failing_job(scratch.namespace))
    for obj in unfinished.objects:  # smtp rolls out before the init Jobs run
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "smtp":
            obj["metadata"]["labels"]["campus.test/stamp"] = "unfinished"
    assert deploy_environment(kube, unfinished, OPTIONS, QuietProgress()).outcome == "failed"

    def stamp() -> str | None:
        smtp = kube.get(Deployment, "smtp", namespace=scratch.namespace)
        return (smtp.metadata.labels or {}).get("campus.test/stamp")

    assert stamp() == "unfinished"
    again = deploy_environment(kube, scratch, OPTIONS, QuietProgress())
    assert again.outcome == "deployed" and again.changed >= 1, again.message
    assert stamp() is None
    # That deploy finished: the next one may skip what is unchanged again.
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "unchanged"


def test_concurrent_deploys_of_one_environment_are_serialized(
    kube: Client, scratch: DeployRequest
) -> None:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    class Recorder:
        def __init__(self, who: str) -> None:
            self.who = who

        def update(self, environment: str, phase: str, message: str) -> None:
            with lock:
                events.append((self.who, phase))

    threads = [
        threading.Thread(target=deploy_environment, args=(kube, scratch, OPTIONS, Recorder(who)))
        for who in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One deploy finished before the other got past the lock.
    phases = [(who, phase) for who, phase in events if phase not in ("foundation", "lock")]
    first = phases[0][0]
    done = phases.index((first, "done"))
    assert all(who == first for who, _ in phases[: done + 1])
    assert any(who != first and phase == "lock" for who, phase in events)


def test_rollback_restores_the_previous_revision(
    kube: Client, scratch: DeployRequest, tmp_path: Path
) -> None:
    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    changed = copy.deepcopy(scratch)
    for obj in changed.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "lms":
            obj["spec"]["template"]["metadata"].setdefault("annotations", {})["release"] = "new"
    assert deploy_environment(kube, changed, OPTIONS, QuietProgress()).revision == 2
    [first, _] = list_revisions(kube, scratch.namespace, scratch.environment)
    rollback = DeployRequest(
        scratch.environment, scratch.namespace, list(first.objects), list(first.init_jobs)
    )
    result = deploy_environment(kube, rollback, OPTIONS, QuietProgress())
    assert result.outcome == "deployed" and result.revision == 3
    lms = kube.get(Deployment, "lms", namespace=scratch.namespace)
    assert "release" not in (lms.spec.template.metadata.annotations or {})


def test_destroy_keeps_data_unless_asked(kube: Client, scratch: DeployRequest) -> None:
    from campus.fleet.model import Environment

    assert deploy_environment(kube, scratch, OPTIONS, QuietProgress()).outcome == "deployed"
    env = Environment.model_construct(name=scratch.environment, namespace=scratch.namespace)
    removed, kept = destroy_environment(kube, env, delete_data=False)
    assert removed
    assert {k.kind for k in kept} >= {"PersistentVolumeClaim"}
    assert not list(kube.list(Deployment, namespace=scratch.namespace))
    kube.get(PersistentVolumeClaim, "mysql", namespace=scratch.namespace)
    removed, _ = destroy_environment(kube, env, delete_data=True)
    assert any(k.kind == "PersistentVolumeClaim" for k in removed)


def test_cli_rejects_unknown_environment(sandbox: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(example_on_kwok())
    result = CliRunner().invoke(
        cli, ["deploy", "nope", "-f", str(fleet), "--kubeconfig", str(sandbox.kubeconfig)]
    )
    assert result.exit_code != 0
    assert "no environment nope" in result.output


def test_cli_unreachable_api_server(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\n"
        "users: [{name: x, user: {token: t}}]\n"
    )
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(example_on_kwok())
    result = CliRunner().invoke(cli, ["deploy", "-f", str(fleet), "--kubeconfig", str(kubeconfig)])
    assert result.exit_code != 0
    assert "cannot reach the API server" in result.output
