"""The node-rotation drill's report: what each node's replacement cost the fleet. Pure.

A rotation is planned upkeep (an OS upgrade, a node group's new image): a replacement
node first, then the old one cordoned and drained through the Eviction API, then deleted
once every evicted pod runs Ready elsewhere. It passes when every node was rotated, no
production stateless service was ever without a ready replica, and nothing was left
unschedulable. Data services run as one replica on a ReadWriteOnce volume, so their move
costs each environment some seconds: measured and reported, not failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campus.drill.availability import (
    Moment,
    Sample,
    ServiceKey,
    ServiceOutcome,
    Timeline,
    Verdicts,
    data_downtime,
    recovery_timeline,
    service_outcomes,
)
from campus.drill.drain_plan import StuckBudget
from campus.services import Facts


@dataclass(frozen=True)
class RotatedNode:
    old: str
    replacement: str
    evicted: int
    seconds: float  # from adding the replacement to deleting the old node
    deleted: bool  # the old node was drained completely and deleted


@dataclass(frozen=True)
class RotationReport(Verdicts):
    planned: list[str]
    rotated: list[RotatedNode]
    seconds: float  # the whole drill, to the fleet whole again
    recovered_after: float | None
    services: list[ServiceOutcome]
    data_downtime: dict[str, float]  # environment: seconds with a data service down
    blocked_evictions: int  # evictions a PodDisruptionBudget refused (and were retried)
    stuck: list[StuckBudget] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    unschedulable: list[str] = field(default_factory=list)
    timeline: Timeline | None = field(default=None, compare=False)

    @property
    def completed(self) -> bool:
        done = {r.old for r in self.rotated if r.deleted}
        return all(node in done for node in self.planned)

    @property
    def passed(self) -> bool:
        return (
            self.completed
            and self.recovered_after is not None
            and not self.broken_promises
            and not self.unschedulable
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned": list(self.planned),
            "rotated": [
                {
                    "node": r.old,
                    "replacement": r.replacement,
                    "evicted": r.evicted,
                    "seconds": round(r.seconds, 1),
                    "deleted": r.deleted,
                }
                for r in self.rotated
            ],
            "seconds": round(self.seconds, 1),
            "recoveredAfterSeconds": (
                None if self.recovered_after is None else round(self.recovered_after, 1)
            ),
            "passed": self.passed,
            "completed": self.completed,
            "productionSecondsWithoutReady": {
                f"{s.environment}/{s.service}": round(s.seconds_without_ready, 1)
                for s in self.services
                if s.must_stay_up
            },
            "dataDowntimeSeconds": {e: round(v, 1) for e, v in self.data_downtime.items()},
            "blockedEvictions": self.blocked_evictions,
            "stuckBudgets": [
                {
                    "namespace": s.namespace,
                    "budget": s.budget,
                    "service": s.service,
                    "reason": s.reason,
                    "fix": s.fix,
                }
                for s in self.stuck
            ],
            "refusals": list(self.refusals),
            "services": [s.to_dict() for s in self.services],
            "unschedulable": list(self.unschedulable),
        }


def analyse_rotation(
    planned: Sequence[str],
    rotated: Sequence[RotatedNode],
    samples: Sequence[Sample],
    desired: dict[ServiceKey, int],
    production: dict[str, bool],
    moments: Sequence[Moment],
    blocked_evictions: int = 0,
    stuck: Sequence[StuckBudget] = (),
    refusals: Sequence[str] = (),
    unschedulable: Sequence[str] = (),
    facts: Mapping[ServiceKey, Facts] | None = None,
) -> RotationReport:
    recovered, timeline = recovery_timeline(samples, desired, production, moments, facts)
    return RotationReport(
        planned=list(planned),
        rotated=list(rotated),
        seconds=samples[-1].at if samples else 0.0,
        recovered_after=recovered,
        services=service_outcomes(samples, desired, production, facts),
        data_downtime=data_downtime(samples, desired, facts),
        blocked_evictions=blocked_evictions,
        stuck=list(stuck),
        refusals=list(refusals),
        unschedulable=list(unschedulable),
        timeline=timeline,
    )
