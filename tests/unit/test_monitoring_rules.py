"""campus's alerting rules for one environment: each alert, when it is rendered and when
not, and expressions that are well formed and never look outside the namespace."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from campus.monitoring.rules import (
    ENVIRONMENT_LABEL,
    Backup,
    Rule,
    Watched,
    rule_groups,
)

NAMESPACE = "acme-prod"
PRODUCTION = Watched(
    environment="acme-prod",
    namespace=NAMESPACE,
    production=True,
    deployments=("cms", "cms-worker", "lms", "lms-worker", "mysql", "redis"),
    autoscalers=("cms", "lms"),
    disruption_budgets=("cms", "lms"),
    claims=("mysql", "redis"),
    backup=Backup("campus-backup", timedelta(days=1, hours=5)),
    celery_workers=("cms-worker", "lms-worker"),
    celery_queue_length=250,
)
BARE = Watched(environment="acme-dev", namespace="acme-dev", production=False)


def rules(watched: Watched) -> dict[str, Rule]:
    return {rule["alert"]: rule for group in rule_groups(watched) for rule in group["rules"]}


def test_a_production_environment_gets_every_alert() -> None:
    assert sorted(rules(PRODUCTION)) == sorted(
        [
            "ProductionWebServiceDown",
            "CrashLooping",
            "JobFailed",
            "HPAAtMaximum",
            "PDBAllowsNoDisruption",
            "PVCFillingUp",
            "BackupOverdue",
            "CeleryQueueLong",
        ]
    )


def test_an_environment_with_nothing_to_watch_gets_only_pod_and_job_alerts() -> None:
    assert sorted(rules(BARE)) == ["CrashLooping", "JobFailed"]
    assert [g["name"] for g in rule_groups(BARE)] == ["campus.acme-dev.availability"]


def test_every_rule_says_its_environment_severity_and_what_happened() -> None:
    for rule in rules(PRODUCTION).values():
        assert rule["labels"][ENVIRONMENT_LABEL] == "acme-prod"
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert set(rule["annotations"]) == {"summary", "description"}
        assert all(text.strip() for text in rule["annotations"].values())
        assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_a_production_site_down_is_critical_within_a_minute() -> None:
    rule = rules(PRODUCTION)["ProductionWebServiceDown"]
    assert rule["expr"] == (
        'kube_deployment_status_replicas_available{namespace="acme-prod", '
        'deployment=~"lms|cms"} == 0'
    )
    assert (rule["for"], rule["labels"]["severity"]) == ("1m", "critical")


def test_a_site_down_is_no_page_outside_production_or_without_web_services() -> None:
    staging = Watched("acme-dev", "acme-dev", production=False, deployments=("lms", "cms"))
    assert "ProductionWebServiceDown" not in rules(staging)
    lms_only = Watched("globex", "globex", production=True, deployments=("lms", "mysql"))
    assert 'deployment=~"lms"' in rules(lms_only)["ProductionWebServiceDown"]["expr"]
    workers = Watched("globex", "globex", production=True, deployments=("lms-worker",))
    assert "ProductionWebServiceDown" not in rules(workers)


def test_crash_looping_reads_the_waiting_reason() -> None:
    rule = rules(PRODUCTION)["CrashLooping"]
    assert 'kube_pod_container_status_waiting_reason{namespace="acme-prod", ' in rule["expr"]
    assert 'reason="CrashLoopBackOff"}[5m]' in rule["expr"]
    assert rule["labels"]["severity"] == "warning"


def test_a_failed_job_alerts_unless_it_succeeded_since() -> None:
    assert rules(PRODUCTION)["JobFailed"]["expr"] == (
        'kube_job_status_failed{namespace="acme-prod"} > 0 unless on (namespace, job_name) '
        '(kube_job_status_succeeded{namespace="acme-prod"} > 0)'
    )


def test_an_autoscaler_at_its_maximum_for_a_quarter_of_an_hour() -> None:
    rule = rules(PRODUCTION)["HPAAtMaximum"]
    assert rule["expr"] == (
        'kube_horizontalpodautoscaler_status_current_replicas{namespace="acme-prod"} >= '
        "on (namespace, horizontalpodautoscaler) "
        'kube_horizontalpodautoscaler_spec_max_replicas{namespace="acme-prod"}'
    )
    assert rule["for"] == "15m"


def test_a_budget_allowing_no_disruption() -> None:
    assert rules(PRODUCTION)["PDBAllowsNoDisruption"]["expr"] == (
        'kube_poddisruptionbudget_status_pod_disruptions_allowed{namespace="acme-prod"} == 0'
    )


def test_a_volume_with_less_than_a_tenth_free() -> None:
    rule = rules(PRODUCTION)["PVCFillingUp"]
    assert rule["expr"] == (
        'kubelet_volume_stats_available_bytes{namespace="acme-prod"} / '
        'kubelet_volume_stats_capacity_bytes{namespace="acme-prod"} < 0.1'
    )
    assert "10%" in rule["annotations"]["description"]


def test_a_backup_is_overdue_after_the_longest_gap_and_its_slack() -> None:
    rule = rules(PRODUCTION)["BackupOverdue"]
    selector = '{namespace="acme-prod", cronjob="campus-backup"}'
    seconds = 29 * 3600
    assert rule["expr"] == (
        f"time() - kube_cronjob_status_last_successful_time{selector} > {seconds} or "
        f"(time() - kube_cronjob_created{selector} > {seconds} unless on (namespace, cronjob) "
        f"kube_cronjob_status_last_successful_time{selector})"
    )
    assert "29 hours" in rule["annotations"]["description"]


def test_a_long_celery_queue_uses_the_fleets_threshold() -> None:
    rule = rules(PRODUCTION)["CeleryQueueLong"]
    assert rule["expr"] == (
        'max by (namespace, key) (redis_key_size{namespace="acme-prod", '
        'key=~"edx[.](lms|cms)[.].+"}) > 250'
    )
    assert "more than 250 tasks" in rule["annotations"]["description"]


# A metric name, and what follows it: a selector, or nothing (which would be every namespace).
METRIC = re.compile(r"\b(kube_[a-z_]+|kubelet_[a-z_]+|redis_[a-z_]+)(\{[^}]*\})?")
PAIRS = {")": "(", "]": "[", "}": "{"}


def balanced(expression: str) -> bool:
    """Brackets nest and close, quotes close (a backslash escapes inside a string)."""
    stack: list[str] = []
    quoted = escaped = False
    for character in expression:
        if quoted:
            escaped, quoted = (False, True) if escaped else (character == "\\", character != '"')
        elif character == '"':
            quoted = True
        elif character in "([{":
            stack.append(character)
        elif character in PAIRS and (not stack or stack.pop() != PAIRS[character]):
            return False
    return not stack and not quoted


def test_the_checker_sees_broken_expressions() -> None:
    assert balanced('a{b="}"}[5m] > (1)')
    assert not balanced('a{b="c"')
    assert not balanced("max(a{b}) > 1)")
    assert not balanced("a{b=(}")


@pytest.mark.parametrize("watched", [PRODUCTION, BARE], ids=["production", "bare"])
def test_every_expression_is_well_formed_and_selects_the_namespace(watched: Watched) -> None:
    for name, rule in rules(watched).items():
        expression = rule["expr"]
        assert balanced(expression), name
        found = METRIC.findall(expression)
        assert found, name
        for metric, selector in found:
            assert f'namespace="{watched.namespace}"' in selector, f"{name}: {metric}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    document: dict[str, Any] = {"groups": rule_groups(PRODUCTION)}
    path.write_text(yaml.safe_dump(document))
    subprocess.run(["promtool", "check", "rules", str(path)], check=True)
