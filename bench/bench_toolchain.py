"""A release per environment: making a toolchain the first time (campus, against a virtual
environment made by hand with the same pins: Tutor's own way to run another release), using
it again, and rendering one environment pinned to Tutor 21 beside the same environment on
the Tutor installed with campus (today's single-release path), each through Tutor and from
the render cache, against that release's own `tutor config save`, in the same run.

    python bench/bench_toolchain.py         # prints markdown tables

Toolchains are made in temporary folders (never the user's cache), so each first use is
cold; pip's own download cache is left as the machine has it. Provisioning is timed twice
each way, the order swapped; renders and `tutor config save` are medians of three.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from campus.fleet.load import load_fleet
from campus.fleet.model import Fleet
from campus.harden import harden_all
from campus.render import render_fleet
from campus.render.tutor import tutor_settings
from campus.toolchain import store
from campus.toolchain.spec import ToolchainSpec

TUTOR, MFE = "21.0.9", "21.0.2"
FLEET = """\
defaults:
  plugins: [mfe]
environments:
  pinned:
    hosts: {{lms: learn.pinned.example.org}}
    release: {{tutor: "{tutor}", plugins: {{mfe: "{mfe}"}}}}
  today:
    hosts: {{lms: learn.today.example.org}}
"""


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def by_hand(folder: Path, pins: tuple[str, ...]) -> None:
    """What an operator runs to get another Tutor release: a venv and pip install."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off"]
    subprocess.run([*pip, *pins], check=True, capture_output=True)


def render(fleet: Fleet, name: str, state: Path, use_cache: bool) -> float:
    def run() -> None:
        for rendered in render_fleet(fleet, [name], state_dir=state, use_cache=use_cache):
            harden_all(rendered)

    return timed(run)


def config_save(tutor: Path, fleet: Fleet, name: str, root: Path) -> float:
    """That release's Tutor, by hand: plugins enabled beforehand (not timed), then
    `tutor config save --set ...` (timed)."""
    environment = fleet.environment(name)
    root.mkdir()
    enable = [str(tutor), "--root", str(root), "plugins", "enable", *environment.plugins]
    subprocess.run(enable, check=True, capture_output=True)
    arguments = []
    for key, value in tutor_settings(environment).items():
        arguments += ["--set", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    save = [str(tutor), "--root", str(root), "config", "save", *arguments]
    return timed(lambda: subprocess.run(save, check=True, capture_output=True))


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        spec = ToolchainSpec(TUTOR, (("mfe", MFE),), store.this_python())
        said: list[str] = []
        # Two rounds, the order swapped in the second, so neither side always goes first
        # (pip's download cache and the shared machine's load favour no one).
        firsts, hands = [], []
        for round_ in (1, 2):
            folder = base / f"toolchains-{round_}"

            def campus_first(where: Path = folder) -> None:
                store.ensure(spec, said.append, where)

            def hand_made(where: Path = base / f"by-hand-{round_}") -> None:
                by_hand(where, spec.pins)

            order = (campus_first, hand_made) if round_ == 1 else (hand_made, campus_first)
            for action in order:
                (firsts if action is campus_first else hands).append(timed(action))
            shutil.rmtree(base / f"by-hand-{round_}")
        again = timed(lambda: store.ensure(spec, said.append, base / "toolchains-2"))
        collected = sum(line.startswith("Collecting ") for line in said) // 2
        os.environ[store.ROOT_ENV] = str(base / "toolchains-2")

        path = base / "fleet.yml"
        path.write_text(FLEET.format(tutor=TUTOR, mfe=MFE))
        fleet = load_fleet(path)
        rows = []
        toolchain_tutor = base / "toolchains-2" / spec.key / "bin" / "tutor"
        own_tutor = Path(sys.executable).with_name("tutor")
        for name, tutor in (("pinned", toolchain_tutor), ("today", own_tutor)):
            state = base / f"state-{name}"
            render(fleet, name, state, True)  # first install: Tutor's secrets, the cache filled
            through = statistics.median(render(fleet, name, state, False) for _ in range(3))
            cached = statistics.median(render(fleet, name, state, True) for _ in range(3))
            by_tutor = statistics.median(
                config_save(tutor, fleet, name, base / f"tutor-{name}-{i}") for i in range(3)
            )
            rows.append((name, through, cached, by_tutor))

    first, hand = statistics.mean(firsts), statistics.mean(hands)
    print("| toolchain tutor 21.0.9 + mfe 21.0.2 | campus | by hand (venv + pip) | hand / campus |")
    print("|---|---|---|---|")
    print(
        f"| first use ({collected} packages; mean of 2, each run: "
        f"{' and '.join(f'{t:.0f}' for t in firsts)} s against "
        f"{' and '.join(f'{t:.0f}' for t in hands)} s) | {first:.1f} s | {hand:.1f} s "
        f"| {hand / first:.2f}x |"
    )
    print(f"| again (ready, no installer run) | {again * 1000:.1f} ms | - | - |")
    print()
    columns = ("environment", "render through Tutor", "render, cached", "`tutor config save`")
    print("| " + " | ".join(columns) + " | tutor / through | tutor / cached |")
    print("|" + "---|" * (len(columns) + 2))
    labels = {"pinned": f"pinned: tutor {TUTOR}, mfe {MFE}", "today": "today: Tutor beside campus"}
    for name, through, cached, by_tutor in rows:
        print(
            f"| {labels[name]} | {through:.2f} s | {cached:.2f} s | {by_tutor:.2f} s "
            f"| {by_tutor / through:.2f}x | {by_tutor / cached:.0f}x |"
        )


if __name__ == "__main__":
    main()
