"""Which object goes in which deploy phase, and in what order phases run. Pure.

Each phase is applied, then waited on, before the next starts: applications are never
switched to a new revision before the data services they need are Ready and the init Jobs
(migrations) have completed, so a failed migration leaves the previous revision serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from campus.kube.objects import KubeObject, annotations_of
from campus.kube.workloads import autoscalers, min_replicas
from campus.labels import PHASE
from campus.services import Catalogue, catalogue_for, service_name
from campus.services import Phase as ServicePhase


class Phase(Enum):
    FOUNDATION = "foundation"  # namespace, quota, limits, policies, service accounts
    CONFIGURATION = "configuration"  # Secrets, ConfigMaps, volumes, Services, Ingress, rules
    BACKING = "backing services"  # mysql, mongodb, redis, search: Ready
    UPGRADE = "upgrade"  # a release change: data services converted, release steps run
    INIT = "init jobs"  # Tutor's init tasks: Complete
    APPLICATIONS = "applications"  # lms, cms, workers, plugins: rolled out and Ready
    AVAILABILITY = "availability"  # HPAs and PDBs, once their targets exist


PHASE_ORDER = tuple(Phase)

_FOUNDATION_KINDS = frozenset(
    {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    }
)
# A PrometheusRule before any workload: a first deploy that fails part-way is watched too.
_CONFIGURATION_KINDS = frozenset(
    {"Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Ingress", "PrometheusRule"}
)
_AVAILABILITY_KINDS = frozenset({"HorizontalPodAutoscaler", "PodDisruptionBudget"})
_WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})


def phase_of(obj: KubeObject, services: Catalogue) -> Phase:
    kind = obj["kind"]
    if kind in _FOUNDATION_KINDS:
        return Phase.FOUNDATION
    if kind in _CONFIGURATION_KINDS:
        return Phase.CONFIGURATION
    if kind in _AVAILABILITY_KINDS:
        return Phase.AVAILABILITY
    if kind == "Job":
        return Phase.INIT
    if kind in _WORKLOAD_KINDS:
        chosen = annotations_of(obj).get(PHASE) or services.get(service_name(obj)).phase
        backing = chosen == ServicePhase.BACKING
        return Phase.BACKING if backing else Phase.APPLICATIONS
    # Anything else (a plugin's CronJob, a custom resource) goes with the applications.
    return Phase.APPLICATIONS


@dataclass
class PhasePlan:
    phase: Phase
    objects: list[KubeObject] = field(default_factory=list)


def plan_phases(
    objects: list[KubeObject], init_jobs: list[KubeObject], services: Catalogue | None = None
) -> list[PhasePlan]:
    """Objects grouped by phase in apply order; init Jobs keep the order Tutor gave them.
    Which workloads are backing services comes from the service catalogue (by default the
    one the objects themselves give)."""
    services = services or catalogue_for(objects)
    plans = {phase: PhasePlan(phase) for phase in PHASE_ORDER}
    for obj in objects:
        plans[phase_of(obj, services)].objects.append(obj)
    plans[Phase.INIT].objects.extend(init_jobs)
    return [plans[phase] for phase in PHASE_ORDER if plans[phase].objects]


def autoscaling_floors(objects: list[KubeObject]) -> dict[str, int]:
    """Deployment name -> its HPA's minReplicas.

    campus leaves `replicas` out of autoscaled Deployments so that its applies never fight
    the HPA; a Deployment created that way starts with one replica until the HPA's next
    sync (15 s), which would let a first deploy report success on a single replica of a
    production service. The engine raises such Deployments to this floor itself."""
    return {
        target.name: min_replicas(scaler)
        for target, scaler in autoscalers(objects).items()
        if target.kind == "Deployment"
    }
