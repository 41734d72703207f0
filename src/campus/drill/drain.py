"""Draining a node safely, on a sandbox or a real cluster: plan it (`drain_plan`), refuse
it with the reason when it would leave a production service without a ready replica,
cordon, evict every pod through the Eviction API (retrying what a PodDisruptionBudget
holds back, as `kubectl drain` does), and wait until the evicted pods are gone.

A budget that can never allow an eviction is not waited on: the drain stops with the
budget, the service and the fix, and leaves the node cordoned (as `kubectl drain` does on
failure); `campus uncordon NODE` undoes that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lightkube import Client
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from campus.drill.drain_plan import DrainPlan, Owner, StuckBudget, plan_drain, stuck_budgets
from campus.errors import CampusError
from campus.fleet.model import Environment
from campus.kube import drain as edge

Progress = Callable[[str], None]

# kubectl drain's pause between two tries of an eviction a budget refused.
EVICTION_RETRY = 5.0


class DrainRefused(CampusError):
    def __init__(self, plan: DrainPlan) -> None:
        super().__init__(
            f"refusing to drain {plan.node}:\n  "
            + "\n  ".join(plan.refusals)
            + "\nnothing was changed"
        )
        self.plan = plan


@dataclass(frozen=True)
class DrainResult:
    node: str
    evicted: list[str]  # namespace/pod
    stuck: list[StuckBudget] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)  # namespace/pod: the last refusal
    seconds: float = 0.0
    blocked_evictions: int = 0  # evictions a budget refused, retried or not

    @property
    def complete(self) -> bool:
        return not self.stuck and not self.blocked


def owners_of(environments: Sequence[Environment]) -> dict[str, Owner]:
    return {e.namespace: (e.name, e.production) for e in environments}


def read_plan(client: Client, node: str, environments: Sequence[Environment]) -> DrainPlan:
    """The drain's plan from the cluster as it is now: three list calls."""
    pods = [p.to_dict() for p in client.list(Pod, namespace="*")]
    nodes = [n.to_dict() for n in client.list(Node)]
    budgets = [b.to_dict() for b in client.list(PodDisruptionBudget, namespace="*")]
    return plan_drain(node, pods, nodes, budgets, owners_of(environments))


def drain(
    client: Client,
    node: str,
    environments: Sequence[Environment],
    timeout: float = 600,
    retry: float = EVICTION_RETRY,
    progress: Progress = lambda message: None,
    stop: Callable[[], bool] = lambda: False,
) -> DrainResult:
    """Cordon and drain `node`; raises `DrainRefused` (before touching anything) when the
    plan refuses. Returns what was evicted and what a budget held back."""
    plan = read_plan(client, node, environments)
    if not plan.allowed:
        raise DrainRefused(plan)
    started = time.monotonic()
    edge.cordon(client, node)
    progress(f"cordoned {node}; evicting {len(plan.moves)} pods")
    pending = {(m.namespace, m.pod) for m in plan.moves}
    service_of = {(m.namespace, m.pod): m.service for m in plan.moves}
    evicted: list[str] = []
    blocked: dict[str, str] = {}
    refusals = 0
    stuck: list[StuckBudget] = []
    while pending and not stop():
        for namespace, pod in sorted(pending):
            outcome = edge.evict(client, namespace, pod)
            name = f"{namespace}/{pod}"
            if outcome.done:
                pending.discard((namespace, pod))
                blocked.pop(name, None)
                evicted.append(name)
                progress(f"evicted {name}")
            else:
                refusals += 1
                blocked[name] = outcome.blocked or "refused"
        if not pending:
            break
        stuck = _stuck(client, pending)
        held = {(s.namespace, s.service) for s in stuck}
        if stuck and all((p[0], service_of[p]) in held for p in pending):
            for budget in stuck:
                progress(
                    f"PodDisruptionBudget {budget.namespace}/{budget.budget} ({budget.reason}) "
                    f"will never let {budget.service} be evicted: {budget.fix}"
                )
            break
        if time.monotonic() - started > timeout:
            progress(f"gave up after {timeout:.0f}s: {len(pending)} evictions still refused")
            break
        progress(f"{len(pending)} evictions held back by disruption budgets; retrying")
        time.sleep(retry)
    _wait_gone(client, node, set(evicted), started + timeout, stop)
    return DrainResult(
        node,
        evicted,
        stuck,
        {name: blocked[name] for name in sorted(blocked) if tuple(name.split("/")) in pending},
        time.monotonic() - started,
        refusals,
    )


def _stuck(client: Client, pending: set[tuple[str, str]]) -> list[StuckBudget]:
    namespaces = {namespace for namespace, _ in pending}
    pods = [
        p.to_dict()
        for namespace in sorted(namespaces)
        for p in client.list(Pod, namespace=namespace)
        if p.metadata and (namespace, p.metadata.name) in pending
    ]
    budgets = [
        b.to_dict()
        for namespace in sorted(namespaces)
        for b in client.list(PodDisruptionBudget, namespace=namespace)
    ]
    return stuck_budgets(pods, budgets)


def _wait_gone(
    client: Client, node: str, evicted: set[str], deadline: float, stop: Callable[[], bool]
) -> None:
    """Until no evicted pod is left on the node (each ends after its grace period)."""
    while evicted and not stop() and time.monotonic() < deadline:
        left = {
            f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in edge.pods_on(client, node)
        }
        if not left & evicted:
            return
        time.sleep(1)
