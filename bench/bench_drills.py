"""Node upkeep and larger failures on the example fleet: every node rotated one at a time,
a whole zone lost at once, and the API server or the controller-manager restarted in the
middle of a deploy.

    python bench/bench_drills.py            # prints markdown tables (needs the sandbox built)
    python bench/bench_drills.py rotation   # or `zone`, `control-plane` for one part
    python bench/bench_drills.py zone zone-required zone-required-honour  # zone spread both ways

The six environments of `examples/fleet.yml` on a sandbox of 6 nodes (8 CPU, 32 GiB, two
per zone a, b, c: what `campus plan` recommends), deployed once per part. The sandbox's
timing is the drills' (12 s node grace, 10 s eviction toleration: docs/drill.md); pods
on KWOK nodes start in well under a second, so the figures measure the mechanism, not a
real node's image pulls and volume attachments.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from bench_operations import print_tables

from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions, DeployRequest
from campus.drill.control_plane import run_control_plane
from campus.drill.node_failure import run_node_failure
from campus.drill.node_rotation import run_node_rotation
from campus.fleet.load import load_fleet
from campus.fleet.model import Fleet
from campus.labels import ZONE
from campus.output.progress import QuietProgress
from campus.pipeline import deploy_requests
from campus.sandbox import cluster

EXAMPLE = Path(__file__).parents[1] / "examples" / "fleet.yml"
# The example places acme-prod on real nodes; these benches measure KWOK sandboxes.
REAL_NODES = "  real_nodes: [acme-prod]"
# Several runs at once (one per working copy) each need a sandbox of their own.
NAME = os.environ.get("CAMPUS_BENCH_SANDBOX", "campus-bench-drills")


Requests = Callable[[Fleet], list[DeployRequest]]


def zone_spread_required(
    requests: Sequence[DeployRequest], production: set[str], honour_taints: bool
) -> list[DeployRequest]:
    """The requests with the zone spread of production environments' Deployments made
    required (`DoNotSchedule`), the alternative the zone-failure drill measures; with
    `honour_taints` the lost zone's tainted nodes stop counting as a spread domain."""
    changed = []
    for request in requests:
        if request.environment not in production:
            changed.append(request)
            continue
        objects = copy.deepcopy(request.objects)
        for obj in objects:
            if obj["kind"] != "Deployment":
                continue
            for constraint in obj["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
                if constraint["topologyKey"] == ZONE:
                    constraint["whenUnsatisfiable"] = "DoNotSchedule"
                    if honour_taints:
                        constraint["nodeTaintsPolicy"] = "Honor"
        changed.append(dataclasses.replace(request, objects=objects))
    return changed


def example_fleet(directory: Path, requests: Requests = deploy_requests) -> Fleet:
    """A fresh sandbox of 6 nodes with the example fleet deployed on it."""
    cluster.down(NAME)
    cluster.up(NAME, nodes=6, node_cpu="8", node_memory="32Gi", zones=("a", "b", "c"))
    path = directory / "example.yml"
    path.write_text(
        EXAMPLE.read_text().replace(REAL_NODES, "").replace("sandbox: campus", f"sandbox: {NAME}")
    )
    fleet = load_fleet(path)
    client = cluster.client_for(NAME, timeout=30)
    results = deploy_fleet(
        client, requests(fleet), DeployOptions(phase_timeout=300), QuietProgress()
    )
    failed = [r.environment for r in results if r.outcome == "failed"]
    if failed:
        raise SystemExit(f"deploy failed for {failed}")
    return fleet


def _gaps(services: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in services) or "none"


def rotation_figures(directory: Path) -> list[tuple[str, str]]:
    fleet = example_fleet(directory)
    started = time.perf_counter()
    report = run_node_rotation(NAME, list(fleet.environments))
    elapsed = time.perf_counter() - started
    cluster.down(NAME)
    production = [
        (f"{s.environment}/{s.service}", s.seconds_without_ready)
        for s in report.services
        if s.must_stay_up and s.seconds_without_ready
    ]
    per_node = ", ".join(f"{r.old} {r.seconds:.0f} s ({r.evicted} pods)" for r in report.rotated)
    return [
        (
            "nodes rotated (add, cordon, drain, whole again, delete)",
            f"{sum(r.deleted for r in report.rotated)} of {len(report.planned)}",
        ),
        ("total time, whole fleet", f"{elapsed:.0f} s"),
        ("per node", per_node),
        ("production stateless services: seconds without a ready replica", _gaps(production)),
        (
            "data-service downtime per environment (any data service at 0 ready)",
            ", ".join(f"{e} {v:.0f} s" for e, v in report.data_downtime.items()) or "none",
        ),
        ("evictions held back by a PodDisruptionBudget (retried)", str(report.blocked_evictions)),
        ("budgets blocking forever", str(len(report.stuck))),
        ("verdict", "passed" if report.passed else "FAILED"),
    ]


def zone_figures(
    directory: Path, required: bool = False, honour_taints: bool = False
) -> list[tuple[str, str]]:
    def requests(fleet: Fleet) -> list[DeployRequest]:
        built = deploy_requests(fleet)
        if not required:
            return built
        production = {e.name for e in fleet.environments if e.production}
        return zone_spread_required(built, production, honour_taints)

    fleet = example_fleet(directory, requests)
    report = run_node_failure(NAME, list(fleet.environments), zone="a")
    cluster.down(NAME)
    production = [
        (f"{s.environment}/{s.service}", s.seconds_without_ready)
        for s in report.services
        if s.must_stay_up and s.seconds_without_ready
    ]
    others = [
        (f"{s.environment}/{s.service}", s.seconds_without_ready)
        for s in report.outages
        if not s.must_stay_up
    ]
    detected = "never" if report.detected_after is None else f"{report.detected_after:.0f} s"
    recovered = "never" if report.recovered_after is None else f"{report.recovered_after:.0f} s"
    return [
        ("zone a lost", f"{', '.join(report.nodes)} ({report.pods_on_node} fleet pods)"),
        ("marked NotReady after", detected),
        ("fleet whole again after", recovered),
        ("production stateless services: seconds without a ready replica", _gaps(production)),
        ("other services without a ready replica", _gaps(others)),
        (
            "pods left unschedulable",
            f"{len(report.unschedulable)}"
            + (f": {'; '.join(report.unschedulable[:3])}" if report.unschedulable else ""),
        ),
        ("verdict", "passed" if report.passed else "FAILED"),
    ]


def control_plane_figures(directory: Path) -> list[tuple[str, str]]:
    fleet = example_fleet(directory)
    rows = []
    for component in ("kube-apiserver", "kube-controller-manager"):
        report = run_control_plane(
            NAME, deploy_requests(fleet), component, delay=5, environments=fleet.environments
        )
        failed = [f"{d.environment}: {d.message}" for d in report.during if d.outcome == "failed"]
        rows += [
            (
                f"{component} restarted {report.restarted_after:.0f} s into a deploy rolling "
                "every application",
                f"back after {report.back_after:.1f} s",
            ),
            (
                "  the interrupted deploy",
                f"{sum(d.outcome != 'failed' for d in report.during)} of {len(report.during)} "
                f"environments completed; failed: {'; '.join(failed) or 'none'}",
            ),
            (
                "  restart to the interrupted deploy completed",
                "failed"
                if report.interrupted_completed_after is None
                else f"{report.interrupted_completed_after:.0f} s",
            ),
            (
                "  restart to the next deploy completed (it starts after the sandbox's 90 s "
                "watch over the other components)",
                f"{report.completed_after:.0f} s",
            ),
            (
                "  objects left to change after it",
                str(sum(report.left_over.values())),
            ),
        ]
    cluster.down(NAME)
    return rows


PARTS = {
    "rotation": ("node rotation, 6 nodes", rotation_figures),
    "zone": ("zone failure, zone a of 3 (zone spread ScheduleAnyway)", zone_figures),
    "zone-required": (
        "zone failure, zone a of 3, production zone spread DoNotSchedule",
        partial(zone_figures, required=True),
    ),
    "zone-required-honour": (
        "zone failure, zone a of 3, production zone spread DoNotSchedule, nodeTaintsPolicy Honor",
        partial(zone_figures, required=True, honour_taints=True),
    ),
    "control-plane": ("control-plane restart in the middle of a deploy", control_plane_figures),
}


def main() -> None:
    wanted = sys.argv[1:] or list(PARTS)  # e.g. `bench_drills.py zone`
    with tempfile.TemporaryDirectory() as scratch:
        print_tables(
            [
                (title, figures(Path(scratch)))
                for part, (title, figures) in PARTS.items()
                if part in wanted
            ]
        )


if __name__ == "__main__":
    main()
