"""Each environment's Tutor state kept in the cluster, on the sandbox: the example fleet
deployed from one clone, then from a fresh clone with no `.campus/`; a render without local
state; a local state that disagrees; the encrypted bundle; and a deploy Lease whose holder
died."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from example_fleet import example_on_kwok
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import ReplicaSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Namespace, Secret
from test_deploy import resource_versions  # the same resourceVersions as the engine's tests

from campus.cli.main import cli
from campus.deploy.history import list_revisions
from campus.deploy.lock import LEASE_NAME, LEASE_SECONDS, deploy_lock
from campus.deploy.revisions import Revision
from campus.fleet.load import load_fleet
from campus.render.state import STATE_ENV, cached_settings, write_cached_settings
from campus.sandbox import cluster
from campus.state.model import SECRET_NAME, TutorState
from campus.state.store import read_state

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"
ENVIRONMENTS = tuple(environment.name for environment in load_fleet(EXAMPLE).environments)


def clone(directory: Path, sandbox: cluster.SandboxInfo) -> Path:
    """A checkout of the repository holding the fleet file: the file, nothing else."""
    directory.mkdir()
    fleet = directory / "fleet.yml"
    fleet.write_text(example_on_kwok().replace("sandbox: campus", f"sandbox: {sandbox.name}"))
    return fleet


def run(*arguments: str) -> Result:
    return CliRunner().invoke(cli, list(arguments))


def outcome_rows(output: str) -> dict[str, str]:
    """Each environment's RESULT in the deploy summary table."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│") if cell.strip()]
        if len(cells) >= 3 and cells[0] in ENVIRONMENTS:
            rows[cells[0]] = cells[2]
    return rows


@pytest.fixture(scope="module")
def first_clone(sandbox: cluster.SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example fleet deployed from a first clone."""
    os.environ.pop(STATE_ENV, None)  # each clone keeps .campus/ beside its fleet file
    fleet = clone(tmp_path_factory.mktemp("state") / "first", sandbox)
    result = run("deploy", "-f", str(fleet), "--timeout", "300")
    assert result.exit_code == 0, result.output
    return fleet


@pytest.fixture(scope="module")
def second_clone(
    first_clone: Path, sandbox: cluster.SandboxInfo, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Result]:
    """The same fleet deployed from a fresh clone: no `.campus/` at all."""
    fleet = clone(tmp_path_factory.mktemp("state") / "second", sandbox)
    assert not (fleet.parent / ".campus").exists()
    return fleet, run("deploy", "-f", str(fleet), "--timeout", "300")


def test_a_fresh_clone_deploys_every_environment_unchanged(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, result = second_clone
    assert result.exit_code == 0, result.output
    assert outcome_rows(result.output) == dict.fromkeys(ENVIRONMENTS, "unchanged")
    # Every environment read its state from the cluster: said once for all of them.
    shared = f"Tutor state of all {len(ENVIRONMENTS)} environments: cluster (no local cache)"
    assert shared in result.output
    # The state is in one Secret per namespace, kept as data; the fresh clone's cache holds it.
    secret = kube.get(Secret, SECRET_NAME, namespace="acme-dev")
    assert (secret.metadata.labels or {})["campus.openedx.org/data"] == "true"
    assert not (fleet.parent / ".campus" / "acme-dev" / "unconfirmed").exists()


def test_rendering_again_without_local_state_gives_identical_output(
    second_clone: tuple[Path, Result], tmp_path: Path
) -> None:
    fleet, _ = second_clone
    before = run("render", "-f", str(fleet), "-o", str(tmp_path / "before"))
    assert before.exit_code == 0, before.output
    shutil.rmtree(fleet.parent / ".campus")
    after = run("render", "-f", str(fleet), "-o", str(tmp_path / "after"))
    assert after.exit_code == 0, after.output
    assert f"Tutor state of all {len(ENVIRONMENTS)} environments: cluster" in after.output
    files = sorted(p.relative_to(tmp_path / "before") for p in (tmp_path / "before").rglob("*"))
    assert files == sorted(
        p.relative_to(tmp_path / "after") for p in (tmp_path / "after").rglob("*")
    )
    for name in files:
        if (tmp_path / "before" / name).is_file():
            assert (tmp_path / "before" / name).read_bytes() == (
                tmp_path / "after" / name
            ).read_bytes(), name


def test_conflicting_local_state_is_refused_and_nothing_changes(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    state_dir = fleet.parent / ".campus"
    assert cached_settings(state_dir, "acme-dev")  # rendered from the cluster's copy
    write_cached_settings(state_dir, "acme-dev", {"OPENEDX_MYSQL_PASSWORD": "typed-by-hand"})
    before = resource_versions(kube, "acme-dev")
    for command in ("deploy", "diff"):
        refused = run(command, "acme-dev", "-f", str(fleet))
        assert refused.exit_code == 1, refused.output
        assert "differ in OPENEDX_MYSQL_PASSWORD" in refused.output
        assert "typed-by-hand" not in refused.output
        assert "campus state pull acme-dev" in refused.output
    assert resource_versions(kube, "acme-dev") == before
    pulled = run("state", "pull", "acme-dev", "-f", str(fleet))
    assert pulled.exit_code == 0 and "replaced: OPENEDX_MYSQL_PASSWORD" in pulled.output
    assert "typed-by-hand" not in pulled.output
    again = run("deploy", "acme-dev", "-f", str(fleet), "--timeout", "180")
    assert outcome_rows(again.output) == {"acme-dev": "unchanged"}, again.output


def test_push_makes_the_local_state_the_clusters_after_asking(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    state_dir = fleet.parent / ".campus"
    original = (cached_settings(state_dir, "acme-test") or {})["OPENEDX_SECRET_KEY"]
    write_cached_settings(state_dir, "acme-test", {"OPENEDX_SECRET_KEY": "rotated-by-hand"})
    declined = CliRunner().invoke(
        cli, ["state", "push", "acme-test", "-f", str(fleet)], input="n\n"
    )
    assert declined.exit_code == 1 and "OPENEDX_SECRET_KEY" in declined.output
    assert read_state(kube, "acme-test", "acme-test").values["OPENEDX_SECRET_KEY"] == original
    pushed = run("state", "push", "acme-test", "-f", str(fleet), "--yes")
    assert pushed.exit_code == 0 and "replaced: OPENEDX_SECRET_KEY" in pushed.output
    assert "rotated-by-hand" not in pushed.output
    stored = read_state(kube, "acme-test", "acme-test")
    assert stored is not None and stored.values["OPENEDX_SECRET_KEY"] == "rotated-by-hand"
    write_cached_settings(state_dir, "acme-test", {"OPENEDX_SECRET_KEY": original})
    assert run("state", "push", "acme-test", "-f", str(fleet), "--yes").exit_code == 0


def test_an_exported_bundle_is_encrypted_and_restores_the_local_state(
    second_clone: tuple[Path, Result], sandbox: cluster.SandboxInfo, tmp_path: Path
) -> None:
    fleet, _ = second_clone
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long passphrase for the recovery bundle\n")
    bundle = tmp_path / "fleet-state.bundle"
    exported = run(
        "state", "export", "-f", str(fleet), "-o", str(bundle), "--passphrase-file", str(passphrase)
    )
    assert exported.exit_code == 0, exported.output
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    settings = cached_settings(fleet.parent / ".campus", "acme-prod") or {}
    assert settings["OPENEDX_SECRET_KEY"].encode() not in bundle.read_bytes()
    third = clone(tmp_path / "third", sandbox)
    imported = run(
        "state", "import", str(bundle), "-f", str(third), "--passphrase-file", str(passphrase)
    )
    assert imported.exit_code == 0, imported.output
    restored = cached_settings(third.parent / ".campus", "acme-prod") or {}
    assert restored["OPENEDX_SECRET_KEY"] == settings["OPENEDX_SECRET_KEY"]
    assert restored["ID"] == settings["ID"]


def recorded(kube: Client, namespace: str) -> tuple[TutorState, list[Revision]]:
    """The environment's stored Tutor state and its revisions."""
    state = read_state(kube, namespace, namespace)
    assert state is not None
    return state, list_revisions(kube, namespace, namespace)


def test_rotating_the_database_password_runs_its_job_before_the_rollout(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    namespace = "acme-test"
    before, revisions = recorded(kube, namespace)
    old_jobs = {job.metadata.name for job in kube.list(Job, namespace=namespace)}
    rotated = run("secrets", "rotate", namespace, "OPENEDX_MYSQL_PASSWORD", "-f", str(fleet))
    assert rotated.exit_code == 0, rotated.output
    after, _ = recorded(kube, namespace)
    assert after.values["OPENEDX_MYSQL_PASSWORD"] != before.values["OPENEDX_MYSQL_PASSWORD"]
    assert after.values["OPENEDX_SECRET_KEY"] == before.values["OPENEDX_SECRET_KEY"]
    # Tutor's mysql init Job, which sets the password on MySQL, ran again, before lms rolled.
    [job] = [
        j
        for j in kube.list(Job, namespace=namespace)
        if j.metadata.name.startswith("mysql-init") and j.metadata.name not in old_jobs
    ]
    newest = max(
        kube.list(ReplicaSet, namespace=namespace, labels={"app.kubernetes.io/name": "lms"}),
        key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]),
    )
    assert job.status.completionTime <= newest.metadata.creationTimestamp
    # The revision records it.
    [*_, last] = list_revisions(kube, namespace, namespace)
    assert last.number == revisions[-1].number + 1
    assert job.metadata.name in {j["metadata"]["name"] for j in last.init_jobs}
    assert last.rotated == ("OPENEDX_MYSQL_PASSWORD",)
    listed = run("secrets", "list", namespace, "-f", str(fleet))
    assert listed.exit_code == 0
    [row] = [line for line in listed.output.splitlines() if "OPENEDX_MYSQL_PASSWORD" in line]
    assert "s " in row or "m " in row  # seconds or minutes old
    assert after.values["OPENEDX_MYSQL_PASSWORD"] not in listed.output + rotated.output


def test_a_rotation_that_fails_before_any_data_service_leaves_the_old_values_in_force(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    before, revisions = recorded(kube, "acme-dev")
    # No Job completes within 50 ms: the deploy fails in its init phase, before the
    # applications (the only holders of OPENEDX_SECRET_KEY) roll.
    failed = run(
        "secrets", "rotate", "acme-dev", "OPENEDX_SECRET_KEY", "-f", str(second_clone[0]),
        "--timeout", "0.05",
    )  # fmt: skip
    assert failed.exit_code == 1, failed.output
    assert "nothing rotated, the old values stay in force" in " ".join(failed.output.split())
    after, history = recorded(kube, "acme-dev")
    assert history == revisions and after.values == before.values
    assert after.changed_at == before.changed_at and not after.pending and not after.rotating
    cached = cached_settings(second_clone[0].parent / ".campus", "acme-dev") or {}
    assert cached["OPENEDX_SECRET_KEY"] == before.values["OPENEDX_SECRET_KEY"]


def test_a_rotation_whose_init_job_timed_out_stays_pending_until_finished(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    namespace = "acme-dev"
    before, revisions = recorded(kube, namespace)
    old = before.values["OPENEDX_MYSQL_PASSWORD"]
    rotate = ("secrets", "rotate", namespace, "OPENEDX_MYSQL_PASSWORD", "-f", str(fleet))
    # Tutor's mysql init Job is created, then the wait gives up: it may still change MySQL.
    timed_out = run(*rotate, "--timeout", "0.05")
    assert timed_out.exit_code == 1, timed_out.output
    assert "OPENEDX_MYSQL_PASSWORD is pending" in " ".join(timed_out.output.split())
    pending, _ = recorded(kube, namespace)
    assert pending.values == before.values and pending.rotating == ("OPENEDX_MYSQL_PASSWORD",)
    new = pending.pending["OPENEDX_MYSQL_PASSWORD"]
    assert new != old and new not in timed_out.output
    cached = cached_settings(fleet.parent / ".campus", namespace) or {}
    assert cached["OPENEDX_MYSQL_PASSWORD"] == old  # the value in force
    # Neither value is safe until it is finished: deploys and other rotations are refused.
    for refused in (
        run("deploy", namespace, "-f", str(fleet)),
        run("secrets", "rotate", namespace, "OPENEDX_SECRET_KEY", "-f", str(fleet)),
        run("state", "push", namespace, "-f", str(fleet), "--yes"),
    ):
        assert refused.exit_code == 1, refused.output
        assert "is not confirmed" in " ".join(refused.output.split())
    listed = run("secrets", "list", namespace, "-f", str(fleet))
    assert "pending since" in " ".join(listed.output.split())
    # The same command finishes it, with the same new value.
    finished = run(*rotate, "--timeout", "180")
    assert finished.exit_code == 0, finished.output
    after, history = recorded(kube, namespace)
    assert after.values["OPENEDX_MYSQL_PASSWORD"] == new and not after.pending
    assert history[-1].number == revisions[-1].number + 1
    assert history[-1].rotated == ("OPENEDX_MYSQL_PASSWORD",)


def test_the_root_password_is_changed_by_a_job_that_logs_in_with_the_old_one(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    namespace = "acme-dev"
    before, _ = recorded(kube, namespace)
    old = before.values["MYSQL_ROOT_PASSWORD"]
    rotated = run("secrets", "rotate", namespace, "MYSQL_ROOT_PASSWORD", "-f", str(fleet))
    assert rotated.exit_code == 0, rotated.output
    after, history = recorded(kube, namespace)
    new = after.values["MYSQL_ROOT_PASSWORD"]
    assert new != old and history[-1].rotated == ("MYSQL_ROOT_PASSWORD",)
    # campus's Job set the password before Tutor's mysql init Job logged in with it; it reads
    # both passwords from a Secret.
    init = [j["metadata"]["name"] for j in history[-1].init_jobs]
    assert init[0].startswith("mysql-rotate-root-")
    jobs = {j.metadata.name: j for j in kube.list(Job, namespace=namespace)}
    root = jobs[init[0]]
    mysql_init = jobs[next(name for name in init if name.startswith("mysql-init"))]
    assert root.status.completionTime <= mysql_init.status.startTime
    assert old not in str(root.to_dict()) and new not in str(root.to_dict())
    shown = run("history", namespace, "-f", str(fleet), "-o", "json")
    assert '"MYSQL_ROOT_PASSWORD"' in shown.output and new not in shown.output
    # The next deploy prunes the rotation's Job and Secret.
    again = run("deploy", namespace, "-f", str(fleet), "--timeout", "180")
    assert again.exit_code == 0, again.output
    assert init[0] not in {j.metadata.name for j in kube.list(Job, namespace=namespace)}


def test_rotating_the_meilisearch_master_key_restarts_meilisearch_then_the_applications(
    kube: Client, second_clone: tuple[Path, Result]
) -> None:
    fleet, _ = second_clone
    namespace = "acme-test"
    before, _ = recorded(kube, namespace)
    rotated = run("secrets", "rotate", namespace, "MEILISEARCH_MASTER_KEY", "-f", str(fleet))
    assert rotated.exit_code == 0, rotated.output
    after, history = recorded(kube, namespace)
    for name in ("MEILISEARCH_MASTER_KEY", "MEILISEARCH_API_KEY"):  # the API key derives from it
        assert after.values[name] != before.values[name], name
    for name in ("MEILISEARCH_API_KEY_UID", "ID", "MYSQL_ROOT_PASSWORD"):
        assert after.values[name] == before.values[name], name
    assert history[-1].rotated == ("MEILISEARCH_MASTER_KEY",)

    def newest(service: str) -> ReplicaSet:
        return max(
            kube.list(ReplicaSet, namespace=namespace, labels={"app.kubernetes.io/name": service}),
            key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]),
        )

    meilisearch, lms = newest("meilisearch"), newest("lms")
    assert meilisearch.metadata.creationTimestamp <= lms.metadata.creationTimestamp
    assert int(meilisearch.metadata.annotations["deployment.kubernetes.io/revision"]) >= 2


HOLDER = """
import sys, time
from campus.deploy.lock import deploy_lock
from campus.kube.connect import client_from_file
from pathlib import Path
with deploy_lock(client_from_file(Path(sys.argv[1])), sys.argv[2], timeout=30):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_lease_left_by_a_killed_deploy_is_taken_over_after_it_expires(
    kube: Client, sandbox: cluster.SandboxInfo
) -> None:
    namespace = "state-lease"
    kube.create(Namespace(metadata=ObjectMeta(name=namespace)))
    try:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(sandbox.kubeconfig), namespace],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        holder.send_signal(signal.SIGKILL)  # dies mid-deploy: no release, no renewal
        holder.wait()
        killed = time.monotonic()
        lease = kube.get(Lease, LEASE_NAME, namespace=namespace)
        assert lease.spec.holderIdentity  # left behind, still held
        waited_for: list[str] = []
        with deploy_lock(kube, namespace, timeout=LEASE_SECONDS * 3, on_wait=waited_for.append):
            took = time.monotonic() - killed
            taken = kube.get(Lease, LEASE_NAME, namespace=namespace)
            assert taken.spec.holderIdentity != lease.spec.holderIdentity
        assert waited_for and set(waited_for) == {lease.spec.holderIdentity}
        # Not before the lease expired (it was acquired just before the kill), and soon after.
        assert LEASE_SECONDS - 5 <= took <= LEASE_SECONDS + 8, took
    finally:
        kube.delete(Namespace, namespace)
