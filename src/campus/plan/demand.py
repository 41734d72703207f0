"""The pods an environment asks for, read from its hardened manifests exactly as the API
server and scheduler will read them: requests per pod, replicas (the HPA's floor when one
owns the count), rolling-update surge, required spread, disruption budgets, and from the
service catalogue whether each is a backing service."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from campus.kube.objects import KubeObject
from campus.kube.resources import pod_request
from campus.kube.workloads import autoscaler_of, autoscalers, max_replicas, min_replicas
from campus.labels import HOSTNAME, ZONE
from campus.plan.model import Spread, Workload
from campus.services import Phase, catalogue_for, service_name

# What the API server fills in for a Deployment without a strategy.
_DEFAULT_SURGE = "25%"
_SPREAD_KEYS = frozenset({HOSTNAME, ZONE})


def _surge(spec: dict[str, Any], replicas: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", _DEFAULT_SURGE)
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def _required_spread(pod_spec: dict[str, Any]) -> tuple[Spread, ...]:
    return tuple(
        Spread(c["topologyKey"], int(c.get("maxSkew", 1)))
        for c in pod_spec.get("topologySpreadConstraints") or []
        if c.get("whenUnsatisfiable") == "DoNotSchedule" and c.get("topologyKey") in _SPREAD_KEYS
    )


def _selects(budget: KubeObject, labels: dict[str, str]) -> bool:
    wanted = (budget.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def workloads_of(
    environment: str, objects: Sequence[KubeObject], init_jobs: Sequence[KubeObject] = ()
) -> list[Workload]:
    """Every Deployment and StatefulSet of the environment, then its init Jobs."""
    scalers = autoscalers(objects)
    services = catalogue_for(objects)
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    found: list[Workload] = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = obj["spec"]
        template = spec["template"]
        scaler = autoscaler_of(scalers, obj["kind"], obj)
        replicas = min_replicas(scaler) if scaler else int(spec.get("replicas", 1))
        most = max_replicas(scaler) if scaler else replicas
        labels = (template.get("metadata") or {}).get("labels") or {}
        found.append(
            Workload(
                environment=environment,
                name=obj["metadata"]["name"],
                kind=obj["kind"],
                pod=pod_request(template["spec"]),
                replicas=replicas,
                max_replicas=max(most, replicas),
                # A StatefulSet replaces pods one by one in place: no surge.
                surge=_surge(spec, replicas) if obj["kind"] == "Deployment" else 0,
                spread=_required_spread(template["spec"]),
                disruption_budget=any(_selects(b, labels) for b in budgets),
                autoscaled=scaler is not None,
                backing=services.get(service_name(obj)).phase is Phase.BACKING,
            )
        )
    for job in init_jobs:
        spec = job["spec"]
        found.append(
            Workload(
                environment=environment,
                name=job["metadata"]["name"],
                kind="Job",
                pod=pod_request(spec["template"]["spec"]),
                replicas=int(spec.get("parallelism", 1)),
                max_replicas=int(spec.get("parallelism", 1)),
                surge=0,
            )
        )
    return found
