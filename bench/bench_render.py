"""Render time: campus (Tutor render + hardening, in a process per environment as before,
in children of fork servers with Tutor writing its env folder as before, to memory, then
from the render cache) against `tutor config save` for the same environments, in the same
run; all campus renders in parallel, a job per core.

    python bench/bench_render.py            # prints a markdown table
    python bench/bench_render.py --cold 20  # one cold render of 20 environments, to time
                                            # as a whole process against another version
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


def campus_render(
    fleet: Fleet, state: Path, use_cache: bool, fork: bool, in_memory: bool = True
) -> float:
    """Render and harden the fleet, one job per core."""
    started = time.perf_counter()
    jobs = os.cpu_count() or 1
    for rendered in render_fleet(
        fleet, state_dir=state, jobs=jobs, use_cache=use_cache, fork=fork, in_memory=in_memory
    ):
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
            # Cold: the first render generates Tutor's secrets, by the path of one process per
            # environment (before the fork server and the cache), by fork servers with Tutor
            # writing its env folder, then by today's path (fork servers, to memory).
            cold_process = campus_render(fleet, base / f"old-{count}", False, False, False)
            cold_folder = campus_render(fleet, base / f"folder-{count}", False, True, False)
            state = base / f"state-{count}"
            cold_fork = campus_render(fleet, state, True, fork=True)
            # Unchanged, as operators run it again: through Tutor each way, then cached.
            process = campus_render(fleet, state, False, False, False)
            folder = campus_render(fleet, state, False, True, False)
            forked = campus_render(fleet, state, False, fork=True)
            cached = campus_render(fleet, state, True, fork=True)
            tutor_dir = base / f"tutor-{count}"
            tutor_dir.mkdir()
            tutor = tutor_config_save(fleet, tutor_dir)
            shutil.rmtree(tutor_dir)
            times = (cold_process, cold_folder, cold_fork, process, folder, forked)
            rows.append((label, count, *times, cached, tutor))
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    columns = (
        "fleet",
        "envs",
        "cold: process per env, env folder",
        "cold: fork server, env folder",
        "cold: fork server, to memory",
        "unchanged: process per env, env folder",
        "unchanged: fork server, env folder",
        "unchanged: fork server, to memory",
        "unchanged: cache",
        "`tutor config save`",
        "tutor / cold to memory",
        "tutor / cache",
    )
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, count, *times, cached, tutor in rows:
        cold_fork = times[2]
        print(
            f"| {label} | {count} | "
            + " | ".join(f"{value:.1f} s" for value in times)
            + f" | {cached:.2f} s | {tutor:.1f} s | {tutor / cold_fork:.2f}x "
            f"| {tutor / cached:.0f}x |"
        )
    print(f"\npeak RSS of one process (campus or a Tutor worker): {peak / 1024:.0f} MiB")


def cold(count: int) -> None:
    """Render and harden `count` environments from a fresh state folder, with the calls
    every version since the fork server has (to time whole processes of two versions)."""
    with tempfile.TemporaryDirectory() as scratch:
        fleet = load_fleet(fleet_of(count, Path(scratch)))
        for rendered in render_fleet(fleet, state_dir=Path(scratch) / "state"):
            harden_all(rendered)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        cold(int(sys.argv[2]))
    else:
        main()
