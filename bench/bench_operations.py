"""Day-to-day fleet operations: `campus status` latency for 20 environments beside what an
operator runs without campus, and the node-failure drill on the example fleet.

    python bench/bench_operations.py        # prints markdown tables (needs the sandbox built)

Status: campus reads every environment in parallel (Deployments, Pods, HPAs, Jobs and the
revision Secret per namespace). The alternatives, run against the same sandbox in the same
run: Tutor's `tutor k8s status` is `kubectl get all` in one namespace, so a fleet needs one
per environment (timed here as the kubectl calls alone, without Tutor's own start-up, which
favours Tutor); and one `kubectl get pods -A -o wide`, which shows pods but no health,
autoscaling or revision.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions
from campus.drill.node_failure import run_node_failure
from campus.fleet.load import load_fleet
from campus.output.progress import QuietProgress
from campus.pipeline import deploy_requests
from campus.sandbox import cluster
from campus.sandbox.build import ensure_binaries
from campus.status.collect import fleet_status

EXAMPLE = Path(__file__).parents[1] / "examples" / "fleet.yml"
# The example places acme-prod on real nodes; these benches measure KWOK sandboxes.
REAL_NODES = "  real_nodes: [acme-prod]"
CAMPUS = str(Path(sys.executable).with_name("campus"))
NAME = "campus-bench-ops"


def fleet_of(count: int, directory: Path) -> Path:
    """`count` small environments, one in four production-like, on the bench sandbox."""
    lines = [f"cluster: {{sandbox: {NAME}}}", "defaults:", "  plugins: [mfe]", "environments:"]
    for index in range(count):
        lines += [f"  client{index}:", f"    hosts: {{lms: learn.client{index}.example.org}}"]
        if index % 4 == 0:
            lines += ["    production: true"]
    path = directory / f"fleet-{count}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def median_wall_and_cpu(action: Callable[[], object], runs: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds (user + sys of this process and of the children it
    waited for, so a command run through subprocess counts too)."""
    walls, cpus = [], []
    for _ in range(runs):
        before, started = os.times(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
        cpus.append(sum(os.times()[:4]) - sum(before[:4]))
    return statistics.median(walls), statistics.median(cpus)


def median_seconds(action: Callable[[], object], runs: int = 5) -> float:
    return median_wall_and_cpu(action, runs)[0]


def status_figures(directory: Path) -> list[tuple[str, str]]:
    kubectl = str(ensure_binaries().path("kubectl"))
    cluster.down(NAME)
    info = cluster.up(NAME, nodes=8, node_cpu="8", node_memory="32Gi")
    path = fleet_of(20, directory)
    fleet = load_fleet(path)
    client = cluster.client_for(NAME, timeout=30)
    started = time.perf_counter()
    results = deploy_fleet(
        client, deploy_requests(fleet), DeployOptions(phase_timeout=300), QuietProgress()
    )
    deployed = time.perf_counter() - started
    failed = [r.environment for r in results if r.outcome == "failed"]
    if failed:
        raise SystemExit(f"deploy failed for {failed}")
    environments = list(fleet.environments)
    pods = sum(len(s.pods) for s in fleet_status(client, environments))
    env = {**os.environ, "KUBECONFIG": str(info.kubeconfig)}

    def kubectl_per_namespace() -> None:
        for environment in environments:
            subprocess.run(
                [kubectl, "get", "all", "-n", environment.namespace],
                env=env,
                check=True,
                capture_output=True,
            )

    def campus_cli() -> None:
        subprocess.run([CAMPUS, "status", "-f", str(path)], check=True, capture_output=True)

    in_process = median_seconds(lambda: fleet_status(client, environments))
    cli = median_seconds(campus_cli, runs=3)
    tutor_way = median_seconds(kubectl_per_namespace, runs=3)
    one_call = median_seconds(
        lambda: subprocess.run(
            [kubectl, "get", "pods", "-A", "-o", "wide"], env=env, check=True, capture_output=True
        ),
        runs=3,
    )
    cluster.down(NAME)
    return [
        ("deploy 20 environments from scratch (parallel 4)", f"{deployed:.1f} s"),
        ("pods in the fleet", str(pods)),
        ("`campus status`, in process (collect only), median of 5", f"{in_process:.2f} s"),
        ("`campus status -f fleet.yml` command, median of 3", f"{cli:.2f} s"),
        (
            "`kubectl get all -n NS` for each of 20 namespaces (Tutor's status), median of 3",
            f"{tutor_way:.2f} s ({tutor_way / cli:.1f}x the campus command)",
        ),
        ("one `kubectl get pods -A -o wide` (pods only), median of 3", f"{one_call:.2f} s"),
    ]


def drill_figures(directory: Path, nodes: int, runs: int) -> list[tuple[str, str]]:
    """The example fleet on `nodes` nodes of 8 CPU, 32 GiB (the demo runs 6: what
    `campus plan` recommends; 4 is below its lost-node count)."""
    cluster.down(NAME)
    cluster.up(NAME, nodes=nodes, node_cpu="8", node_memory="32Gi")
    path = directory / "example.yml"
    path.write_text(
        EXAMPLE.read_text().replace(REAL_NODES, "").replace("sandbox: campus", f"sandbox: {NAME}")
    )
    fleet = load_fleet(path)
    client = cluster.client_for(NAME, timeout=30)
    deploy_fleet(client, deploy_requests(fleet), DeployOptions(phase_timeout=300), QuietProgress())
    rows = []
    for run in range(1, runs + 1):
        report = run_node_failure(NAME, list(fleet.environments))
        production_gap = sum(s.seconds_without_ready for s in report.services if s.must_stay_up)
        down = ", ".join(
            f"{s.environment}/{s.service} {s.seconds_without_ready:.0f}s" for s in report.outages
        )
        stuck = f"; {len(report.unschedulable)} pods unschedulable" if report.unschedulable else ""
        rows.append(
            (
                f"{nodes} nodes, run {run}: {report.node} ({report.pods_on_node} pods)",
                f"NotReady {report.detected_after:.0f} s, whole again "
                f"{_seconds(report.recovered_after)}, production stateless services "
                f"without a ready replica {production_gap:.0f} s; "
                f"other services without a ready replica (data services, single replicas): "
                f"{down or 'none'}; "
                f"{'passed' if report.passed else 'FAILED'}{stuck}",
            )
        )
    cluster.down(NAME)
    return rows


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def main() -> None:
    parts = sys.argv[1:] or ["status", "drill"]  # e.g. `bench_operations.py status`
    tables = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        if "status" in parts:
            tables.append(("status, 20 environments", status_figures(directory)))
        if "drill" in parts:
            drills = drill_figures(directory, nodes=6, runs=3)
            tables.append(("node-failure drill", drills + drill_figures(directory, 4, 1)))
    print_tables(tables)


def print_tables(tables: list[tuple[str, list[tuple[str, str]]]]) -> None:
    """Each table as markdown, under its title, for bench/README.md."""
    for title, rows in tables:
        print(f"\n{title}\n\n| figure | value |\n|---|---|")
        for figure, value in rows:
            print(f"| {figure} | {value} |")


if __name__ == "__main__":
    main()
