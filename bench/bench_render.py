"""Render time: campus (Tutor render + hardening, one process per environment) against
`tutor config save` for the same environments, in the same run.

    python bench/bench_render.py            # prints a markdown table
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from campus.fleet.load import load_fleet
from campus.fleet.model import Fleet
from campus.harden import harden_all
from campus.render import render_fleet
from campus.render.tutor import tutor_settings

EXAMPLE = Path(__file__).parents[1] / "examples" / "fleet.yml"
TUTOR = str(Path(sys.executable).with_name("tutor"))


def fleet_of(count: int, directory: Path) -> Path:
    """A fleet of `count` environments shaped like the example's."""
    lines = ["defaults:", "  plugins: [mfe, forum]", "environments:"]
    for index in range(count):
        lines += [f"  client{index}-prod:", f"    hosts: {{lms: learn.client{index}.example.org}}"]
        lines += ["    production: true", "    size: medium"]
    path = directory / f"fleet-{count}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def campus_render(fleet: Fleet, state: Path, jobs: int) -> float:
    started = time.perf_counter()
    for rendered in render_fleet(fleet, state_dir=state, jobs=jobs):
        harden_all(rendered)
    return time.perf_counter() - started


def tutor_config_save(fleet: Fleet, directory: Path) -> float:
    """What an operator runs per environment today: one TUTOR_ROOT each, plugins enabled
    once beforehand (not timed), then `tutor config save --set ...` (timed)."""
    roots = []
    for environment in fleet.environments:
        root = directory / environment.name
        root.mkdir()
        if environment.plugins:
            subprocess.run(
                [TUTOR, "--root", str(root), "plugins", "enable", *environment.plugins],
                check=True,
                capture_output=True,
            )
        roots.append((root, environment))
    started = time.perf_counter()
    for root, environment in roots:
        arguments = []
        for key, value in tutor_settings(environment).items():
            arguments += [
                "--set",
                f"{key}={str(value).lower() if isinstance(value, bool) else value}",
            ]
        subprocess.run(
            [TUTOR, "--root", str(root), "config", "save", *arguments],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for label, path in (("example (6 env)", EXAMPLE), ("20 env", fleet_of(20, base))):
            fleet = load_fleet(path)
            count = len(fleet.environments)
            # First render generates Tutor's secrets; time the steady state, as operators run it.
            state = base / f"state-{count}"
            campus_render(fleet, state, os.cpu_count() or 1)
            sequential = campus_render(fleet, state, 1)
            parallel = campus_render(fleet, state, os.cpu_count() or 1)
            tutor_dir = base / f"tutor-{count}"
            tutor_dir.mkdir()
            tutor = tutor_config_save(fleet, tutor_dir)
            shutil.rmtree(tutor_dir)
            rows.append((label, count, sequential, parallel, tutor))
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    columns = (
        "fleet",
        "envs",
        "campus render+harden, 1 job",
        "campus, parallel",
        "`tutor config save`",
        "tutor / campus parallel",
    )
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|")
    for label, count, sequential, parallel, tutor in rows:
        print(
            f"| {label} | {count} | {sequential:.1f} s | {parallel:.1f} s | {tutor:.1f} s "
            f"| {tutor / parallel:.2f}x |"
        )
    print(f"\npeak RSS of one process (campus or a Tutor worker): {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
