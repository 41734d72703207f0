"""What a drill's samples say about availability: for each service, how long it had no
ready replica, how long it ran below its desired count, how long each environment's data
services were down, and when the fleet was whole again. Pure: samples in, report out.
Every drill's analysis is built from these; `analyse` makes the node-failure report.

A pod on the failed node stops serving the moment its machine dies, long before the node
controller notices and marks it not ready; the sampler therefore counts only ready pods on
nodes that are still alive, so the gaps measured here are the ones users would see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from campus.drill.services import ServiceKey, facts_for, must_stay_up
from campus.services import Facts

__all__ = ["ServiceKey"]


@dataclass(frozen=True)
class Sample:
    """One look at the fleet, `at` seconds after the drill acted."""

    at: float
    serving: dict[ServiceKey, int]  # ready replicas on live nodes
    # What the API server says of the failed nodes: all still Ready (the failure not yet
    # noticed). A planned action (a drain) is known from its start: False.
    node_ready: bool = False


@dataclass(frozen=True)
class Moment:
    """Something that happened during a drill, `at` seconds after it acted."""

    at: float
    label: str


@dataclass(frozen=True)
class Timeline:
    """Everything a picture of the drill needs: the samples, each service's desired
    count, which environments are production, and the moments to mark."""

    samples: list[Sample]
    desired: dict[ServiceKey, int]
    production: dict[str, bool]
    moments: list[Moment] = field(default_factory=list)
    facts: dict[ServiceKey, Facts] = field(default_factory=dict)

    def must_stay_up(self, key: ServiceKey) -> bool:
        return must_stay_up(self.production.get(key[0], False), facts_for(key, self.facts))


@dataclass(frozen=True)
class ServiceOutcome:
    environment: str
    service: str
    production: bool
    desired: int
    lowest: int  # fewest ready replicas seen
    seconds_without_ready: float
    seconds_below_desired: float
    # The service catalogue's kind, as its workload carries it, and whether it is a
    # production stateless service: one a lost node must not take down.
    kind: str = ""
    must_stay_up: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "service": self.service,
            "production": self.production,
            "kind": self.kind,
            "mustStayUp": self.must_stay_up,
            "desired": self.desired,
            "lowestReady": self.lowest,
            "secondsWithoutReady": round(self.seconds_without_ready, 1),
            "secondsBelowDesired": round(self.seconds_below_desired, 1),
        }


class Verdicts:
    """What a report says of its services: which lost every ready replica at some point,
    and which of those broke the promise (a production stateless service)."""

    services: list[ServiceOutcome]

    @property
    def outages(self) -> list[ServiceOutcome]:
        return [s for s in self.services if s.seconds_without_ready > 0]

    @property
    def broken_promises(self) -> list[ServiceOutcome]:
        """Production stateless services that had no ready replica at some point."""
        return [s for s in self.outages if s.must_stay_up]


@dataclass(frozen=True)
class DrillReport(Verdicts):
    node: str
    pods_on_node: int
    detected_after: float | None  # NotReady reported by the API server
    recovered_after: float | None  # every service back to its desired count
    services: list[ServiceOutcome]
    unschedulable: list[str] = field(default_factory=list)
    timeline: Timeline | None = field(default=None, compare=False)
    zone: str | None = None  # a zone failure: every node of it failed at once
    nodes: list[str] = field(default_factory=list)  # the failed nodes, when several

    @property
    def passed(self) -> bool:
        return (
            self.recovered_after is not None and not self.broken_promises and not self.unschedulable
        )

    def to_dict(self) -> dict[str, Any]:
        zone = {} if self.zone is None else {"zone": self.zone, "nodes": list(self.nodes)}
        return {
            **zone,
            "node": self.node,
            "podsOnNode": self.pods_on_node,
            "detectedAfterSeconds": _rounded(self.detected_after),
            "recoveredAfterSeconds": _rounded(self.recovered_after),
            "passed": self.passed,
            "services": [s.to_dict() for s in self.services],
            "unschedulable": list(self.unschedulable),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def first_recovery(samples: Sequence[Sample], desired: Mapping[ServiceKey, int]) -> float | None:
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


def service_outcomes(
    samples: Sequence[Sample],
    desired: dict[ServiceKey, int],
    production: dict[str, bool],
    facts: Mapping[ServiceKey, Facts] | None = None,
) -> list[ServiceOutcome]:
    """Each service's lowest count, seconds without a ready replica and seconds below its
    desired count. Each sample's state is taken to hold until the next sample (the
    sampler's resolution). `facts` are what each service's workload says it is."""
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
        what = facts_for(key, facts)
        in_production = production.get(environment, False)
        outcomes.append(
            ServiceOutcome(
                environment,
                service,
                in_production,
                count,
                lowest,
                without,
                below,
                what.kind.value,
                must_stay_up(in_production, what),
            )
        )
    return outcomes


def data_downtime(
    samples: Sequence[Sample],
    desired: dict[ServiceKey, int],
    facts: Mapping[ServiceKey, Facts] | None = None,
) -> dict[str, float]:
    """Per environment, the seconds during which any of its data services (MySQL,
    MongoDB, Redis...) had no ready replica: the environment cannot serve then, whichever
    one is down. Environments that lost none are left out."""
    downtime: dict[str, float] = {}
    for current, following in pairwise(samples):
        down = {
            environment
            for (environment, service), count in desired.items()
            if count > 0
            and facts_for((environment, service), facts).data
            and not current.serving.get((environment, service), 0)
        }
        for environment in down:
            downtime[environment] = downtime.get(environment, 0.0) + following.at - current.at
    return dict(sorted(downtime.items()))


def recovery_timeline(
    samples: Sequence[Sample],
    desired: Mapping[ServiceKey, int],
    production: Mapping[str, bool],
    moments: Sequence[Moment],
    facts: Mapping[ServiceKey, Facts] | None,
) -> tuple[float | None, Timeline]:
    """When every service was whole again after the drill began (None if never), and the
    timeline to draw, that moment marked among the drill's own."""
    recovered = first_recovery(samples, desired)
    marks = [*moments]
    if recovered is not None:
        marks.append(Moment(recovered, "whole again"))
    timeline = Timeline(
        list(samples),
        dict(desired),
        dict(production),
        sorted(marks, key=lambda m: m.at),
        dict(facts or {}),
    )
    return recovered, timeline


def analyse(
    node: str,
    pods_on_node: int,
    samples: Sequence[Sample],
    desired: dict[ServiceKey, int],
    production: dict[str, bool],
    unschedulable: Sequence[str] = (),
    moments: Sequence[Moment] = (),
    facts: Mapping[ServiceKey, Facts] | None = None,
) -> DrillReport:
    """Turn the samples of one node-failure drill into a report."""
    detected = next((s.at for s in samples if not s.node_ready), None)
    marks = [*moments, *([Moment(detected, "NotReady")] if detected is not None else [])]
    recovered, timeline = recovery_timeline(samples, desired, production, marks, facts)
    return DrillReport(
        node=node,
        pods_on_node=pods_on_node,
        detected_after=detected,
        recovered_after=recovered,
        services=service_outcomes(samples, desired, production, facts),
        unschedulable=list(unschedulable),
        timeline=timeline,
    )


def busiest_node(pods_per_node: dict[str, int]) -> str:
    """The node whose loss hurts most: the most fleet pods, ties broken by name."""
    if not pods_per_node:
        raise ValueError("no node runs any pod of the fleet")
    return min(pods_per_node, key=lambda node: (-pods_per_node[node], node))
