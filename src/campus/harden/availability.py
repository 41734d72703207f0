"""Rule: stateless services survive a lost node and a rolling update.

Tutor runs one replica of everything, with no autoscaling, no disruption budget and no
spread, so a node drain or a lost node takes the site down. Here: replicas per service
(production environments: 2+ of every stateless service the catalogue knows or finds,
plugins' included), a CPU HorizontalPodAutoscaler where asked (production: those the
catalogue marks, lms, cms and their workers), a PodDisruptionBudget for every service with
2+ replicas, spread over nodes (required in production) and zones, a graceful stop for
HTTP services, and rolling updates that never drop below the desired count. Data services,
and any service whose pods mount a ReadWriteOnce volume, keep one replica and Tutor's
Recreate strategy: two MySQL pods on one volume would corrupt it.
"""

from __future__ import annotations

from typing import Any

from campus.fleet.model import Autoscaling
from campus.harden.rule import Rule, Violation, catalogue, service_of, violation
from campus.kube.objects import KubeObject
from campus.labels import HOSTNAME, MANAGED_BY, ZONE
from campus.render.model import RenderedEnvironment
from campus.services import claims

NAME = "availability"
# The check a scale change can break by itself: every other one the rule's apply restores.
WEB_REPLICAS = "production-web-replicas"


def desired_replicas(rendered: RenderedEnvironment, service: str) -> int:
    environment = rendered.environment
    if service in environment.replicas:
        return environment.replicas[service]
    scaling = autoscaling_for(rendered, service)
    if scaling:
        return scaling.min
    if environment.production and replicable(rendered, service):
        return 2
    return 1


def replicable(
    rendered: RenderedEnvironment, service: str, objects: list[KubeObject] | None = None
) -> bool:
    """A second pod on another node is safe: the catalogue says the service is stateless
    and no volume is mounted into its pods (of `objects`, Tutor's by default). Tutor's own
    Caddy, in caddy mode, keeps its certificates on a ReadWriteOnce volume."""
    services = catalogue(rendered)
    if not services.replicable(service):
        return False
    if services.get(service).entry and rendered.environment.ingress_mode == "caddy":
        return False
    return not any(
        claims(obj)
        for obj in (rendered.objects if objects is None else objects)
        if obj["kind"] == "Deployment" and service_of(obj) == service
    )


def autoscaling_for(rendered: RenderedEnvironment, service: str) -> Autoscaling | None:
    environment = rendered.environment
    if service in environment.autoscaling:
        return environment.autoscaling[service]
    if environment.production and catalogue(rendered).get(service).autoscaled_in_production:
        base = max(2, environment.replicas.get(service, 2))
        return Autoscaling(min=base, max=base * 2)
    return None


def _selector(obj: KubeObject) -> dict[str, Any]:
    """The Deployment's own pods. Without Tutor's managed-by label, which the ownership
    rule rewrites in pod templates later: a selector still naming `tutor` would select
    no pod at all, and a spread constraint over no pods constrains nothing."""
    labels = obj["spec"]["selector"]["matchLabels"]
    return {"matchLabels": {k: v for k, v in labels.items() if k != MANAGED_BY}}


def _selects_own_pods(obj: KubeObject, constraint: dict[str, Any]) -> bool:
    wanted = (constraint.get("labelSelector") or {}).get("matchLabels") or {}
    labels = (obj["spec"]["template"].get("metadata") or {}).get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _companion_metadata(obj: KubeObject) -> dict[str, Any]:
    """An HPA's or PDB's metadata: the Deployment's name, namespace and labels."""
    return {
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"].get("namespace"),
        "labels": dict(obj["metadata"].get("labels") or {}),
    }


def _hpa(obj: KubeObject, scaling: Autoscaling) -> KubeObject:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _companion_metadata(obj),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": obj["metadata"]["name"],
            },
            "minReplicas": scaling.min,
            "maxReplicas": scaling.max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.cpu},
                    },
                }
            ],
        },
    }


def _pdb(obj: KubeObject) -> KubeObject:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _companion_metadata(obj),
        "spec": {"maxUnavailable": 1, "selector": _selector(obj)},
    }


def _zone_spread(obj: KubeObject) -> dict[str, Any]:
    """Over zones, preferred in every environment: the zone-failure drill run both ways
    (bench/README.md, docs/drill.md) passed with it; required with the scheduler's default
    `nodeTaintsPolicy: Ignore` stranded a replacement (the empty lost zone holds the skew at
    its limit), and required with `Honor` passed on the sandbox but leaves `campus plan`,
    which models the default, without a layout that survives a lost zone."""
    return {
        "maxSkew": 1,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": _selector(obj),
    }


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    added: list[KubeObject] = []
    services = catalogue(rendered)
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        service = service_of(obj)
        spec = obj["spec"]
        replicas = desired_replicas(rendered, service)
        scaling = autoscaling_for(rendered, service)
        if scaling:
            # The HPA owns the count; a replicas field in every apply would fight it.
            spec.pop("replicas", None)
            added.append(_hpa(obj, scaling))
        else:
            spec["replicas"] = replicas
        floor = scaling.min if scaling else replicas
        if floor >= 2:
            added.append(_pdb(obj))
        if replicable(rendered, service, objects):
            required = rendered.environment.production and floor >= 2
            pod = spec["template"]["spec"]
            pod["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": HOSTNAME,
                    "whenUnsatisfiable": "DoNotSchedule" if required else "ScheduleAnyway",
                    "labelSelector": _selector(obj),
                },
                _zone_spread(obj),
            ]
            spec["strategy"] = {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            }
            if services.get(service).http_front:
                # Time for endpoints to drop the pod before it stops taking requests.
                pod["terminationGracePeriodSeconds"] = 40
                pod["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": 10}}}
    return objects + added


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    scalers = {o["metadata"]["name"]: o for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        name, service = obj["metadata"]["name"], service_of(obj)
        floor = (
            scalers[name]["spec"]["minReplicas"]
            if name in scalers
            else obj["spec"].get("replicas", 1)
        )
        if floor >= 2 and name not in budgets:
            found.append(violation(NAME, obj, f"{floor} replicas but no PodDisruptionBudget"))
        if rendered.environment.production and floor < 2 and replicable(rendered, service, objects):
            found.append(
                violation(
                    NAME,
                    obj,
                    "production stateless service with fewer than 2 replicas",
                    WEB_REPLICAS,
                )
            )
        constraints = obj["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
        if floor >= 2 and not constraints:
            found.append(violation(NAME, obj, "replicas not spread over nodes"))
        for constraint in constraints:
            if not _selects_own_pods(obj, constraint):
                found.append(
                    violation(
                        NAME,
                        obj,
                        f"spread over {constraint.get('topologyKey')} selects none of its own "
                        "pods, so it spreads nothing",
                    )
                )
    return found


RULE = Rule(NAME, "Tutor runs one replica with no HPA, PDB or spread", apply, check)
