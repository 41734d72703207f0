"""CPU, memory and pod slots: what a pod asks the scheduler for and what a node offers.
Pure.

Whole numbers only (millicores, bytes, pods), rounded up from the quantities as the
scheduler rounds them, so sums are exact and comparisons deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campus.fleet.quantity import parse_cpu, parse_memory

GIB = 1024**3
MIB = 1024**2


def millicores(value: str | int | float) -> int:
    """A CPU quantity in whole millicores, rounded up as the scheduler does."""
    return math.ceil(parse_cpu(value) * 1000)


def memory_bytes(value: str | int | float) -> int:
    return math.ceil(parse_memory(value))


@dataclass(frozen=True, order=True)
class Resources:
    """CPU (millicores), memory (bytes) and pod slots: the three things a node runs out of."""

    cpu: int = 0
    memory: int = 0
    pods: int = 0

    @staticmethod
    def of(quantities: Mapping[str, Any]) -> Resources:
        """CPU and memory of a `requests`, `overhead` or `allocatable` map; absent is 0."""
        return Resources(
            millicores(quantities.get("cpu", 0)), memory_bytes(quantities.get("memory", 0))
        )

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)

    def times(self, count: int) -> Resources:
        return Resources(self.cpu * count, self.memory * count, self.pods * count)

    def without_pods(self) -> Resources:
        """CPU and memory alone, for where pod slots are not counted."""
        return Resources(self.cpu, self.memory)

    def fits_in(self, room: Resources) -> bool:
        return self.cpu <= room.cpu and self.memory <= room.memory and self.pods <= room.pods

    def exceeds(self, other: Resources) -> bool:
        """More of any one of the three."""
        return not self.fits_in(other)

    def share_of(self, whole: Resources) -> float:
        """The dominant share: the largest fraction of `whole` this takes, CPU or memory."""
        return max(
            self.cpu / whole.cpu if whole.cpu else 0.0,
            self.memory / whole.memory if whole.memory else 0.0,
        )

    def __str__(self) -> str:
        cores = (Decimal(self.cpu) / 1000).normalize()
        return f"{cores:f} CPU, {self.memory / GIB:.1f} GiB"


def total(amounts: Iterable[Resources]) -> Resources:
    return sum(amounts, Resources())


def pod_request(pod_spec: Mapping[str, Any]) -> Resources:
    """The scheduler's view of one pod (one pod slot): the larger of its containers together
    and its biggest init container (those run one at a time, before the others), plus the
    runtime overhead its RuntimeClass declares."""
    running = total(
        Resources.of((c.get("resources") or {}).get("requests") or {})
        for c in pod_spec.get("containers") or []
    )
    for container in pod_spec.get("initContainers") or []:
        init = Resources.of((container.get("resources") or {}).get("requests") or {})
        running = Resources(max(running.cpu, init.cpu), max(running.memory, init.memory))
    return running + Resources.of(pod_spec.get("overhead") or {}) + Resources(pods=1)
