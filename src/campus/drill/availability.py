"""What a drill's samples say about availability: for each service, how long it had no
ready replica, how long it ran below its desired count, and when the fleet was whole
again. Pure: samples in, report out.

A pod on the failed node stops serving the moment its machine dies, long before the node
controller notices and marks it not ready; the sampler therefore counts only ready pods on
nodes that are still alive, so the gaps measured here are the ones users would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from campus.services import STATELESS as WEB_SERVICES

ServiceKey = tuple[str, str]  # (environment, service)


@dataclass(frozen=True)
class Sample:
    """One look at the fleet, `at` seconds after the node failed."""

    at: float
    serving: dict[ServiceKey, int]  # ready replicas on live nodes
    node_ready: bool  # what the API server says of the failed node


@dataclass(frozen=True)
class ServiceOutcome:
    environment: str
    service: str
    production: bool
    desired: int
    lowest: int  # fewest ready replicas seen
    seconds_without_ready: float
    seconds_below_desired: float

    @property
    def must_stay_up(self) -> bool:
        """Production web services are the ones a lost node must not take down."""
        return self.production and self.service in WEB_SERVICES


@dataclass(frozen=True)
class DrillReport:
    node: str
    pods_on_node: int
    detected_after: float | None  # NotReady reported by the API server
    recovered_after: float | None  # every service back to its desired count
    services: list[ServiceOutcome]
    unschedulable: list[str] = field(default_factory=list)

    @property
    def outages(self) -> list[ServiceOutcome]:
        return [s for s in self.services if s.seconds_without_ready > 0]

    @property
    def broken_promises(self) -> list[ServiceOutcome]:
        """Production web services that had no ready replica at some point."""
        return [s for s in self.outages if s.must_stay_up]

    @property
    def passed(self) -> bool:
        return (
            self.recovered_after is not None and not self.broken_promises and not self.unschedulable
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "podsOnNode": self.pods_on_node,
            "detectedAfterSeconds": _rounded(self.detected_after),
            "recoveredAfterSeconds": _rounded(self.recovered_after),
            "passed": self.passed,
            "services": [
                {
                    "environment": s.environment,
                    "service": s.service,
                    "production": s.production,
                    "desired": s.desired,
                    "lowestReady": s.lowest,
                    "secondsWithoutReady": round(s.seconds_without_ready, 1),
                    "secondsBelowDesired": round(s.seconds_below_desired, 1),
                }
                for s in self.services
            ],
            "unschedulable": list(self.unschedulable),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def first_recovery(samples: Sequence[Sample], desired: dict[ServiceKey, int]) -> float | None:
    """When every service was back to its desired count and stayed there: the start of
    the final run of whole samples (a service that dips again later does not count as
    recovered before the dip)."""
    recovered: float | None = None
    for sample in samples:
        whole = all(sample.serving.get(key, 0) >= count for key, count in desired.items())
        if whole and recovered is None:
            recovered = sample.at
        elif not whole:
            recovered = None
    return recovered


def analyse(
    node: str,
    pods_on_node: int,
    samples: Sequence[Sample],
    desired: dict[ServiceKey, int],
    production: dict[str, bool],
    unschedulable: Sequence[str] = (),
) -> DrillReport:
    """Turn the samples of one node-failure drill into a report. Each sample's state is
    taken to hold until the next sample (the sampler's resolution)."""
    outcomes = []
    for key, count in sorted(desired.items()):
        environment, service = key
        without = below = 0.0
        lowest = count
        for current, following in pairwise(samples):
            ready = current.serving.get(key, 0)
            lowest = min(lowest, ready)
            span = following.at - current.at
            if ready == 0 and count > 0:
                without += span
            if ready < count:
                below += span
        if samples:
            lowest = min(lowest, samples[-1].serving.get(key, 0))
        outcomes.append(
            ServiceOutcome(
                environment,
                service,
                production.get(environment, False),
                count,
                lowest,
                without,
                below,
            )
        )
    detected = next((s.at for s in samples if not s.node_ready), None)
    return DrillReport(
        node=node,
        pods_on_node=pods_on_node,
        detected_after=detected,
        recovered_after=first_recovery(samples, desired),
        services=outcomes,
        unschedulable=list(unschedulable),
    )


def busiest_node(pods_per_node: dict[str, int]) -> str:
    """The node whose loss hurts most: the most fleet pods, ties broken by name."""
    if not pods_per_node:
        raise ValueError("no node runs any pod of the fleet")
    return min(pods_per_node, key=lambda node: (-pods_per_node[node], node))
