"""What draining one node would do, decided before anything is touched. Pure.

Like `kubectl drain`: DaemonSet pods stay (their controller would put them straight back)
and so do mirror pods; so do finished pods (a completed Job's), which run nothing and go
with the node when it is deleted; every other pod is evicted through the Eviction API, so its
PodDisruptionBudget is honoured. campus adds what kubectl does not know: which services
are production stateless services (as hardening annotated their pods). A drain that would
leave one of them with no ready replica elsewhere is refused, and a budget that can never
allow a disruption (the classic `minAvailable: 1` on a single replica) is named with its
fix instead of being waited on forever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campus.drill.services import must_stay_up
from campus.kube.objects import KubeObject, annotations_of, is_ready, labels_of, selects
from campus.kube.resources import Resources, pod_request
from campus.labels import NAME
from campus.services import read

MIRROR_POD = "kubernetes.io/config.mirror"


# The environment a namespace belongs to, and whether it is production.
Owner = tuple[str, bool]


@dataclass(frozen=True)
class Move:
    """One pod the drain evicts, and the nodes with room for its replacement."""

    namespace: str
    pod: str
    service: str
    room_on: list[str]


@dataclass(frozen=True)
class StuckBudget:
    """A PodDisruptionBudget that will never allow evicting its pods: a drain waits forever."""

    namespace: str
    budget: str
    service: str
    reason: str
    fix: str


@dataclass(frozen=True)
class DrainPlan:
    node: str
    moves: list[Move]
    staying: list[str]  # DaemonSet, mirror and finished pods, as namespace/name
    refusals: list[str] = field(default_factory=list)  # why this drain must not run
    stuck: list[StuckBudget] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals


def _service(pod: KubeObject) -> str:
    return labels_of(pod).get(NAME) or pod["metadata"]["name"]


def _controller_kind(pod: KubeObject) -> str | None:
    for reference in pod["metadata"].get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference.get("kind"))
    return None


def _finished(pod: KubeObject) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


def _serving(pod: KubeObject) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and is_ready(pod)


def _count(value: int | str, total: int) -> int:
    """A budget's int-or-percent against the expected pods (percentages round up)."""
    if isinstance(value, str) and value.endswith("%"):
        return -(-int(value[:-1]) * total // 100)
    return int(value)


def never_allows(budget: KubeObject) -> str | None:
    """Why a budget can never allow one eviction, or None: it asks for every expected
    pod to stay (minAvailable at or above the pods it covers, or maxUnavailable 0)."""
    spec = budget.get("spec") or {}
    expected = int((budget.get("status") or {}).get("expectedPods") or 0)
    if expected == 0:
        return None
    if "maxUnavailable" in spec and _count(spec["maxUnavailable"], expected) <= 0:
        return f"maxUnavailable: {spec['maxUnavailable']}"
    if "minAvailable" in spec and _count(spec["minAvailable"], expected) >= expected:
        return (
            f"minAvailable: {spec['minAvailable']} with {expected} "
            f"replica{'s' if expected != 1 else ''}"
        )
    return None


def stuck_budgets(pods: Sequence[KubeObject], budgets: Sequence[KubeObject]) -> list[StuckBudget]:
    """The budgets covering any of `pods` that will never let them be evicted."""
    stuck = []
    for budget in budgets:
        reason = never_allows(budget)
        namespace = budget["metadata"].get("namespace", "")
        covered = [
            pod
            for pod in pods
            if pod["metadata"].get("namespace") == namespace
            and selects(budget.get("spec", {}).get("selector"), labels_of(pod))
        ]
        if reason is None or not covered:
            continue
        service = _service(covered[0])
        stuck.append(
            StuckBudget(
                namespace,
                budget["metadata"]["name"],
                service,
                reason,
                f"give {service} 2 or more replicas (`campus scale`), or set maxUnavailable: 1 "
                f"on PodDisruptionBudget {namespace}/{budget['metadata']['name']}",
            )
        )
    return stuck


def _allocatable(quantities: Mapping[str, Any]) -> Resources:
    return Resources.of(quantities) + Resources(pods=int(quantities.get("pods", 110)))


def _room(
    nodes: Sequence[KubeObject], pods: Sequence[KubeObject], draining: str
) -> dict[str, Resources]:
    """What each node that can take pods has left: allocatable minus its pods' requests."""
    room = {
        node["metadata"]["name"]: _allocatable(node.get("status", {}).get("allocatable") or {})
        for node in nodes
        if node["metadata"]["name"] != draining
        and is_ready(node)
        and not (node.get("spec") or {}).get("unschedulable")
    }
    for pod in pods:
        where = pod.get("spec", {}).get("nodeName")
        if where in room and not _finished(pod):
            room[where] = room[where] - pod_request(pod.get("spec", {}))
    return room


def plan_drain(
    node: str,
    pods: Sequence[KubeObject],
    nodes: Sequence[KubeObject],
    budgets: Sequence[KubeObject],
    owners: Mapping[str, Owner],
) -> DrainPlan:
    """What draining `node` would do. `pods` are every pod of the cluster (those elsewhere
    tell what keeps serving); `owners` maps the fleet's namespaces to their environments."""
    if node not in {n["metadata"]["name"] for n in nodes}:
        known = ", ".join(sorted(n["metadata"]["name"] for n in nodes))
        return DrainPlan(node, [], [], refusals=[f"there is no node {node!r}; nodes: {known}"])
    ready_nodes = {n["metadata"]["name"] for n in nodes if is_ready(n)}
    on_node = [p for p in pods if p.get("spec", {}).get("nodeName") == node]
    room = _room(nodes, pods, node)
    moves, staying, refusals = [], [], []
    for pod in sorted(on_node, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        kind = _controller_kind(pod)
        if kind == "DaemonSet" or MIRROR_POD in annotations_of(pod) or _finished(pod):
            staying.append(name)  # a finished pod runs nothing: there is nothing to move
            continue
        if kind is None:
            refusals.append(f"{name} has no controller: nothing would recreate it once evicted")
        request = pod_request(pod.get("spec", {}))
        fits = sorted(n for n, left in room.items() if request.fits_in(left))
        moves.append(
            Move(pod["metadata"]["namespace"], pod["metadata"]["name"], _service(pod), fits)
        )
    for (namespace, service), owner in _production_services(on_node, owners).items():
        elsewhere = [
            p
            for p in pods
            if p["metadata"].get("namespace") == namespace
            and labels_of(p).get(NAME) == service
            and p.get("spec", {}).get("nodeName") not in (node, None)
            and p["spec"]["nodeName"] in ready_nodes
            and _serving(p)
        ]
        if not elsewhere:
            refusals.append(
                f"draining {node} would leave production service {owner[0]}/{service} "
                f"with no ready replica: every ready one runs on {node} (give it 2 or more "
                "replicas spread over nodes, or wait until its other replicas are Ready)"
            )
    stuck = stuck_budgets([p for p in on_node if not _finished(p)], budgets)
    return DrainPlan(node, moves, staying, refusals, stuck)


def _production_services(
    pods: Sequence[KubeObject], owners: Mapping[str, Owner]
) -> dict[tuple[str, str], Owner]:
    found = {}
    for pod in pods:
        owner = owners.get(pod["metadata"].get("namespace", ""))
        service = labels_of(pod).get(NAME)
        if owner and service and _serving(pod) and must_stay_up(owner[1], read(pod)):
            found[pod["metadata"]["namespace"], service] = owner
    return found
