"""A release per environment on the sandbox: dev pins Tutor 22, prod pins Tutor 21, each
rendered by its own toolchain (made from PyPI on first use, kept in the toolchain cache,
`CAMPUS_TOOLCHAINS` in CI) and deployed with its release's images; history and status name
each environment's release; a second render makes no new virtual environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from campus.cli.main import cli
from campus.sandbox.cluster import SandboxInfo
from campus.toolchain import store

pytestmark = pytest.mark.integration

# The two toolchains the suite makes: keep it at two (each is ~300 MB and ~30 s from PyPI).
DEV = {"tutor": "22.0.3", "mfe": "22.1.0"}
PROD = {"tutor": "21.0.9", "mfe": "21.0.2"}
FLEET = """\
cluster:
  sandbox: {sandbox}
defaults:
  plugins: [mfe]
  size: small
  ingress: {{mode: ingress}}
  release: {{tutor: "{prod_tutor}", plugins: {{mfe: "{prod_mfe}"}}}}
environments:
  rel-dev:
    hosts: {{lms: learn.dev.rel.example.org}}
    release: {{tutor: "{dev_tutor}", plugins: {{mfe: "{dev_mfe}"}}}}
  rel-prod:
    hosts: {{lms: learn.rel.example.org}}
    production: true
"""


def run(fleet: Path, *arguments: str) -> Result:
    return CliRunner().invoke(cli, [*arguments, "-f", str(fleet)])


def image(kube: Client, namespace: str, deployment: str) -> str:
    spec = kube.get(Deployment, deployment, namespace=namespace).spec
    assert spec is not None and spec.template.spec is not None
    found = spec.template.spec.containers[0].image
    assert found is not None
    return found


def toolchains() -> dict[str, tuple[int, int]]:
    """Each toolchain folder in the cache: its inode and modification time."""
    root = store.root()
    if not root.is_dir():
        return {}
    return {
        path.name: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in root.iterdir()
        if not path.name.startswith(".")
    }


def test_dev_on_22_and_prod_on_21_deploy_with_their_own_releases(
    sandbox: SandboxInfo, kube: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(
        FLEET.format(
            sandbox=sandbox.name,
            dev_tutor=DEV["tutor"],
            dev_mfe=DEV["mfe"],
            prod_tutor=PROD["tutor"],
            prod_mfe=PROD["mfe"],
        )
    )

    deployed = run(fleet, "deploy", "--timeout", "240")
    assert deployed.exit_code == 0, deployed.output
    assert image(kube, "rel-dev", "lms") == f"docker.io/overhangio/openedx:{DEV['tutor']}"
    assert image(kube, "rel-prod", "lms") == f"docker.io/overhangio/openedx:{PROD['tutor']}"
    assert image(kube, "rel-dev", "mfe") == f"docker.io/overhangio/openedx-mfe:{DEV['mfe']}"
    assert image(kube, "rel-prod", "mfe") == f"docker.io/overhangio/openedx-mfe:{PROD['mfe']}"

    dev_release = f"tutor {DEV['tutor']}, mfe {DEV['mfe']}"
    prod_release = f"tutor {PROD['tutor']}, mfe {PROD['mfe']}"
    history = run(fleet, "history", "rel-prod", "-o", "json")
    assert history.exit_code == 0, history.output
    [revision] = json.loads(history.output)["revisions"]
    assert revision["tutorVersion"] == PROD["tutor"]
    assert revision["pluginVersions"] == {"mfe": PROD["mfe"]}
    status = run(fleet, "status", "-o", "json")
    assert status.exit_code == 0, status.output
    releases = {e["name"]: e["release"] for e in json.loads(status.output)["environments"]}
    assert releases == {"rel-dev": dev_release, "rel-prod": prod_release}
    wide = run(fleet, "status", "-o", "wide")
    assert wide.exit_code == 0 and "RELEASE" in wide.output and prod_release in wide.output

    # Rendering again through Tutor (the render cache off) uses the toolchains as they are.
    before = toolchains()
    assert len(before) >= 2
    monkeypatch.setenv("CAMPUS_RENDER_CACHE", "off")
    rendered = run(fleet, "render", "-o", str(tmp_path / "build"), "--offline")
    assert rendered.exit_code == 0, rendered.output
    assert toolchains() == before
    assert "creating a virtual environment" not in rendered.output
    assert f"release {prod_release}" in rendered.output
    assert f"release {dev_release}" in rendered.output
    linted = run(fleet, "lint")
    assert linted.exit_code == 0, linted.output
    assert f"release: {prod_release} (toolchain tutor-{PROD['tutor']}-" in linted.output
    assert toolchains() == before
