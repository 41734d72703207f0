"""Writes of state are atomic: a process killed with SIGKILL while it writes Tutor's
`config.yml` leaves the previous complete file, never a truncated one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from campus.atomic import write_atomically
from campus.render.worker import save_config

# Writes config.yml again and again, alternating two large configurations (a few MB, so
# that most of the process's time is spent in the middle of a write), and says on stdout
# when the first is complete.
WRITER = textwrap.dedent(
    """
    import sys
    from campus.render.worker import save_config

    root = sys.argv[1]
    versions = [
        {"GENERATION": n, "MYSQL_ROOT_PASSWORD": f"pw-{n}", "FILLER": ["x" * 100] * 30000}
        for n in (1, 2)
    ]
    save_config(root, versions[0])
    print("written", flush=True)
    while True:
        for version in versions:
            save_config(root, version)
    """
)


def _read(root: Path) -> dict[str, object]:
    loaded = yaml.safe_load((root / "config.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("delay", [0.05, 0.13, 0.31])
def test_a_render_killed_while_writing_config_loses_nothing(tmp_path: Path, delay: float) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"written\n"
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(timeout=10) == -signal.SIGKILL
    config = _read(tmp_path)
    assert config["GENERATION"] in (1, 2)
    assert config["MYSQL_ROOT_PASSWORD"] == f"pw-{config['GENERATION']}"
    assert len(config["FILLER"]) == 30000  # type: ignore[arg-type]


def test_save_config_keeps_what_tutor_reads(tmp_path: Path) -> None:
    from tutor import config as tutor_config

    save_config(str(tmp_path), {"ID": "abc", "LMS_HOST": "learn.example.org"})
    assert tutor_config.get_user(str(tmp_path)) == {"ID": "abc", "LMS_HOST": "learn.example.org"}
    assert list(tmp_path.iterdir()) == [tmp_path / "config.yml"]


def test_write_keeps_the_mode_and_creates_new_files_private(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "state.yml"
    write_atomically(fresh, "a: 1\n")
    assert fresh.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.yml"
    shared.write_text("old")
    shared.chmod(0o640)
    write_atomically(shared, "new")
    assert (shared.read_text(), shared.stat().st_mode & 0o777) == ("new", 0o640)
