"""Hostile fleet files and huge replica counts: how long campus takes to refuse them, and
how plan time grows with the number of pods.

    python bench/bench_hostile.py          # prints markdown tables
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from campus.fleet.errors import FleetFileError
from campus.fleet.load import MAX_BYTES, load_fleet
from campus.plan.model import NodeShape, Overhead
from campus.plan.planner import Cluster, PlanError, plan_fleet

BASE = "environments:\n  acme-dev:\n    hosts: {lms: learn.acme.example.org}\n"


def alias_bomb(levels: int) -> str:
    lines = [BASE + "    tutor:", "      L0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"      L{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, bytes] = {
    "alias bomb, 9 levels of 10 (10^9 values expanded)": alias_bomb(9).encode(),
    "flow nesting 100,000 deep": (
        BASE + "    tutor: {X: " + "[" * 100_000 + "]" * 100_000 + "}\n"
    ).encode(),
    "block nesting 500 deep": (
        BASE + "    tutor:\n" + "".join(" " * (6 + i) + f"k{i}:\n" for i in range(500))
    ).encode(),
    "512 KiB of keys under tutor": (
        BASE + "    tutor:\n" + "".join(f"      K{i}: v\n" for i in range(MAX_BYTES // 12))
    ).encode()[:MAX_BYTES],
    "20,000 settings under tutor (accepted: the cost of a large valid file)": (
        BASE + "    tutor:\n" + "".join(f"      K{i}: v\n" for i in range(20_000))
    ).encode(),
    "10 MB of random bytes": bytes(range(256)) * 40_000,
}


def refuse(data: bytes) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.yml"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            load_fleet(path)
            outcome = "loaded"
        except FleetFileError as error:
            outcome = str(error).splitlines()[0].split(": ", 1)[1][:70]
        return time.perf_counter() - started, outcome


def deployment(name: str, replicas: int, cpu: str, memory: str) -> dict[str, Any]:
    container = {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def plan_time(lms: int) -> tuple[int, float, str]:
    shape = NodeShape.parse("8", "32Gi")
    objects = [
        deployment("lms", lms, "100m", "256Mi"),
        deployment("cms", lms // 2, "200m", "512Mi"),
    ]
    started = time.perf_counter()
    try:
        plan = plan_fleet([("acme", objects, [])], Cluster(shape, Overhead.default(shape)))
        outcome = f"{plan.steady.nodes} nodes"
    except PlanError as error:
        outcome = str(error)[:60]
    return lms + lms // 2, time.perf_counter() - started, outcome


def main() -> None:
    print("| hostile file | refused in | first line of the message |\n|---|---|---|")
    for label, data in HOSTILE.items():
        seconds, outcome = refuse(data)
        print(f"| {label} | {seconds:.2f} s | {outcome} |", flush=True)
    print("\n| pods (steady) | plan time | result |\n|---|---|---|")
    for lms in (100, 1000, 2000, 2**31 - 1):
        print(f"  planning lms={lms}", file=sys.stderr, flush=True)
        pods, seconds, outcome = plan_time(lms)
        print(f"| {pods} | {seconds:.2f} s | {outcome} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
