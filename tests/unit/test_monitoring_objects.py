"""An environment's PrometheusRule from its hardened objects; the pipeline adding it only
when told the cluster serves the kind, asking the cluster once per build; and that
question, asked of the API server's discovery document."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from lightkube import KubeConfig

from campus import pipeline
from campus.deploy.phases import Phase, phase_of
from campus.fleet.model import Environment, Fleet
from campus.fleet.monitoring import Monitoring
from campus.harden import harden_all
from campus.kube.client import KubeClient
from campus.kube.discovery import serves
from campus.kube.errors import Forbidden
from campus.kube.objects import KubeObject
from campus.labels import ENVIRONMENT, MANAGED_BY
from campus.monitoring.objects import prometheus_rule, watched
from campus.render.model import RenderedEnvironment
from campus.services import catalogue_for
from campus.state.model import ClusterCopies

NAME = "globex-prod"  # production, autoscaled, not on the sandbox's real nodes


@pytest.fixture
def hardened(rendered_example: dict[str, RenderedEnvironment]) -> list[KubeObject]:
    objects, _ = harden_all(rendered_example[NAME])
    return objects


def _alerts(rule: KubeObject) -> list[str]:
    return [r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]]


def test_the_rule_watches_what_the_environment_renders(
    example_fleet: Fleet, hardened: list[KubeObject]
) -> None:
    environment = example_fleet.environment(NAME)
    seen = watched(environment, hardened)
    assert {"lms", "cms", "lms-worker", "cms-worker"} <= set(seen.deployments)
    assert seen.celery_workers == ("cms-worker", "lms-worker")
    assert "lms" in seen.autoscalers and seen.disruption_budgets and seen.claims
    assert seen.backup is None  # the example backs nothing up
    rule = prometheus_rule(environment, hardened)
    assert rule is not None
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["metadata"]["name"] == "campus-globex-prod"
    assert rule["metadata"]["namespace"] == environment.namespace
    labels = rule["metadata"]["labels"]
    assert (labels[ENVIRONMENT], labels[MANAGED_BY]) == (NAME, "campus")
    assert "ProductionWebServiceDown" in _alerts(rule) and "CeleryQueueLong" in _alerts(rule)
    assert "BackupOverdue" not in _alerts(rule)


def _with(environment: Environment, monitoring: Monitoring) -> Environment:
    return environment.model_copy(update={"monitoring": monitoring})


def test_rule_labels_are_added_and_disabled_monitoring_renders_nothing(
    example_fleet: Fleet, hardened: list[KubeObject]
) -> None:
    environment = example_fleet.environment(NAME)
    labelled = _with(environment, Monitoring(rule_labels={"release": "kube-prometheus-stack"}))
    rule = prometheus_rule(labelled, hardened)
    assert rule is not None
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert prometheus_rule(_with(environment, Monitoring(enabled=False)), hardened) is None


def test_a_backup_is_overdue_after_its_schedules_longest_gap_and_a_runs_slack(
    example_fleet: Fleet,
) -> None:
    cronjob = {
        "kind": "CronJob",
        "metadata": {"name": "campus-backup"},
        "spec": {
            "schedule": "0 3 * * 0",
            "startingDeadlineSeconds": 600,
            "jobTemplate": {"spec": {"activeDeadlineSeconds": 3000}},
        },
    }
    seen = watched(example_fleet.environment(NAME), [cronjob])
    assert seen.backup is not None
    assert seen.backup.overdue_after == timedelta(days=7, hours=1)


def test_the_rule_is_applied_with_the_configuration(hardened: list[KubeObject]) -> None:
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {}}
    assert phase_of(rule, catalogue_for(hardened)) is Phase.CONFIGURATION


def test_the_pipeline_adds_the_rule_only_when_told_the_cluster_serves_it(
    example_fleet: Fleet,
    rendered_example: dict[str, RenderedEnvironment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("campus.render.render_fleet", lambda *_, **__: [rendered_example[NAME]])
    selected = [example_fleet.environment(NAME)]

    def kinds(served: bool) -> list[str]:
        [built] = pipeline._build(example_fleet, selected, ClusterCopies(), prometheus_rules=served)
        return [o["kind"] for o in built.objects]

    assert "PrometheusRule" not in kinds(False)
    assert kinds(True).count("PrometheusRule") == 1


def test_a_build_with_a_client_asks_the_cluster_once(
    example_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []
    told: list[bool] = []
    monkeypatch.setattr(pipeline, "cluster_copies", lambda *_, **__: ClusterCopies())
    monkeypatch.setattr(pipeline, "rules_served", lambda client: asked.append(client) or True)
    monkeypatch.setattr(
        pipeline, "_build", lambda fleet, selected, copies, jobs, check, rules: told.append(rules)
    )
    client: Any = object()
    pipeline.build(example_fleet, client=client)  # every environment of the fleet
    pipeline.build(example_fleet)  # no cluster: not asked
    pipeline.build(example_fleet, client=client, prometheus_rules=False)  # told: not asked
    assert (asked, told) == ([client], [True, False, False])


SERVER = "https://api.fake.test:6443"
KUBECONFIG = {
    "clusters": [{"name": "fake", "cluster": {"server": SERVER}}],
    "users": [{"name": "operator", "user": {"token": "secret-token"}}],
    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "operator"}}],
    "current-context": "fake",
}


def _client(code: int, body: dict[str, Any], paths: list[str]) -> KubeClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        paths.append(request.url.path)
        return httpx2.Response(code, json=body)

    transport = httpx2.MockTransport(answer)
    return KubeClient(KubeConfig.from_dict(KUBECONFIG), timeout=5, transport=transport)


def _resources(*names: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "groupVersion": "monitoring.coreos.com/v1",
        "resources": [{"name": n, "namespaced": True} for n in names],
    }


def test_the_cluster_is_asked_its_discovery_document() -> None:
    paths: list[str] = []
    served = _client(200, _resources("prometheusrules", "servicemonitors"), paths)
    assert serves(served, "monitoring.coreos.com/v1", "prometheusrules")
    assert paths == ["/apis/monitoring.coreos.com/v1"]
    other = _client(200, _resources("servicemonitors"), paths)
    assert not serves(other, "monitoring.coreos.com/v1", "prometheusrules")
    status = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}
    assert not serves(_client(404, status, paths), "monitoring.coreos.com/v1", "prometheusrules")


def test_a_refusal_is_no_answer() -> None:
    status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "forbidden"}
    with pytest.raises(Forbidden) as raised:
        serves(_client(403, status, []), "monitoring.coreos.com/v1", "prometheusrules")
    assert str(raised.value) == (
        "cannot ask the API server whether it serves prometheusrules "
        "(monitoring.coreos.com/v1): forbidden"
    )


def test_render_writes_the_rule_when_asked(
    rendered_example: dict[str, RenderedEnvironment],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from campus.cli.main import cli

    monkeypatch.setattr("campus.render.render_fleet", lambda *_, **__: [rendered_example[NAME]])
    out = tmp_path / "build"
    arguments = [
        "render",
        NAME,
        "--offline",
        "-f",
        str(Path(__file__).parents[2] / "examples" / "fleet.yml"),
        "-o",
        str(out),
    ]
    assert CliRunner().invoke(cli, arguments).exit_code == 0
    assert not (out / NAME / "prometheusrule.yml").exists()
    result = CliRunner().invoke(cli, [*arguments, "--prometheus-rules"])
    assert result.exit_code == 0, result.output
    [rule] = yaml.safe_load_all((out / NAME / "prometheusrule.yml").read_text())
    assert rule["metadata"]["name"] == "campus-globex-prod"


def test_the_identities_that_deploy_may_apply_the_rule() -> None:
    from campus.access.model import ROLES

    wanted = ("monitoring.coreos.com", ["prometheusrules"])
    for role in ("campus:deploy", "campus:operate", "campus:read"):
        assert any((group, resources) == wanted for group, resources, _ in ROLES[role]), role
