"""An environment's PrometheusRule: what its rules watch, read from the objects campus
renders for it, and the object the Prometheus Operator loads them from. Pure.

The object is labelled as every object of the environment is (so deploy, prune and status
find it) and with the fleet file's `monitoring.rule_labels`, which a Prometheus Operator's
`ruleSelector` usually asks for; it lives in the environment's namespace, so the first
deploy of a new environment brings its alerts.
"""

from __future__ import annotations

from collections.abc import Sequence

from campus.backup.cadence import slack
from campus.backup.schedule import CRONJOB
from campus.fleet.cron import longest_gap
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject
from campus.labels import COMPONENT, ENVIRONMENT, MANAGED_BY, NAME, PART_OF
from campus.monitoring.rules import Backup, Watched, rule_groups
from campus.services.facts import read
from campus.services.model import Kind

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PrometheusRule"
PLURAL = "prometheusrules"
COMPONENT_VALUE = "monitoring"


def rule_name(environment: str) -> str:
    return f"campus-{environment}"


def _named(objects: Sequence[KubeObject], kind: str) -> tuple[str, ...]:
    return tuple(sorted(o["metadata"]["name"] for o in objects if o["kind"] == kind))


def _backup(objects: Sequence[KubeObject]) -> Backup | None:
    """The backup CronJob: overdue after its schedule's longest gap and a run's slack (the
    time a late start and a whole run may take)."""
    for obj in objects:
        if obj["kind"] == "CronJob" and obj["metadata"]["name"] == CRONJOB:
            schedule = str(obj["spec"]["schedule"])
            return Backup(CRONJOB, longest_gap(schedule) + slack(obj))
    return None


def watched(environment: Environment, objects: Sequence[KubeObject]) -> Watched:
    """What the rules watch of an environment whose objects (hardened) are `objects`."""
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    return Watched(
        environment=environment.name,
        namespace=environment.namespace,
        production=environment.production,
        deployments=_named(objects, "Deployment"),
        autoscalers=_named(objects, "HorizontalPodAutoscaler"),
        disruption_budgets=_named(objects, "PodDisruptionBudget"),
        claims=_named(objects, "PersistentVolumeClaim"),
        backup=_backup(objects),
        celery_workers=tuple(
            sorted(o["metadata"]["name"] for o in deployments if read(o).kind is Kind.WORKER)
        ),
        celery_queue_length=environment.monitoring.celery_queue_length,
    )


def prometheus_rule(environment: Environment, objects: Sequence[KubeObject]) -> KubeObject | None:
    """The environment's PrometheusRule; None when its monitoring is disabled."""
    if not environment.monitoring.enabled:
        return None
    labels = {
        **environment.monitoring.rule_labels,
        MANAGED_BY: "campus",
        PART_OF: "openedx",
        NAME: "campus-alerts",
        COMPONENT: COMPONENT_VALUE,
        ENVIRONMENT: environment.name,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": rule_name(environment.name),
            "namespace": environment.namespace,
            "labels": labels,
        },
        "spec": {"groups": rule_groups(watched(environment, objects))},
    }
