"""Prometheus alerting rules for one environment, in the spirit of the kubernetes-mixin.
Pure: plain data about the environment in, rule groups (as a PrometheusRule's
`spec.groups` holds them) out.

Every expression reads kube-state-metrics (or the kubelet's volume statistics, or
redis_exporter for the Celery queues) and selects the environment's namespace alone, so
that many environments sharing one Prometheus never alert for each other. docs/monitoring.md
gives each threshold's reason and the exporters each rule needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from campus.fleet.monitoring import DEFAULT_CELERY_QUEUE_LENGTH

Rule = dict[str, Any]
Group = dict[str, Any]

# The label every alert carries besides `severity`: which environment it is about.
ENVIRONMENT_LABEL = "campus_environment"
# The services whose loss takes the sites down.
WEB_SERVICES = ("lms", "cms")
# Free space under which a volume alerts: room left to act before the database stops.
VOLUME_FREE_RATIO = 0.10
# Open edX's Celery queues, as the redis_exporter reports their lists' keys
# (`edx.lms.core.default`, `edx.cms.core.high`...).
CELERY_QUEUE_KEYS = "edx[.](lms|cms)[.].+"
# How long a condition lasts before it alerts: long enough that a rollout, a rescheduled
# pod or one slow scrape stays quiet; the site being down alerts within a minute.
WEB_DOWN_FOR = "1m"
CRASH_LOOP_FOR = "15m"
JOB_FAILED_FOR = "15m"
AT_MAXIMUM_FOR = "15m"
NO_DISRUPTION_FOR = "15m"
VOLUME_FOR = "5m"
BACKUP_FOR = "5m"
QUEUE_FOR = "10m"


@dataclass(frozen=True)
class Backup:
    """The environment's backup CronJob, and how long its last success may stand."""

    cronjob: str
    overdue_after: timedelta


@dataclass(frozen=True)
class Watched:
    """What the rules of one environment watch: names of what it renders."""

    environment: str
    namespace: str
    production: bool
    deployments: tuple[str, ...] = ()
    autoscalers: tuple[str, ...] = ()
    disruption_budgets: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()
    backup: Backup | None = None
    celery_workers: tuple[str, ...] = ()
    celery_queue_length: int = DEFAULT_CELERY_QUEUE_LENGTH


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def series(metric: str, namespace: str, *matchers: str) -> str:
    """`metric{namespace="...", matchers...}`: the environment's series of a metric."""
    return f"{metric}{{{', '.join([f'namespace={_quoted(namespace)}', *matchers])}}}"


def label(name: str) -> str:
    """A series label, as an annotation template shows it."""
    return "{{ $labels." + name + " }}"


def _alert(
    watched: Watched,
    name: str,
    expr: str,
    duration: str,
    severity: str,
    summary: str,
    description: str,
) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {ENVIRONMENT_LABEL: watched.environment, "severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def web_service_down(watched: Watched) -> list[Rule]:
    """A production site is down: LMS or Studio has no replica serving."""
    web = [name for name in WEB_SERVICES if name in watched.deployments]
    if not watched.production or not web:
        return []
    available = series(
        "kube_deployment_status_replicas_available",
        watched.namespace,
        f"deployment=~{_quoted('|'.join(web))}",
    )
    return [
        _alert(
            watched,
            "ProductionWebServiceDown",
            f"{available} == 0",
            WEB_DOWN_FOR,
            "critical",
            f"{watched.environment}: {label('deployment')} is down",
            f"No replica of {label('deployment')} in namespace {watched.namespace} has been "
            "available for a minute: the site it serves does not answer.",
        )
    ]


def crash_looping(watched: Watched) -> list[Rule]:
    waiting = series(
        "kube_pod_container_status_waiting_reason",
        watched.namespace,
        'reason="CrashLoopBackOff"',
    )
    return [
        _alert(
            watched,
            "CrashLooping",
            f"max_over_time({waiting}[5m]) >= 1",
            CRASH_LOOP_FOR,
            "warning",
            f"{watched.environment}: container {label('container')} keeps crashing",
            f"Container {label('container')} of pod {label('pod')} in namespace "
            f"{watched.namespace} has been restarting after crashes for 15 minutes.",
        )
    ]


def job_failed(watched: Watched) -> list[Rule]:
    """A Job that failed and has not succeeded since (a retry that worked stays quiet)."""
    failed = series("kube_job_status_failed", watched.namespace)
    succeeded = series("kube_job_status_succeeded", watched.namespace)
    return [
        _alert(
            watched,
            "JobFailed",
            f"{failed} > 0 unless on (namespace, job_name) ({succeeded} > 0)",
            JOB_FAILED_FOR,
            "warning",
            f"{watched.environment}: job {label('job_name')} failed",
            f"Job {label('job_name')} in namespace {watched.namespace} has failed pods and "
            "no successful one: its logs say why (`campus logs`).",
        )
    ]


def autoscaler_at_maximum(watched: Watched) -> list[Rule]:
    if not watched.autoscalers:
        return []
    current = series("kube_horizontalpodautoscaler_status_current_replicas", watched.namespace)
    maximum = series("kube_horizontalpodautoscaler_spec_max_replicas", watched.namespace)
    return [
        _alert(
            watched,
            "HPAAtMaximum",
            f"{current} >= on (namespace, horizontalpodautoscaler) {maximum}",
            AT_MAXIMUM_FOR,
            "warning",
            f"{watched.environment}: {label('horizontalpodautoscaler')} cannot scale further",
            f"Autoscaler {label('horizontalpodautoscaler')} in namespace {watched.namespace} "
            "has run at its maximum replicas for 15 minutes: raise `autoscaling.<service>.max` "
            "or the service's resources.",
        )
    ]


def no_disruption_allowed(watched: Watched) -> list[Rule]:
    if not watched.disruption_budgets:
        return []
    allowed = series("kube_poddisruptionbudget_status_pod_disruptions_allowed", watched.namespace)
    return [
        _alert(
            watched,
            "PDBAllowsNoDisruption",
            f"{allowed} == 0",
            NO_DISRUPTION_FOR,
            "warning",
            f"{watched.environment}: {label('poddisruptionbudget')} blocks node drains",
            f"PodDisruptionBudget {label('poddisruptionbudget')} in namespace "
            f"{watched.namespace} has allowed no eviction for 15 minutes: a node drain or "
            "upgrade would wait on it; a replica is missing or not ready.",
        )
    ]


def volume_filling_up(watched: Watched) -> list[Rule]:
    if not watched.claims:
        return []
    available = series("kubelet_volume_stats_available_bytes", watched.namespace)
    capacity = series("kubelet_volume_stats_capacity_bytes", watched.namespace)
    percent = f"{VOLUME_FREE_RATIO:.0%}"
    return [
        _alert(
            watched,
            "PVCFillingUp",
            f"{available} / {capacity} < {VOLUME_FREE_RATIO:g}",
            VOLUME_FOR,
            "warning",
            f"{watched.environment}: volume {label('persistentvolumeclaim')} is almost full",
            f"Volume {label('persistentvolumeclaim')} in namespace {watched.namespace} has "
            f"less than {percent} of its space free: grow it before the service on it stops.",
        )
    ]


def backup_overdue(watched: Watched) -> list[Rule]:
    """No successful backup for longer than the schedule's longest gap and a run's slack;
    a CronJob older than that which never succeeded counts too."""
    if watched.backup is None:
        return []
    cronjob = f"cronjob={_quoted(watched.backup.cronjob)}"
    seconds = int(watched.backup.overdue_after.total_seconds())
    succeeded = series("kube_cronjob_status_last_successful_time", watched.namespace, cronjob)
    created = series("kube_cronjob_created", watched.namespace, cronjob)
    expr = (
        f"time() - {succeeded} > {seconds} or "
        f"(time() - {created} > {seconds} unless on (namespace, cronjob) {succeeded})"
    )
    return [
        _alert(
            watched,
            "BackupOverdue",
            expr,
            BACKUP_FOR,
            "warning",
            f"{watched.environment}: no recent backup",
            f"CronJob {watched.backup.cronjob} in namespace {watched.namespace} has not "
            f"succeeded for over {_hours(watched.backup.overdue_after)}: a scheduled backup "
            "was missed or failed (`campus backups` shows the runs).",
        )
    ]


def celery_queue_long(watched: Watched) -> list[Rule]:
    if not watched.celery_workers:
        return []
    length = series("redis_key_size", watched.namespace, f"key=~{_quoted(CELERY_QUEUE_KEYS)}")
    threshold = watched.celery_queue_length
    return [
        _alert(
            watched,
            "CeleryQueueLong",
            f"max by (namespace, key) ({length}) > {threshold}",
            QUEUE_FOR,
            "warning",
            f"{watched.environment}: Celery queue {label('key')} is long",
            f"Celery queue {label('key')} in namespace {watched.namespace} has held more "
            f"than {threshold} tasks for 10 minutes: the workers do not keep up.",
        )
    ]


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "an hour"


def rule_groups(watched: Watched) -> list[Group]:
    """The environment's rule groups; a group with nothing to watch is left out."""
    groups = {
        "availability": [
            *web_service_down(watched),
            *crash_looping(watched),
            *job_failed(watched),
            *no_disruption_allowed(watched),
        ],
        "capacity": [
            *autoscaler_at_maximum(watched),
            *volume_filling_up(watched),
            *celery_queue_long(watched),
        ],
        "backup": backup_overdue(watched),
    }
    return [
        {"name": f"campus.{watched.environment}.{name}", "rules": rules}
        for name, rules in groups.items()
        if rules
    ]
