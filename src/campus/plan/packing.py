"""Bin packing of pods onto nodes with the scheduler's own fit rules: requests against
what is left of each node (CPU, memory, pod slots), and required topology spread checked
the way kube-scheduler's PodTopologySpread filter checks it:

    pods of the group in the candidate's domain + 1 - fewest in any domain <= maxSkew

where the domains are those of every node, including a node that is down or cordoned
(the default nodeTaintsPolicy is Ignore), and terminating pods do not count. So with
maxSkew 1, as long as a Deployment has fewer replicas than there are nodes, no two of its
pods share a node.

Several classic heuristics are tried (first fit, best fit, and the scheduler's own
least-allocated preference, each over the pods sorted by dominant share, CPU or memory,
largest first) and the first layout that fits wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from campus.kube.resources import Resources, total
from campus.labels import HOSTNAME
from campus.plan.model import Workload


@dataclass(frozen=True)
class Pod:
    workload: Workload
    index: int

    @property
    def name(self) -> str:
        return f"{self.workload.group}#{self.index}"


def pods_of(workloads: Sequence[Workload], replicas: Callable[[Workload], int]) -> list[Pod]:
    return [Pod(w, index) for w in workloads for index in range(replicas(w))]


@dataclass
class Node:
    name: str
    zone: str
    room: Resources  # what the fleet's pods may use on this node
    used: Resources = field(default_factory=Resources)
    pods: list[Pod] = field(default_factory=list)
    alive: bool = True

    @property
    def free(self) -> Resources:
        return self.room - self.used

    def domain(self, topology_key: str) -> str:
        return self.name if topology_key == HOSTNAME else self.zone


class Layout:
    """Nodes and the pods placed on them, with per-domain pod counts of every group."""

    def __init__(self, count: int, room: Resources, zones: Sequence[str]) -> None:
        self.room = room
        self.nodes = [Node(f"node-{i}", zones[i % len(zones)], room) for i in range(count)]
        self._counts: dict[tuple[str, str], dict[str, int]] = {}

    def copy(self) -> Layout:
        twin = Layout(0, self.room, ("",))
        twin.nodes = [
            Node(n.name, n.zone, n.room, n.used, list(n.pods), n.alive) for n in self.nodes
        ]
        twin._counts = {key: dict(counts) for key, counts in self._counts.items()}
        return twin

    @property
    def used_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.pods]

    def spread_allows(self, pod: Pod, node: Node) -> bool:
        for constraint in pod.workload.spread:
            counts = self._counts.get((pod.workload.group, constraint.topology_key), {})
            domains = {n.domain(constraint.topology_key) for n in self.nodes}
            fewest = min(counts.get(d, 0) for d in domains)
            here = counts.get(node.domain(constraint.topology_key), 0)
            if here + 1 - fewest > constraint.max_skew:
                return False
        return True

    def candidates(self, pod: Pod) -> Iterator[Node]:
        """Nodes the scheduler's filters would accept for the pod, in node order."""
        for node in self.nodes:
            if node.alive and pod.workload.pod.fits_in(node.free) and self.spread_allows(pod, node):
                yield node

    def place(self, pod: Pod, node: Node) -> None:
        node.pods.append(pod)
        node.used += pod.workload.pod
        for constraint in pod.workload.spread:
            counts = self._counts.setdefault((pod.workload.group, constraint.topology_key), {})
            domain = node.domain(constraint.topology_key)
            counts[domain] = counts.get(domain, 0) + 1

    def lose(self, node: Node) -> list[Pod]:
        """The node goes down: its pods are evicted (terminating pods stop counting for
        spread) but it stays a node, hence a spread domain, until someone deletes it."""
        evicted = list(node.pods)
        for pod in evicted:
            for constraint in pod.workload.spread:
                counts = self._counts[(pod.workload.group, constraint.topology_key)]
                counts[node.domain(constraint.topology_key)] -= 1
        node.pods, node.used, node.alive = [], Resources(), False
        return evicted


Choice = Callable[[Layout, Pod], "Node | None"]


def first_fit(layout: Layout, pod: Pod) -> Node | None:
    return next(layout.candidates(pod), None)


def best_fit(layout: Layout, pod: Pod) -> Node | None:
    """The node the pod fills most: keeps big gaps open for big pods."""
    return min(
        layout.candidates(pod),
        key=lambda n: (n.free - pod.workload.pod).share_of(layout.room),
        default=None,
    )


def least_allocated(layout: Layout, pod: Pod) -> Node | None:
    """The emptiest node, as kube-scheduler's default scoring prefers."""
    return max(
        layout.candidates(pod),
        key=lambda n: (n.free - pod.workload.pod).share_of(layout.room),
        default=None,
    )


def _by_share(room: Resources) -> Callable[[Pod], tuple[float, str, int]]:
    return lambda p: (-p.workload.pod.share_of(room), p.workload.group, p.index)


def _by_cpu(pod: Pod) -> tuple[int, int, str, int]:
    return (-pod.workload.pod.cpu, -pod.workload.pod.memory, pod.workload.group, pod.index)


def _by_memory(pod: Pod) -> tuple[int, int, str, int]:
    return (-pod.workload.pod.memory, -pod.workload.pod.cpu, pod.workload.group, pod.index)


def orderings(room: Resources) -> list[Callable[[Pod], tuple[object, ...]]]:
    return [_by_share(room), _by_cpu, _by_memory]


CHOICES: tuple[Choice, ...] = (first_fit, best_fit, least_allocated)


def pack(
    pods: Sequence[Pod], count: int, room: Resources, zones: Sequence[str], choice: Choice
) -> Layout | None:
    """Place the pods, in the order given, on `count` nodes; None when one does not fit."""
    layout = Layout(count, room, zones)
    for pod in pods:
        node = choice(layout, pod)
        if node is None:
            return None
        layout.place(pod, node)
    return layout


def layouts(
    pods: Sequence[Pod], count: int, room: Resources, zones: Sequence[str]
) -> Iterator[Layout]:
    """Every distinct heuristic's layout of the pods on `count` nodes that fits."""
    for order in orderings(room):
        ordered = sorted(pods, key=order)
        for choice in CHOICES:
            layout = pack(ordered, count, room, zones, choice)
            if layout is not None:
                yield layout


def lower_bound(pods: Sequence[Pod], room: Resources) -> int:
    """No packing can use fewer nodes than the total requests need."""
    needed = total(pod.workload.pod for pod in pods)
    return max(
        1,
        -(-needed.cpu // room.cpu) if room.cpu > 0 else 1,
        -(-needed.memory // room.memory) if room.memory > 0 else 1,
        -(-needed.pods // room.pods) if room.pods > 0 else 1,
    )


def add_pods(layout: Layout, pods: Sequence[Pod], choice: Choice = first_fit) -> Pod | None:
    """Place more pods around those already running, largest first, moving nothing (the
    scheduler never moves a running pod); returns the first pod that finds no room."""
    for pod in sorted(pods, key=_by_share(layout.room)):
        node = choice(layout, pod)
        if node is None:
            return pod
        layout.place(pod, node)
    return None


def stranded_by_loss(layout: Layout) -> tuple[str, Pod] | None:
    """Lose each node in turn and re-place its pods on the others; the first (node, pod)
    that finds no room, or None when the layout survives losing any one node."""
    for victim in layout.used_nodes:
        trial = layout.copy()
        evicted = trial.lose(next(n for n in trial.nodes if n.name == victim.name))
        stranded = add_pods(trial, evicted, least_allocated)
        if stranded is not None:
            return victim.name, stranded
    return None


def stranded_by_zone_loss(layout: Layout) -> tuple[str, Pod] | None:
    """Lose every node of each zone in turn (a zone outage) and re-place their pods on
    the other zones; the first (zone, pod) that finds no room, or None when the layout
    survives losing any one zone."""
    for zone in sorted({n.zone for n in layout.used_nodes}):
        trial = layout.copy()
        evicted = [pod for node in trial.nodes if node.zone == zone for pod in trial.lose(node)]
        stranded = add_pods(trial, evicted, least_allocated)
        if stranded is not None:
            return zone, stranded
    return None
