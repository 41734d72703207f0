"""The fleet file's `monitoring` section: defaults, inheritance, refusals at their line;
and the longest gap of a cron schedule, which says when a backup is overdue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from campus.fleet.cron import longest_gap
from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.monitoring import (
    DEFAULT_CELERY_QUEUE_LENGTH,
    Monitoring,
    MonitoringSpec,
    resolved,
)

HOSTS = "    hosts: {lms: learn.acme.example.org}\n"


def _fleet(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    return path


def test_without_a_section_every_environment_is_monitored_with_the_defaults() -> None:
    assert resolved(None, None) == Monitoring(
        enabled=True, rule_labels={}, celery_queue_length=DEFAULT_CELERY_QUEUE_LENGTH
    )


def test_an_environment_inherits_field_by_field_and_label_by_label() -> None:
    defaults = MonitoringSpec(rule_labels={"release": "kube-prometheus-stack"}, enabled=False)
    override = MonitoringSpec(rule_labels={"team": "acme"}, celery_queue_length=500)
    assert resolved(defaults, override) == Monitoring(
        enabled=False,
        rule_labels={"release": "kube-prometheus-stack", "team": "acme"},
        celery_queue_length=500,
    )
    assert resolved(defaults, MonitoringSpec(enabled=True)).enabled


def test_a_fleet_file_resolves_each_environments_monitoring(tmp_path: Path) -> None:
    fleet = load_fleet(
        _fleet(
            tmp_path,
            "defaults:\n"
            "  monitoring: {rule_labels: {release: kube-prometheus-stack}}\n"
            "environments:\n"
            "  acme-dev:\n"
            "    hosts: {lms: learn.dev.acme.example.org}\n"
            "    monitoring: {enabled: false}\n"
            "  acme-prod:\n" + HOSTS + "    monitoring: {celery_queue_length: 250}\n",
        )
    )
    dev, prod = fleet.environment("acme-dev"), fleet.environment("acme-prod")
    assert not dev.monitoring.enabled
    assert prod.monitoring == Monitoring(
        rule_labels={"release": "kube-prometheus-stack"}, celery_queue_length=250
    )


@pytest.mark.parametrize(
    ("section", "where", "said"),
    [
        (
            "{celery_queue_length: 0}",
            "environments.acme-prod.monitoring.celery_queue_length",
            "greater than or equal to 1, not 0",
        ),
        (
            "{rule_labels: {'bad key!': x}}",
            "environments.acme-prod.monitoring.rule_labels",
            "'bad key!' is not a Kubernetes label key",
        ),
        (
            "{rule_labels: {release: 'not ok'}}",
            "environments.acme-prod.monitoring.rule_labels",
            "'not ok' is not a label value",
        ),
        (
            "{rule_labels: {app.kubernetes.io/managed-by: me}}",
            "environments.acme-prod.monitoring.rule_labels",
            "campus sets the labels under app.kubernetes.io/ itself",
        ),
        (
            "{enable: true}",
            "environments.acme-prod.monitoring.enable",
            "unknown key 'enable'; did you mean 'enabled'?",
        ),
    ],
)
def test_bad_monitoring_is_refused_at_its_line(
    tmp_path: Path, section: str, where: str, said: str
) -> None:
    path = _fleet(
        tmp_path, "environments:\n  acme-prod:\n" + HOSTS + f"    monitoring: {section}\n"
    )
    with pytest.raises(FleetFileError) as raised:
        load_fleet(path)
    [problem] = raised.value.problems
    assert (problem.line, problem.key) == (4, where)
    assert said in problem.message


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [
        ("0 3 * * *", timedelta(days=1)),
        ("@hourly", timedelta(hours=1)),
        ("0 1,13 * * *", timedelta(hours=12)),
        ("0 3 * * 1-5", timedelta(days=3)),  # Friday to Monday
        ("@weekly", timedelta(days=7)),
        ("0 3 31 * *", timedelta(days=61)),  # 31 July to 31 August, 31 October to 31 December
        ("@yearly", timedelta(days=366)),
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),
        ("*/5 * * 1 *", timedelta(days=334, minutes=5)),  # the rest of the year
    ],
)
def test_the_longest_gap_between_firings(schedule: str, gap: timedelta) -> None:
    assert longest_gap(schedule) == gap
