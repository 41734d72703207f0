"""The layout operators use without Kubernetes: one server per service of each
environment, and one per replica where a service runs several for availability, each
the smallest common VM size that holds the service plus the machine's own overhead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from campus.errors import CampusError
from campus.kube.resources import GIB, Resources
from campus.plan.model import NodeShape, Overhead, Workload

# General-purpose sizes every large cloud sells (vCPU, GiB): the 1:2, 1:4 and 1:8 families.
VM_LADDER: tuple[tuple[int, int], ...] = (
    (1, 2),
    (2, 4),
    (2, 8),
    (4, 8),
    (4, 16),
    (2, 16),
    (8, 16),
    (8, 32),
    (4, 32),
    (16, 64),
    (8, 64),
    (32, 128),
    (64, 256),
)


@dataclass(frozen=True)
class Server:
    environment: str
    service: str
    shape: NodeShape
    price: float  # in the unit of the node price; 0 when none was given


def relative_size(shape: NodeShape, node: NodeShape) -> float:
    """A machine's size in node-equivalents: half by CPU, half by memory, which is how
    general-purpose VM prices scale within a family."""
    return (shape.cpu / node.cpu + shape.memory / node.memory) / 2


def _ladder(node: NodeShape) -> list[NodeShape]:
    shapes = {NodeShape(cpu * 1000, gib * GIB) for cpu, gib in VM_LADDER}
    shapes.add(NodeShape(node.cpu, node.memory))
    return sorted(shapes, key=lambda s: (relative_size(s, node), s.cpu))


def server_for(
    workload: Workload, node: NodeShape, daemons: Resources, ladder: Sequence[NodeShape]
) -> NodeShape:
    """The smallest size holding the service, the OS reservation and the same agents."""
    for shape in ladder:
        overhead = Overhead(Overhead.default(shape).reserved, daemons)
        if workload.pod.fits_in(overhead.room_for_pods(shape)):
            return shape
    raise CampusError(
        f"{workload.group} needs more than the largest server size ({ladder[-1].cpu // 1000} "
        "vCPU): no single server holds it"
    )


def one_server_per_service(
    workloads: Sequence[Workload], node: NodeShape, daemons: Resources, node_price: float
) -> list[Server]:
    ladder = _ladder(node)
    servers = []
    for workload in workloads:
        if workload.kind == "Job":
            continue  # init tasks run on the application's own server
        shape = server_for(workload, node, daemons, ladder)
        price = node_price * relative_size(shape, node)
        servers += [
            Server(workload.environment, workload.name, shape, price)
            for _ in range(workload.replicas)
        ]
    return servers
