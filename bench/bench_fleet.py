"""A fleet of 100 environments on one sandbox: 25 clients, each with dev, test, staging and
prod (`plugins: [mfe]`, staging and prod production). `campus plan` cold (Tutor state
generated) and unchanged, then a sandbox of the recommended size, a deploy from scratch
and an unchanged one (time and API requests, per environment too), then the fleet's status;
so that the growth of each cost with fleet size is visible next to bench_deploy.py's six.

    python bench/bench_fleet.py            # prints markdown tables (about 15 minutes)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_deploy import AuditLog, Run, campus_deploy
from bench_operations import median_wall_and_cpu

from campus.pipeline import load
from campus.sandbox import cluster
from campus.status.collect import fleet_status

NAME = "campus-bench-fleet"
CAMPUS = str(Path(sys.executable).with_name("campus"))
CLIENTS = 25
STAGES = ("dev", "test", "staging", "prod")


def fleet_file(directory: Path) -> Path:
    lines = [f"cluster: {{sandbox: {NAME}}}", "defaults:", "  plugins: [mfe]", "environments:"]
    for client in range(CLIENTS):
        for stage in STAGES:
            host = f"learn.{stage}.c{client}.example.org"
            lines += [f"  c{client}-{stage}:", f"    hosts: {{lms: {host}}}"]
            if stage in ("staging", "prod"):
                lines += ["    production: true"]
    path = directory / "fleet.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed_plan(path: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    completed = subprocess.run(
        [CAMPUS, "plan", "-f", str(path), "-o", "json"], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"campus plan failed:\n{completed.stderr[-2000:]}")
    document: dict[str, object] = json.loads(completed.stdout)
    return seconds, document


def seconds(wall: float, cpu: float) -> str:
    return f"{wall:.2f} s (CPU {cpu:.2f} s)"


def row(label: str, run: Run, environments: int) -> str:
    requests = run.count()
    render = run.per_step["render and harden"]
    return (
        f"| {label} | {run.seconds:.1f} s (render {render:.1f} s) | {requests} "
        f"| {run.seconds / environments:.2f} s | {requests / environments:.1f} "
        f"| {run.verbs()} | {len(run.failures)} |"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = fleet_file(Path(scratch))
        environments = list(load(path).environments)
        cold_plan, plan = timed_plan(path)
        warm_plan, plan = timed_plan(path)
        recommended = plan["recommended"]
        assert isinstance(recommended, dict)
        nodes = int(recommended["nodes"])
        addresses = plan["serviceAddresses"]
        assert isinstance(addresses, dict)
        cluster.down(NAME)
        info = cluster.up(NAME, nodes=nodes, node_cpu="8", node_memory="32Gi", audit=True)
        assert info.audit_log is not None
        try:
            audit = AuditLog(info.audit_log)
            scratch_run = campus_deploy(path, audit)
            again = campus_deploy(path, audit)
            client = cluster.client_for(NAME, timeout=30)
            pods = sum(len(s.pods) for s in fleet_status(client, environments))
            in_process = median_wall_and_cpu(lambda: fleet_status(client, environments))
            command = median_wall_and_cpu(
                lambda: subprocess.run(
                    [CAMPUS, "status", "-f", str(path)], capture_output=True, check=True
                )
            )
        finally:
            cluster.down(NAME)
    count = len(environments)
    print(f"| figure | {count} environments |\n|---|---|")
    print(f"| nodes (`campus plan`'s recommendation) | {nodes} |")
    print(f"| Service addresses | {addresses['needed']} (sandbox range {info.service_range}) |")
    print(f"| pods after the deploy | {pods} |")
    print(f"| `campus plan`, cold (Tutor state generated) | {cold_plan:.1f} s |")
    print(f"| `campus plan`, unchanged | {warm_plan:.1f} s |")
    print(f"| `campus status`, in process, median of 5 | {seconds(*in_process)} |")
    print(f"| `campus status -f fleet.yml` command, median of 5 | {seconds(*command)} |")
    print()
    print(
        "| deploy | wall | requests | per environment | requests per environment | verbs |", end=""
    )
    print(" failed |\n|---|---|---|---|---|---|---|")
    print(row("from scratch", scratch_run, count))
    print(row("unchanged", again, count))
    for failure in scratch_run.failures + again.failures:
        print(f"failed: {failure}")


if __name__ == "__main__":
    main()
