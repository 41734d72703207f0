"""`campus diff`, `history`, `rollback` and a failed deploy through the command line, against
the sandbox's real API server. Each test deploys an environment of its own."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Secret
from test_deploy import failing_job  # the same broken migration as the engine's tests

from campus.cli.main import cli
from campus.deploy.history import list_revisions
from campus.kube.errors import NotFound

pytestmark = pytest.mark.integration

FLEET = """\
defaults:
  plugins: [mfe, forum]
  size: small
  ingress: {{mode: ingress, class: nginx, controller_namespace: ingress-nginx}}
environments:
  {name}:
    hosts: {{lms: learn.{name}.example.org, cms: studio.{name}.example.org}}
    replicas: {{lms: {replicas}}}
    tutor:
      PLATFORM_NAME: "{platform}"
"""


class Fleet:
    """A one-environment fleet file the test rewrites, and the CLI run against it."""

    def __init__(self, directory: Path, name: str, kubeconfig: Path) -> None:
        self.name = name
        self.file = directory / "fleet.yml"
        self.kubeconfig = kubeconfig
        self.write()

    def write(self, replicas: int = 1, platform: str = "Campus Test") -> None:
        text = FLEET.format(name=self.name, replicas=replicas, platform=platform)
        self.file.write_text(text)

    def run(self, *arguments: str) -> Result:
        where = ["-f", str(self.file), "--kubeconfig", str(self.kubeconfig)]
        return CliRunner().invoke(cli, [*arguments, *where])

    def deploy(self) -> Result:
        result = self.run("deploy", self.name, "--timeout", "180")
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture
def fleet(
    sandbox: Any, kube: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Fleet]:
    """An environment named after the test, its namespace removed afterwards."""
    name = ("cli-" + request.node.name.removeprefix("test_").replace("_", "-"))[:40].rstrip("-")
    yield Fleet(tmp_path, name, sandbox.kubeconfig)
    with contextlib.suppress(NotFound):  # already gone
        kube.delete(Namespace, name)


def secret_values(kube: Client, namespace: str) -> list[str]:
    """Every value of every Secret in the namespace, decoded, and as stored (base64)."""
    values = []
    for secret in kube.list(Secret, namespace=namespace):
        for encoded in (secret.data or {}).values():
            values += [encoded, base64.b64decode(encoded).decode(errors="replace")]
    return [v for v in values if len(v) >= 8]  # short values ("true", "3306") prove nothing


def test_diff_after_a_change_shows_it_with_secret_values_masked(fleet: Fleet, kube: Client) -> None:
    fleet.deploy()
    unchanged = fleet.run("diff", fleet.name)
    assert unchanged.exit_code == 0, unchanged.output
    assert f"{fleet.name}: no changes" in unchanged.output

    fleet.write(replicas=2, platform="Campus Test Renamed")
    secrets = kube.list(Secret, namespace=fleet.name)
    before = {s.metadata.name: s.metadata.resourceVersion for s in secrets}
    changed = fleet.run("diff", fleet.name)
    assert changed.exit_code == 0, changed.output
    out = changed.output
    # A readable diff of the Deployment's fields...
    assert f"change Deployment {fleet.name}/lms\n" in out
    assert "--- live" in out and "+++ after deploy" in out
    assert "\n-  replicas: 1\n+  replicas: 2\n" in out
    # ...and the Django settings, a Secret named after its content (it holds SECRET_KEY),
    # shown as replaced by its successor, every value masked, the changed ones marked.
    assert f"replace Secret {fleet.name}/openedx-settings-lms-" in out
    assert "development.py: <secret value hidden, changed>" in out
    assert "Campus Test Renamed" not in out
    leaked = [value for value in secret_values(kube, fleet.name) if value in out]
    assert not leaked
    assert out.rstrip().endswith("objects would change")
    # `deploy --dry-run` gives the same answer, counted.
    actions = [line.split()[0] for line in out.splitlines() if line.strip()]
    planned = fleet.run("deploy", fleet.name, "--dry-run")
    assert planned.exit_code == 0, planned.output
    creates = actions.count("create") + actions.count("replace")
    deletes = actions.count("delete") + actions.count("replace")
    summary = f"would create {creates}, change {actions.count('change')}, delete {deletes}"
    assert summary in " ".join(planned.output.split()), planned.output
    assert "planned" in planned.output
    # Neither is more than a dry run: nothing was written.
    after = {
        s.metadata.name: s.metadata.resourceVersion for s in kube.list(Secret, namespace=fleet.name)
    }
    assert after == before


def deploy_two_revisions(fleet: Fleet) -> None:
    fleet.deploy()
    fleet.write(replicas=2)
    fleet.deploy()


def test_history_lists_revisions_as_table_and_json(fleet: Fleet) -> None:
    deploy_two_revisions(fleet)
    table = fleet.run("history", fleet.name)
    assert table.exit_code == 0, table.output
    assert f"history of {fleet.name}" in table.output
    rows = [line for line in table.output.splitlines() if line.strip().startswith(("│ 1", "│ 2"))]
    assert len(rows) == 2, table.output

    as_json = fleet.run("history", fleet.name, "-o", "json")
    assert as_json.exit_code == 0, as_json.output
    listed = json.loads(as_json.output)
    assert listed["environment"] == fleet.name
    assert [r["revision"] for r in listed["revisions"]] == [1, 2]
    assert all(r["objects"] > 0 and r["tutorVersion"] for r in listed["revisions"])
    assert listed["revisions"][0]["digest"] != listed["revisions"][1]["digest"]


def lms_replicas(kube: Client, namespace: str) -> int:
    spec = kube.get(Deployment, "lms", namespace=namespace).spec
    assert spec is not None and spec.replicas is not None
    return spec.replicas


def test_rollback_restores_the_previous_revision_and_rejects_unknown_ones(
    fleet: Fleet, kube: Client
) -> None:
    fleet.deploy()
    only_one = fleet.run("rollback", fleet.name)
    assert only_one.exit_code == 1
    assert f"{fleet.name} has only revision 1: nothing to roll back to" in only_one.output

    fleet.write(replicas=2)
    fleet.deploy()
    assert lms_replicas(kube, fleet.name) == 2
    rolled = fleet.run("rollback", fleet.name, "--timeout", "180")
    assert rolled.exit_code == 0, rolled.output
    assert lms_replicas(kube, fleet.name) == 1
    assert [r.number for r in list_revisions(kube, fleet.name, fleet.name)] == [1, 2, 3]

    unknown = fleet.run("rollback", fleet.name, "7")
    assert unknown.exit_code == 1
    assert f"Error: {fleet.name} has no revision 7; recorded: 1, 2, 3" in unknown.output
    assert "Traceback" not in unknown.output
    assert lms_replicas(kube, fleet.name) == 1  # nothing was applied


def with_broken_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every deploy request from now on gets a failing init Job after Tutor's own."""
    import campus.pipeline

    render = campus.pipeline.deploy_requests

    def requests_with_failing_job(*arguments: Any) -> list[Any]:
        requests = render(*arguments)
        for request in requests:
            request.init_jobs.append(failing_job(request.namespace))
        return requests

    monkeypatch.setattr(campus.pipeline, "deploy_requests", requests_with_failing_job)


def test_failed_first_install_says_what_is_left_and_how_to_retry(
    fleet: Fleet, kube: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_broken_migration(monkeypatch)
    failed = fleet.run("deploy", fleet.name, "--timeout", "60")
    assert failed.exit_code == 1
    out = failed.output
    assert "DeadlineExceeded" in out
    assert "keeps serving" not in out
    assert f"This was the first install of {fleet.name}: no earlier revision serves" in out
    left = next(line for line in out.splitlines() if "Applied by this deploy" in line)
    for kind in ("Namespace", "Secrets", "ConfigMaps", "PersistentVolumeClaims", "Jobs"):
        assert kind in left, left
    assert f"run `campus deploy {fleet.name}` again" in out
    assert f"`campus destroy {fleet.name} --delete-data`" in out
    # What it says is what the cluster holds: data services, no application, no revision.
    deployments = {d.metadata.name for d in kube.list(Deployment, namespace=fleet.name)}
    assert "mysql" in deployments and "lms" not in deployments
    assert list_revisions(kube, fleet.name, fleet.name) == []

    # The retry it advises works once the cause is gone; a later failure keeps that revision.
    monkeypatch.undo()
    fleet.deploy()
    assert [r.number for r in list_revisions(kube, fleet.name, fleet.name)] == [1]
    with_broken_migration(monkeypatch)
    upgrade = fleet.run("deploy", fleet.name, "--timeout", "60")
    assert upgrade.exit_code == 1
    assert f"Revision 1 of {fleet.name} keeps serving" in upgrade.output
    assert "first install" not in upgrade.output
