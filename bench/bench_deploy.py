"""Deploy: campus against Tutor's own path (`tutor k8s start` + `tutor k8s init`, one
environment after the other, as an operator runs it) for the same environments, in the
same run, on one sandbox whose API server keeps an audit log. Wall time, and API requests
counted on the server side, so that both tools are measured the same way.

    python bench/bench_deploy.py            # prints markdown tables (about 15 minutes)

Each tool deploys the example fleet (examples/fleet.yml) into namespaces of its own: campus
into the fleet's, Tutor into `tutor-<environment>`, from a TUTOR_ROOT per environment
configured as campus renders it (same plugins, same hosts and settings). Then each deploys
again with nothing changed. Requests are distinct audit IDs, a watch counting as one;
campus's client (lightkube) sends `python-httpx2/...`, Tutor runs `kubectl` and the
official Python client (`OpenAPI-Generator/...`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions, DeployResult
from campus.fleet.model import Environment
from campus.output.progress import QuietProgress
from campus.pipeline import connect_fleet, deploy_requests, load
from campus.render.tutor import tutor_settings
from campus.sandbox import cluster
from campus.sandbox.build import ensure_binaries

NAME = "campus-bench-deploy"
EXAMPLE = Path(__file__).parents[1] / "examples" / "fleet.yml"
# The example places acme-prod on real nodes; these benches measure KWOK sandboxes.
REAL_NODES = "  real_nodes: [acme-prod]"
TUTOR = str(Path(sys.executable).with_name("tutor"))
CLIENTS = {"python-httpx2/": "campus", "kubectl/": "tutor", "OpenAPI-Generator/": "tutor"}


class AuditLog:
    """Requests the API server logged, by client, between two marks."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> tuple[int, str]:
        """Where the log ends now, and the time (in the log's own format)."""
        time.sleep(1)  # the last events of what just finished reach the file
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return self.path.stat().st_size, now

    def requests(self, start: tuple[int, str], end: tuple[int, str]) -> list[dict[str, object]]:
        """The requests of the tools measured here received between the two marks, one
        event each. A watch opened before `start` and ending after it is not counted here:
        its ResponseComplete lands in this part of the log, but it was received earlier."""
        with self.path.open("rb") as stream:
            stream.seek(start[0])
            lines = stream.read(end[0] - start[0]).splitlines()
        events: dict[str, dict[str, object]] = {}
        for line in lines:
            if not any(prefix.encode() in line for prefix in CLIENTS):
                continue  # the control plane's own components: most of the log
            event = json.loads(line)
            agent = str(event.get("userAgent", ""))
            tool = next((t for prefix, t in CLIENTS.items() if agent.startswith(prefix)), None)
            if tool is not None and start[1] <= event["requestReceivedTimestamp"] <= end[1]:
                events[event["auditID"]] = {**event, "tool": tool}
        return list(events.values())


def namespace_of(event: dict[str, object]) -> str:
    ref = event.get("objectRef")
    if not isinstance(ref, dict):
        return ""  # discovery (/api, /apis), /version
    if ref.get("resource") == "namespaces":
        return str(ref.get("name", ""))
    return str(ref.get("namespace", ""))


@dataclass
class Run:
    """One tool deploying every environment once."""

    tool: str
    seconds: float = 0.0
    requests: list[dict[str, object]] = field(default_factory=list)
    per_environment: dict[str, float] = field(default_factory=dict)
    per_step: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def count(self, namespace: str | None = None) -> int:
        return sum(
            1
            for event in self.requests
            if event["tool"] == self.tool
            and (namespace is None or namespace_of(event) == namespace)
        )

    def verbs(self) -> str:
        counts = Counter(str(e["verb"]) for e in self.requests if e["tool"] == self.tool)
        return ", ".join(f"{verb} {count}" for verb, count in counts.most_common())


def campus_deploy(fleet_file: Path, audit: AuditLog) -> Run:
    """What `campus deploy -f fleet.yml` does: connect, render and harden every environment,
    deploy them concurrently."""
    run = Run("campus")
    start = audit.mark()
    started = time.perf_counter()
    fleet, client = connect_fleet(fleet_file, None)
    requests = deploy_requests(fleet)
    rendered = time.perf_counter()
    results: list[DeployResult] = deploy_fleet(
        client, requests, DeployOptions(phase_timeout=600), QuietProgress()
    )
    run.seconds = time.perf_counter() - started
    run.per_step["render and harden"] = rendered - started
    run.per_step["deploy"] = run.seconds - run.per_step["render and harden"]
    run.requests = audit.requests(start, audit.mark())
    for result in results:
        run.per_environment[result.environment] = result.seconds
        if result.outcome == "failed":
            run.failures.append(f"{result.environment}: {result.message}")
    print(f"campus: {[r.outcome for r in results]}", file=sys.stderr)
    return run


def tutor(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TUTOR, "--root", str(root), *args], env=environ, capture_output=True, text=True
    )


def tutor_configure(environment: Environment, root: Path, environ: dict[str, str]) -> float:
    """A TUTOR_ROOT configured like campus renders the environment, in a namespace of its
    own; returns the time of `tutor config save` (setup, outside the comparison)."""
    root.mkdir(parents=True)
    if environment.plugins:
        tutor(root, environ, "plugins", "enable", *environment.plugins).check_returncode()
    settings = {**tutor_settings(environment), "K8S_NAMESPACE": tutor_namespace(environment)}
    arguments = []
    for key, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        arguments += ["--set", f"{key}={text}"]
    started = time.perf_counter()
    tutor(root, environ, "config", "save", *arguments).check_returncode()
    return time.perf_counter() - started


def tutor_namespace(environment: Environment) -> str:
    return f"tutor-{environment.name}"


def tutor_deploy(
    environments: list[Environment], roots: Path, environ: dict[str, str], audit: AuditLog
) -> Run:
    """`tutor k8s start` then `tutor k8s init` per environment, one after the other."""
    run = Run("tutor")
    start = audit.mark()
    started = time.perf_counter()
    for environment in environments:
        root = roots / environment.name
        began = time.perf_counter()
        for command in (("k8s", "start"), ("k8s", "init")):
            step, began_step = f"tutor {' '.join(command)}", time.perf_counter()
            done = tutor(root, environ, *command)
            run.per_step[step] = run.per_step.get(step, 0.0) + time.perf_counter() - began_step
            if done.returncode != 0:
                tail = " | ".join(done.stderr.strip().splitlines()[-3:])
                run.failures.append(f"{environment.name}: tutor {' '.join(command)}: {tail}")
                break
        run.per_environment[environment.name] = time.perf_counter() - began
        print(
            f"tutor {environment.name}: {run.per_environment[environment.name]:.1f}s",
            file=sys.stderr,
        )
    run.seconds = time.perf_counter() - started
    run.requests = audit.requests(start, audit.mark())
    return run


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1f}x" if denominator else "-"


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    environments: list[Environment],
    runs: dict[str, tuple[Run, Run]],
    config_save: float,
) -> None:
    rows: list[tuple[str, ...]] = []
    for label, (campus, tutor_run) in runs.items():
        rows.append(
            (
                label,
                f"{campus.seconds:.1f} s (render {campus.per_step['render and harden']:.1f} s)",
                f"{tutor_run.seconds:.1f} s",
                ratio(tutor_run.seconds, campus.seconds),
                str(campus.count()),
                str(tutor_run.count()),
                ratio(tutor_run.count(), campus.count()),
            )
        )
    print(
        table(
            rows,
            (
                "6 environments",
                "campus deploy (wall)",
                "tutor k8s start + init (wall)",
                "time tutor/campus",
                "campus requests",
                "tutor requests",
                "requests tutor/campus",
            ),
        )
    )
    print(
        f"\n`tutor config save`, 6 environments (setup, not in the comparison): {config_save:.1f} s"
    )
    for label, (campus, tutor_run) in runs.items():
        rows.clear()
        for environment in environments:
            rows.append(
                (
                    environment.name,
                    f"{campus.per_environment.get(environment.name, 0):.1f} s",
                    str(campus.count(environment.namespace)),
                    f"{tutor_run.per_environment.get(environment.name, 0):.1f} s",
                    str(tutor_run.count(tutor_namespace(environment))),
                )
            )
        print(
            f"\n{label}, per environment (campus deploys 4 at once; its time per environment "
            "excludes rendering):\n"
        )
        print(table(rows, ("environment", "campus", "campus requests", "tutor", "tutor requests")))
        for run in (campus, tutor_run):
            steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.per_step.items())
            print(f"\n{run.tool} time by step: {steps}")
        print(f"\ncampus requests by verb: {campus.verbs()}")
        print(f"tutor requests by verb: {tutor_run.verbs()}")
        for failure in campus.failures + tutor_run.failures:
            print(f"FAILED: {failure}")


def main() -> None:
    cluster.down(NAME)
    info = cluster.up(NAME, nodes=3, node_cpu="32", node_memory="128Gi", audit=True)
    assert info.audit_log is not None
    audit = AuditLog(info.audit_log)
    kubectl = ensure_binaries().path("kubectl")
    environ = {
        **os.environ,
        "PATH": f"{kubectl.parent}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(info.kubeconfig),
    }
    try:
        with tempfile.TemporaryDirectory() as scratch:
            base = Path(scratch)
            fleet_file = base / "fleet.yml"
            fleet_file.write_text(
                EXAMPLE.read_text()
                .replace(REAL_NODES, "")
                .replace("sandbox: campus", f"sandbox: {NAME}")
            )
            environments = list(load(fleet_file).environments)
            config_save = sum(
                tutor_configure(e, base / "tutor" / e.name, environ) for e in environments
            )
            runs: dict[str, tuple[Run, Run]] = {}
            campus_scratch = campus_deploy(fleet_file, audit)
            campus_again = campus_deploy(fleet_file, audit)
            tutor_scratch = tutor_deploy(environments, base / "tutor", environ, audit)
            tutor_again = tutor_deploy(environments, base / "tutor", environ, audit)
            runs["from scratch"] = (campus_scratch, tutor_scratch)
            runs["unchanged"] = (campus_again, tutor_again)
            report(environments, runs, config_save)
    finally:
        cluster.down(NAME)


if __name__ == "__main__":
    main()
