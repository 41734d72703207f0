"""Plan against the real scheduler: `campus plan`'s steady-state node counts (bin packed,
and placed as the default scheduler would) next to the count the kube-scheduler needed
(`--verify`: sandboxes of the as-scheduled count, one fewer, and on until the scheduler's
own minimum is found), for the example fleet and a 20-environment fleet.

    python bench/bench_plan.py              # prints a markdown table; progress on stderr
    python bench/bench_plan.py --no-verify  # the planning figures only
    python bench/bench_plan.py --no-verify --plugins  # the 20 environments with 7 plugins
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from campus.output.progress import LiveProgress
from campus.pipeline import deploy_requests, load
from campus.plan.model import NodeShape, Overhead
from campus.plan.planner import Cluster, plan_fleet
from campus.plan.verify import VerifyOptions, verify_plan

EXAMPLE = Path(__file__).parents[1] / "examples" / "fleet.yml"
SANDBOX = "campus-bench-plan"
# Community plugins from PyPI (the test extras), on top of the example's mfe and forum.
PLUGINS = ("minio", "notes", "xqueue", "credentials", "discovery", "indigo", "jupyter")


def fleet_of(clients: int, directory: Path, plugins: tuple[str, ...] = ()) -> Path:
    """`clients` clients with dev, test, staging and production each, shaped like the
    example's Acme University: 4 environments a client."""
    lines = [
        f"cluster: {{sandbox: {SANDBOX}}}",
        "defaults:",
        f"  plugins: [{', '.join(('mfe', 'forum', *plugins))}]",
        "  size: small",
        "  ingress: {mode: ingress, class: nginx, controller_namespace: ingress-nginx}",
        "environments:",
    ]
    for index in range(clients):
        client = f"client{index}"
        for stage in ("dev", "test"):
            lines += [f"  {client}-{stage}:", f"    hosts: {{lms: {stage}.{client}.example.org}}"]
        lines += [
            f"  {client}-staging:",
            f"    hosts: {{lms: staging.{client}.example.org}}",
            "    size: medium",
            "    production: true",
            f"  {client}-prod:",
            f"    hosts: {{lms: learn.{client}.example.org}}",
            "    size: large",
            "    production: true",
            "    autoscaling:",
            "      lms: {min: 3, max: 8}",
        ]
    path = directory / f"fleet-{clients * 4}{'-plugins' if plugins else ''}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(label: str, path: Path, cluster: Cluster, verify: bool) -> dict[str, str]:
    started = time.perf_counter()
    requests = deploy_requests(load(path))
    rendered = time.perf_counter() - started
    started = time.perf_counter()
    plan = plan_fleet([(r.environment, r.objects, r.init_jobs) for r in requests], cluster)
    planned = time.perf_counter() - started
    row = {
        "fleet": label,
        "pods": str(plan.steady.pods),
        "packed": str(plan.steady.nodes),
        "as scheduled": str(plan.scheduled.nodes),
        "scheduler needed": "-",
        "verify trials": "-",
        "rolling update": str(plan.rolling_update.nodes),
        "lost node": str(plan.node_loss.nodes),
        "HPA max": str(plan.autoscaled.nodes),
        "recommended": str(plan.recommended),
        "1 server/service": str(len(plan.servers)),
        "plan time": f"{planned:.2f} s",
        "render time": f"{rendered:.1f} s",
        "verify time": "-",
    }
    if verify:
        started = time.perf_counter()
        with LiveProgress(f"verify {label}", live=False) as progress:
            verification = verify_plan(
                requests, cluster, plan.scheduled.nodes, progress, VerifyOptions(SANDBOX)
            )
        row["scheduler needed"] = str(verification.scheduler_needed or "?")
        row["verify trials"] = ", ".join(
            f"{t.nodes}: {'fits' if t.fits else f'{len(t.pending)} Pending'}"
            for t in verification.trials
        )
        row["verify time"] = f"{time.perf_counter() - started:.0f} s"
    return row


def main() -> None:
    verify = "--no-verify" not in sys.argv[1:]
    shape = NodeShape.parse("8", "32Gi")
    cluster = Cluster(shape, Overhead.default(shape))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        fleets = (
            [("20 env, 9 plugins", fleet_of(5, Path(scratch), PLUGINS))]
            if "--plugins" in sys.argv[1:]
            else [("example (6 env)", EXAMPLE), ("20 env", fleet_of(5, Path(scratch)))]
        )
        for label, path in fleets:
            rows.append(measure(label, path, cluster, verify))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")


if __name__ == "__main__":
    main()
