"""A value is secret because of its setting, not its length: a short password kept in
Tutor's state for the environment never reaches anything but a Secret."""

from __future__ import annotations

import json
from pathlib import Path

from campus.fleet.model import Fleet
from campus.harden import harden_all
from campus.harden.secrets import secret_values
from campus.render import render_fleet

SHORT = "Zq7#x9!"  # 7 characters, a quote-free symbol mix


def test_a_seven_character_password_stays_in_secrets(example_fleet: Fleet, tmp_path: Path) -> None:
    root = tmp_path / "acme-dev"
    root.mkdir()
    (root / "config.yml").write_text(f'MYSQL_ROOT_PASSWORD: "{SHORT}"\n')
    [rendered] = render_fleet(example_fleet, ["acme-dev"], state_dir=tmp_path)
    assert rendered.tutor_config["MYSQL_ROOT_PASSWORD"] == SHORT
    assert SHORT in secret_values(rendered)
    raw = [*rendered.objects, *(task.job for task in rendered.init_tasks)]
    assert SHORT in json.dumps([o for o in raw if o["kind"] != "Secret"])  # Tutor leaks it
    objects, jobs = harden_all(rendered)
    outside = [o for o in objects + jobs if o["kind"] != "Secret"]
    assert SHORT not in json.dumps(outside)
