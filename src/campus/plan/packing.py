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

import heapq
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
    # room - used, kept up to date by the Layout: read for every pod on every node.
    free: Resources = field(init=False)

    def __post_init__(self) -> None:
        self.free = self.room - self.used

    def domain(self, topology_key: str) -> str:
        return self.name if topology_key == HOSTNAME else self.zone


_NOTHING_BLOCKED: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


class Layout:
    """Nodes and the pods placed on them, with per-domain pod counts of every group."""

    def __init__(self, count: int, room: Resources, zones: Sequence[str]) -> None:
        self.room = room
        self.nodes = [Node(f"node-{i}", zones[i % len(zones)], room) for i in range(count)]
        self._counts: dict[tuple[str, str], dict[str, int]] = {}
        self._domain_lists: dict[str, list[str]] = {}

    def copy(self) -> Layout:
        twin = Layout(0, self.room, ("",))
        twin.nodes = [
            Node(n.name, n.zone, n.room, n.used, list(n.pods), n.alive) for n in self.nodes
        ]
        twin._counts = {key: dict(counts) for key, counts in self._counts.items()}
        twin._domain_lists = self._domain_lists
        return twin

    @property
    def used_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.pods]

    def _domains(self, topology_key: str) -> list[str]:
        known = self._domain_lists.get(topology_key)
        if known is None:
            known = self._domain_lists[topology_key] = sorted(
                {n.domain(topology_key) for n in self.nodes}
            )
        return known

    def _blocked(self, pod: Pod) -> tuple[frozenset[str], frozenset[str]] | None:
        """The node names and zones the pod's spread constraints rule out: those already
        holding as many of its group as a domain may before it (the fewest in any domain
        plus maxSkew, minus this pod); None when they rule out every domain."""
        if not pod.workload.spread:
            return _NOTHING_BLOCKED
        names: set[str] = set()
        zones: set[str] = set()
        for constraint in pod.workload.spread:
            key = constraint.topology_key
            counts = self._counts.get((pod.workload.group, key), {})
            # Counted domains are domains of nodes: while one is missing, the fewest is 0.
            domains = len(self._domains(key))
            fewest = min(counts.values()) if len(counts) >= domains else 0
            most = fewest + constraint.max_skew - 1
            if most < 0:
                return None  # even an empty domain is too full
            full = {domain for domain, count in counts.items() if count > most}
            (names if key == HOSTNAME else zones).update(full)
        return frozenset(names), frozenset(zones)

    def candidates(self, pod: Pod) -> list[Node]:
        """Nodes the scheduler's filters would accept for the pod, in node order."""
        blocked = self._blocked(pod)
        if blocked is None:
            return []
        names, zones = blocked
        cpu, memory, slots = pod.workload.pod.cpu, pod.workload.pod.memory, pod.workload.pod.pods
        return [
            node
            for node in self.nodes
            if node.alive
            and cpu <= (free := node.free).cpu
            and memory <= free.memory
            and slots <= free.pods
            and node.name not in names
            and node.zone not in zones
        ]

    def place(self, pod: Pod, node: Node) -> None:
        node.pods.append(pod)
        node.used += pod.workload.pod
        node.free = node.room - node.used
        for constraint in pod.workload.spread:
            counts = self._counts.setdefault((pod.workload.group, constraint.topology_key), {})
            domain = node.domain(constraint.topology_key)
            counts[domain] = counts.get(domain, 0) + 1

    def place_all(self, pods: Sequence[Pod], node: Node) -> None:
        """Several pods of one workload without spread constraints, in one step."""
        node.pods.extend(pods)
        node.used += pods[0].workload.pod.times(len(pods))
        node.free = node.room - node.used

    def lose(self, node: Node) -> list[Pod]:
        """The node goes down: its pods are evicted (terminating pods stop counting for
        spread) but it stays a node, hence a spread domain, until someone deletes it."""
        evicted = list(node.pods)
        for pod in evicted:
            for constraint in pod.workload.spread:
                counts = self._counts[(pod.workload.group, constraint.topology_key)]
                counts[node.domain(constraint.topology_key)] -= 1
        node.pods, node.used, node.alive = [], Resources(), False
        node.free = node.room
        return evicted


Choice = Callable[[Layout, Pod], "Node | None"]


def first_fit(layout: Layout, pod: Pod) -> Node | None:
    found = layout.candidates(pod)
    return found[0] if found else None


def _left_after(layout: Layout, pod: Pod) -> Callable[[Node], float]:
    """The dominant share of the room a node has left once it holds the pod."""
    cpu, memory = pod.workload.pod.cpu, pod.workload.pod.memory
    room_cpu, room_memory = layout.room.cpu, layout.room.memory

    def left(node: Node) -> float:
        return max(
            (node.free.cpu - cpu) / room_cpu if room_cpu else 0.0,
            (node.free.memory - memory) / room_memory if room_memory else 0.0,
        )

    return left


def _first_best(
    layout: Layout, pod: Pod, score: Callable[[Node], float], highest: bool
) -> Node | None:
    """The first candidate of highest (else lowest) score, as max() (min()) over
    `candidates` picks it, in one loop: the plan's innermost step."""
    best: Node | None = None
    best_score = 0.0
    for node in layout.candidates(pod):
        value = score(node)
        if best is None or (value > best_score if highest else value < best_score):
            best, best_score = node, value
    return best


def best_fit(layout: Layout, pod: Pod) -> Node | None:
    """The node the pod fills most: keeps big gaps open for big pods."""
    return _first_best(layout, pod, _left_after(layout, pod), highest=False)


def least_allocated(layout: Layout, pod: Pod) -> Node | None:
    """The emptiest node, as kube-scheduler's default scoring prefers."""
    return _first_best(layout, pod, _left_after(layout, pod), highest=True)


def _score_after(layout: Layout, pod: Pod) -> Callable[[Node], float]:
    """kube-scheduler's default resource scores of a node once it holds the pod:
    LeastAllocated (the emptier the better) plus BalancedAllocation (CPU and memory used
    in equal shares), equal weights."""
    request, room = pod.workload.pod, layout.room

    def score(node: Node) -> float:
        cpu = (node.used.cpu + request.cpu) / room.cpu if room.cpu else 0.0
        memory = (node.used.memory + request.memory) / room.memory if room.memory else 0.0
        least = 1 - (cpu + memory) / 2
        balanced = 1 - abs(cpu - memory) / 2
        return least + balanced

    return score


def scheduler_scored(layout: Layout, pod: Pod) -> Node | None:
    """The node kube-scheduler's default resource scores rank first."""
    return _first_best(layout, pod, _score_after(layout, pod), highest=True)


# Choices that rank nodes by a score of the node alone, for placing a run of identical
# pods through a heap instead of a scan of every node per pod.
_SCORES: dict[Choice, Callable[[Layout, Pod], Callable[[Node], float]]] = {
    least_allocated: _left_after,
    scheduler_scored: _score_after,
}


def _how_many_fit(free: Resources, request: Resources) -> int:
    counts = [
        have // need
        for have, need in (
            (free.cpu, request.cpu),
            (free.memory, request.memory),
            (free.pods, request.pods),
        )
        if need > 0
    ]
    return min(counts) if counts else 2**31


def _place_run(layout: Layout, run: Sequence[Pod], choice: Choice) -> Pod | None:
    """Place pods of one workload, in order, exactly as placing them one by one with
    `choice` would; returns the first that finds no room. Without spread constraints the
    pods are interchangeable and the node a choice picks changes only where a pod went:
    first and best fit fill the node they chose until it is full (it stays the first, or
    the fullest, that fits), and a scoring choice keeps the nodes in a heap."""
    if (
        run[0].workload.spread
        or len(run) == 1
        or (choice not in (first_fit, best_fit) and choice not in _SCORES)
    ):
        for pod in run:
            node = choice(layout, pod)
            if node is None:
                return pod
            layout.place(pod, node)
        return None
    request = run[0].workload.pod
    if choice in (first_fit, best_fit):
        placed = 0
        while placed < len(run):
            node = choice(layout, run[placed])
            if node is None:
                return run[placed]
            fits = min(_how_many_fit(node.free, request), len(run) - placed)
            layout.place_all(run[placed : placed + fits], node)
            placed += fits
        return None
    score = _SCORES[choice](layout, run[0])
    position = {id(node): index for index, node in enumerate(layout.nodes)}
    # max() over nodes in order picks the first of equal scores: the lowest index here.
    heap = [(-score(n), position[id(n)], n) for n in layout.candidates(run[0])]
    heapq.heapify(heap)
    for pod in run:
        while heap and not request.fits_in(heap[0][2].free):
            heapq.heappop(heap)  # full for this shape: it only fills further in the run
        if not heap:
            return pod
        _, index, node = heap[0]
        layout.place(pod, node)
        heapq.heapreplace(heap, (-score(node), index, node))
    return None


def _runs(pods: Sequence[Pod]) -> Iterator[list[Pod]]:
    """Consecutive pods of the same workload."""
    run: list[Pod] = []
    for pod in pods:
        if run and pod.workload is not run[0].workload:
            yield run
            run = []
        run.append(pod)
    if run:
        yield run


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
    for run in _runs(pods):
        if _place_run(layout, run, choice) is not None:
            return None
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
    for run in _runs(sorted(pods, key=_by_share(layout.room))):
        stranded = _place_run(layout, run, choice)
        if stranded is not None:
            return stranded
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
