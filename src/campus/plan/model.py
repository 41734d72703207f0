"""What capacity planning reasons about: the pods the fleet asks for and the node they must
fit on. Plain frozen values over `Resources` (integers only: millicores, bytes, pods), so
sums are exact and the packing is deterministic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from campus.kube.resources import GIB, MIB, Resources, memory_bytes, millicores


@dataclass(frozen=True)
class Spread:
    """A required (DoNotSchedule) topology spread constraint; preferred ones
    (ScheduleAnyway) only score nodes and never decide whether a pod fits."""

    topology_key: str
    max_skew: int


WorkloadKind = Literal["Deployment", "StatefulSet", "Job"]


@dataclass(frozen=True)
class Workload:
    """One Deployment (or init Job) of one environment, as the scheduler will see its pods."""

    environment: str
    name: str
    kind: WorkloadKind
    pod: Resources  # what the scheduler reserves for one pod (pods=1)
    replicas: int  # steady state: the fixed count, or the HPA's minReplicas
    max_replicas: int  # the HPA's maxReplicas, else `replicas`
    surge: int  # extra pods while a rolling update runs
    spread: tuple[Spread, ...] = ()
    disruption_budget: bool = False
    autoscaled: bool = False  # an HPA owns the count
    backing: bool = False  # a backing service: deployed before the init Jobs and applications

    @property
    def group(self) -> str:
        return f"{self.environment}/{self.name}"


@dataclass(frozen=True)
class NodeShape:
    """A machine of the node group: its capacity before anything is reserved."""

    cpu: int
    memory: int
    max_pods: int = 110

    @staticmethod
    def parse(cpu: str, memory: str, max_pods: int = 110) -> NodeShape:
        return NodeShape(millicores(cpu), memory_bytes(memory), max_pods)

    @property
    def capacity(self) -> Resources:
        return Resources(self.cpu, self.memory, self.max_pods)


# The kubelet reservation most managed Kubernetes services document for their nodes
# (GKE's published ladder; EKS and AKS are within a few percent): a falling share of each
# further core and GiB, plus the kubelet's 100Mi hard-eviction threshold.
_CPU_TIERS = ((1000, Decimal("0.06")), (1000, Decimal("0.01")), (2000, Decimal("0.005")))
_CPU_REST = Decimal("0.0025")
_MEMORY_TIERS = (
    (4 * GIB, Decimal("0.25")),
    (4 * GIB, Decimal("0.20")),
    (8 * GIB, Decimal("0.10")),
    (112 * GIB, Decimal("0.06")),
)
_MEMORY_REST = Decimal("0.02")
EVICTION_THRESHOLD = 100 * MIB


def _tiered(amount: int, tiers: tuple[tuple[int, Decimal], ...], rest: Decimal) -> int:
    total, left = Decimal(0), amount
    for size, rate in tiers:
        step = min(left, size)
        total += step * rate
        left -= step
    return math.ceil(total + left * rest)


def kubelet_reservation(shape: NodeShape) -> Resources:
    """kube-reserved + system-reserved + eviction threshold for a node of this shape."""
    return Resources(
        _tiered(shape.cpu, _CPU_TIERS, _CPU_REST),
        _tiered(shape.memory, _MEMORY_TIERS, _MEMORY_REST) + EVICTION_THRESHOLD,
    )


# Daemon sets every production node runs: kube-proxy, the CNI agent, a log shipper and a
# metrics agent. Their requests on common distributions add up to about this.
DEFAULT_DAEMON_CPU = "300m"
DEFAULT_DAEMON_MEMORY = "512Mi"


@dataclass(frozen=True)
class Overhead:
    """What each node gives away before the fleet's pods: the kubelet's reservation (taken
    off allocatable) and the daemon-set pods (scheduled like any pod, one per node here)."""

    reserved: Resources
    daemons: Resources

    @staticmethod
    def default(
        shape: NodeShape,
        reserved_cpu: str | None = None,
        reserved_memory: str | None = None,
        daemon_cpu: str = DEFAULT_DAEMON_CPU,
        daemon_memory: str = DEFAULT_DAEMON_MEMORY,
    ) -> Overhead:
        auto = kubelet_reservation(shape)
        reserved = Resources(
            millicores(reserved_cpu) if reserved_cpu is not None else auto.cpu,
            memory_bytes(reserved_memory) if reserved_memory is not None else auto.memory,
        )
        daemons = Resources(millicores(daemon_cpu), memory_bytes(daemon_memory), 1)
        if daemons == Resources(0, 0, 1):
            daemons = Resources()  # no daemon sets at all: no pod either
        return Overhead(reserved, daemons)

    def node_allocatable(self, shape: NodeShape) -> Resources:
        """What the kubelet reports as allocatable: capacity minus its reservation."""
        return shape.capacity - self.reserved.without_pods()

    def room_for_pods(self, shape: NodeShape) -> Resources:
        """What is left for the fleet once the daemon-set pod runs too."""
        return self.node_allocatable(shape) - self.daemons
