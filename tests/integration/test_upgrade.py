"""Release changes against the sandbox's real API server and controllers: upgrade steps run
as Jobs in order before the applications switch, a failed one keeps the old release
serving, a downgrade is refused, maintenance mode switches the routes and restores them.

The staged upgrade renders real releases (Tutor 21 and 22, each in its toolchain). The
engine-level tests move the acme-dev environment the installed Tutor renders to other
versions (its Open edX images and recorded Tutor version), to reach releases with data and
release steps (quince, redwood) and to inject a failing step."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from example_fleet import example_on_kwok
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Namespace
from lightkube.resources.networking_v1 import Ingress

from campus.deploy import upgrade as upgrade_table
from campus.deploy.diff import planned_upgrade
from campus.deploy.engine import deploy_environment
from campus.deploy.history import list_revisions
from campus.deploy.lock import last_deploy_unfinished
from campus.deploy.maintenance import MAINTENANCE, backends
from campus.deploy.model import DeployOptions, DeployRequest
from campus.fleet.edit import set_release
from campus.kube.errors import NotFound
from campus.output.progress import QuietProgress
from campus.pipeline import deploy_requests, load
from campus.promote.change import PromoteRefused, promote

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"
OPTIONS = DeployOptions(phase_timeout=120)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> DeployRequest:
    fleet_copy = tmp_path_factory.mktemp("upgrade") / "fleet.yml"
    fleet_copy.write_text(example_on_kwok())
    [request] = deploy_requests(load(fleet_copy), ["acme-dev"])
    return request


def at_version(request: DeployRequest, version: str, namespace: str) -> DeployRequest:
    """The request under `namespace`, its Open edX images and recorded Tutor version moved
    to `version` (as that release would render them)."""
    current = request.tutor_version

    def move(obj: dict[str, Any]) -> dict[str, Any]:
        moved = copy.deepcopy(obj)
        if moved["kind"] == "Namespace":
            moved["metadata"]["name"] = namespace
        else:
            moved["metadata"]["namespace"] = namespace
        for container in _containers(moved):
            if "openedx" in container.get("image", ""):
                container["image"] = container["image"].replace(current, version)
            elif moved["metadata"]["name"] == "mongodb" and int(version.split(".")[0]) < 18:
                container["image"] = "docker.io/mongo:4.4.22"  # before quince's moves
        return moved

    return DeployRequest(
        environment=namespace,
        namespace=namespace,
        objects=[move(o) for o in request.objects],
        init_jobs=[move(j) for j in request.init_jobs],
        tutor_version=version,
        plugins=request.plugins,
    )


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers") or [])


@pytest.fixture
def namespace(kube: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    name = ("u-" + request.node.name.removeprefix("test_").replace("_", "-"))[:40].rstrip("-")
    yield name
    kube.delete(Namespace, name)


def jobs_of(kube: Client, namespace: str) -> dict[str, Job]:
    return {j.metadata.name or "": j for j in kube.list(Job, namespace=namespace) if j.metadata}


def lms_image(kube: Client, namespace: str) -> str:
    lms = kube.get(Deployment, "lms", namespace=namespace)
    assert lms.spec is not None and lms.spec.template.spec is not None
    return lms.spec.template.spec.containers[0].image or ""


def created(obj: Any) -> datetime:
    stamp = obj.metadata.creationTimestamp
    assert isinstance(stamp, datetime)
    return stamp


def mongodb_generation(kube: Client, namespace: str) -> int:
    metadata = kube.get(Deployment, "mongodb", namespace=namespace).metadata
    assert metadata is not None and metadata.generation is not None
    return metadata.generation


def _of(replica_set: ReplicaSet, deployment: str) -> bool:
    return (replica_set.metadata.name or "").startswith(f"{deployment}-")  # type: ignore[union-attr]


def switched_at(kube: Client, namespace: str, deployment: str, image: str) -> datetime:
    """When the Deployment took `image`: its ReplicaSet for that template was created."""
    sets = [
        rs
        for rs in kube.list(ReplicaSet, namespace=namespace)
        if rs.metadata is not None
        and (rs.metadata.name or "").startswith(f"{deployment}-")
        and rs.spec is not None
        and rs.spec.template is not None
        and rs.spec.template.spec is not None
        and rs.spec.template.spec.containers[0].image == image
    ]
    assert sets, f"no ReplicaSet of {deployment} runs {image}"
    return min(created(rs) for rs in sets)


def test_data_services_are_converted_in_order_then_release_steps_then_migrations(
    kube: Client, rendered: DeployRequest, namespace: str
) -> None:
    """Quince to redwood moves MongoDB 5.0, 6.0, 7.0 before the backing services take the
    new images; redwood to sumac runs the learning MFE's and the forum's flags as Jobs."""
    assert "mfe" in rendered.plugins
    quince = at_version(rendered, "17.0.6", namespace)
    assert deploy_environment(kube, quince, OPTIONS, QuietProgress()).outcome == "deployed"
    redwood = at_version(rendered, "18.2.0", namespace)
    # A first attempt whose migrations fail after MongoDB was converted...
    broken = copy.deepcopy(redwood)
    broken.init_jobs[-1] = failing(broken.init_jobs[-1])  # not the template of the steps
    assert not broken.init_jobs[-1]["metadata"]["name"].startswith("lms-init-1")
    result = deploy_environment(kube, broken, OPTIONS, QuietProgress())
    assert result.outcome == "failed" and result.failed_phase == "init jobs", result.message
    assert "mongodb: " in "\n".join(result.details)  # the data service it changed
    generation = mongodb_generation(kube, namespace)
    # ...then deployed again: MongoDB is not taken back through its earlier versions.
    result = deploy_environment(kube, redwood, OPTIONS, QuietProgress())
    assert result.outcome == "deployed", (result.message, result.details)
    assert mongodb_generation(kube, namespace) == generation
    mongo_sets = {
        rs.spec.template.spec.containers[0].image: created(rs)  # type: ignore[union-attr]
        for rs in kube.list(ReplicaSet, namespace=namespace)
        if _of(rs, "mongodb")
    }
    steps = [f"docker.io/mongo:{v}" for v in ("5.0.26", "6.0.14", "7.0.28")]
    assert all(step in mongo_sets for step in steps), sorted(mongo_sets)
    times = [mongo_sets[step] for step in steps]
    assert times == sorted(times)
    lms_switch = switched_at(kube, namespace, "lms", lms_image(kube, namespace))
    assert times[-1] <= lms_switch
    upgrade_jobs = [name for name in jobs_of(kube, namespace) if name.startswith("upgrade-")]
    assert len(upgrade_jobs) == 3  # each MongoDB version's compatibility command

    sumac = at_version(rendered, "19.0.0", namespace)
    result = deploy_environment(kube, sumac, OPTIONS, QuietProgress())
    assert result.outcome == "deployed", (result.message, result.details)
    jobs = jobs_of(kube, namespace)
    # mfe and forum are enabled: the navigation sidebar flag, then the forum's backend flag.
    steps_run = sorted(
        (job for name, job in jobs.items() if name.startswith("upgrade-redwood-")), key=created
    )
    assert [(j.metadata.name or "")[:18] for j in steps_run] == [  # type: ignore[union-attr]
        "upgrade-redwood-1-",
        "upgrade-redwood-2-",
    ]
    after = created(steps_run[-1])
    later = [name for name, job in jobs.items() if "-init-" in name and created(job) >= after]
    assert later, "the sumac init Jobs ran after the release steps"
    switched = switched_at(kube, namespace, "lms", lms_image(kube, namespace))
    for step in steps_run:
        assert step.status is not None and step.status.completionTime is not None
        assert step.status.completionTime <= switched


def failing(job: dict[str, Any]) -> dict[str, Any]:
    """A Job the real Job controller gives up on after one second (no node fits it)."""
    broken = copy.deepcopy(job)
    broken["spec"]["activeDeadlineSeconds"] = 1
    broken["spec"]["template"]["spec"]["nodeSelector"] = {"campus.test/no-such-node": "true"}
    return broken


def test_a_failed_upgrade_job_keeps_the_old_release_serving(
    kube: Client,
    rendered: DeployRequest,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    ulmo = at_version(rendered, "21.0.9", namespace)
    first = deploy_environment(kube, ulmo, OPTIONS, QuietProgress())
    assert first.outcome == "deployed"
    # Leaving ulmo needs a command in the LMS image here, run from the LMS's Job template,
    # which no node can take.
    step = upgrade_table.Step(upgrade_table.StepKind.TASK, "lms", "check", "./manage.py lms check")
    releases = tuple(
        upgrade_table.ReleaseInfo(r.name, r.major, (step,)) if r.name == "ulmo" else r
        for r in upgrade_table.RELEASES
    )
    monkeypatch.setattr(upgrade_table, "RELEASES", releases)
    new = at_version(rendered, rendered.tutor_version, namespace)
    new.init_jobs[:] = [
        failing(j) if j["metadata"]["name"].startswith("lms-") else j for j in new.init_jobs
    ]
    result = deploy_environment(kube, new, OPTIONS, QuietProgress())
    assert result.outcome == "failed" and result.failed_phase == "upgrade", result.message
    assert "DeadlineExceeded" in result.message
    assert lms_image(kube, namespace).endswith(":21.0.9")  # ulmo keeps serving
    left = "\n".join(result.details)
    assert "upgrade Jobs left in the namespace: upgrade-ulmo-1-lms-" in left
    assert "previous release keeps serving" in left
    assert [r.number for r in list_revisions(kube, namespace, namespace)] == [first.revision]
    # Its release cannot be promoted until a deploy of it finishes.
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(
        "cluster: {sandbox: x}\ndefaults: {plugins: []}\nenvironments:\n"
        f"  src: {{namespace: {namespace}, hosts: {{lms: a.example.org}}, "
        f'release: {{tutor: "{rendered.tutor_version}"}}}}\n'
        "  dst: {hosts: {lms: b.example.org}}\n"
    )
    with pytest.raises(PromoteRefused, match="src's last deploy did not finish"):
        promote(fleet, "src", "dst", [], kube)


def test_a_downgrade_is_refused_and_changes_nothing(
    kube: Client, rendered: DeployRequest, namespace: str
) -> None:
    new = at_version(rendered, rendered.tutor_version, namespace)
    assert deploy_environment(kube, new, OPTIONS, QuietProgress()).outcome == "deployed"
    image = lms_image(kube, namespace)
    old = at_version(rendered, "21.0.9", namespace)
    dry = deploy_environment(kube, old, DeployOptions(dry_run=True), QuietProgress())
    assert dry.outcome == "failed" and "is older than" in dry.message
    shown = planned_upgrade(kube, old, force=True)  # what `campus diff` shows
    assert shown is not None and shown.downgrade
    assert any("is older than" in reason for reason in shown.overridden)
    result = deploy_environment(kube, old, OPTIONS, QuietProgress())
    assert result.outcome == "failed"
    assert "refused" in result.message and "is older than" in result.message
    assert lms_image(kube, namespace) == image
    assert len(list_revisions(kube, namespace, namespace)) == 1
    assert not last_deploy_unfinished(kube, namespace)  # nothing was applied
    forced = deploy_environment(
        kube, old, DeployOptions(phase_timeout=120, force=True), QuietProgress()
    )
    assert forced.outcome == "deployed", forced.message
    assert lms_image(kube, namespace).endswith(":21.0.9")


class RouteWatcher(QuietProgress):
    """Reads the environment's Ingress whenever the deploy says it runs a Job."""

    def __init__(self, kube: Client, namespace: str) -> None:
        super().__init__()
        self.kube, self.namespace = kube, namespace
        self.seen: list[set[str]] = []

    def update(self, environment: str, phase: str, message: str) -> None:
        if message.startswith("running "):
            ingress = self.kube.get(Ingress, "openedx", namespace=self.namespace)
            self.seen.append(backends(ingress.to_dict()))


def test_maintenance_routes_the_sites_to_the_page_while_jobs_run_then_back(
    kube: Client, rendered: DeployRequest, namespace: str
) -> None:
    ulmo = at_version(rendered, "21.0.9", namespace)
    assert deploy_environment(kube, ulmo, OPTIONS, QuietProgress()).outcome == "deployed"
    watcher = RouteWatcher(kube, namespace)
    new = at_version(rendered, rendered.tutor_version, namespace)
    options = DeployOptions(phase_timeout=120, maintenance=True)
    result = deploy_environment(kube, new, options, watcher)
    assert result.outcome == "deployed", (result.message, result.details)
    assert watcher.seen and all(seen == {MAINTENANCE} for seen in watcher.seen)
    ingress = kube.get(Ingress, "openedx", namespace=namespace)
    assert backends(ingress.to_dict()) == {"caddy"}
    with pytest.raises(NotFound):
        kube.get(Deployment, MAINTENANCE, namespace=namespace)


# The two releases the suite provisions (tests/integration/test_releases.py): the same pins,
# so the toolchains are shared.
ULMO = {"tutor": "21.0.9", "mfe": "21.0.2"}
VERAWOOD = {"tutor": "22.0.3", "mfe": "22.1.0"}
STAGED_FLEET = """\
cluster: {{sandbox: {sandbox}}}
defaults:
  plugins: [mfe]
  size: small
  ingress: {{mode: ingress}}
  release: {{tutor: "{old}", plugins: {{mfe: "{old_mfe}"}}}}
environments:
  up-dev:
    hosts: {{lms: learn.dev.up.example.org}}
    tutor: {{PLATFORM_NAME: "Rehearsed"}}
  up-test:
    hosts: {{lms: learn.test.up.example.org}}
  up-prod:
    hosts: {{lms: learn.up.example.org}}
"""


def assert_jobs_before_switch(kube: Client, namespace: str, old_jobs: set[str]) -> None:
    """Every Job the upgrade ran completed before lms took the new release's image."""
    image = lms_image(kube, namespace)
    assert ":22." in image, image
    switched = switched_at(kube, namespace, "lms", image)
    jobs = [job for name, job in jobs_of(kube, namespace).items() if name not in old_jobs]
    assert jobs, "the new release's init Jobs ran"
    for job in jobs:
        assert job.status is not None and job.status.completionTime is not None
        assert job.status.completionTime <= switched, job.metadata


def test_ulmo_to_verawood_staged_through_test_with_promote(
    sandbox: Any, kube: Client, tmp_path: Path
) -> None:
    """Every environment runs 21 (rendered by Tutor 21's toolchain); `upgrade` moves dev to
    22, `promote` takes dev's release to test, then test's to prod behind the maintenance
    page; each time the release's Jobs complete before lms takes the 22 image. A promotion
    from an environment that never ran its release and a downgrade of prod are refused
    before the fleet file is written."""
    from click.testing import CliRunner

    from campus.cli.main import cli

    fleet = tmp_path / "fleet.yml"
    fleet.write_text(
        STAGED_FLEET.format(sandbox=sandbox.name, old=ULMO["tutor"], old_mfe=ULMO["mfe"])
    )

    def campus(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, [*args, "-f", str(fleet), "--timeout", "120"])
        return result.exit_code, result.output

    try:
        code, output = campus("deploy")
        assert code == 0, output
        assert all(lms_image(kube, n).endswith(":21.0.9") for n in ("up-dev", "up-prod"))
        new, new_mfe = VERAWOOD["tutor"], VERAWOOD["mfe"]
        code, output = campus(
            "upgrade", "up-dev", "--to", new, "--plugin", f"mfe={new_mfe}", "--no-deploy"
        )
        assert code == 0, output
        dev = load(fleet).environment("up-dev")
        assert dev.release is not None and dev.release.tutor == new
        assert dev.release.plugins == {"mfe": new_mfe}
        written = fleet.read_text()
        code, output = campus("promote", "up-dev", "up-test")
        assert code == 1 and "up-dev never ran Tutor 22.0.3" in output, output
        assert fleet.read_text() == written

        code, output = campus("deploy", "up-dev", "--dry-run")
        assert code == 0 and "upgrade 21.0.9 (ulmo) -> 22.0.3 (verawood)" in output, output
        shown = CliRunner().invoke(cli, ["diff", "up-dev", "-f", str(fleet)])
        assert shown.exit_code == 0, shown.output
        assert "upgrade 21.0.9 (ulmo) -> 22.0.3 (verawood)" in shown.output
        assert "openedx:22.0.3" in shown.output  # lms and cms take the new image
        old_jobs = set(jobs_of(kube, "up-dev"))
        code, output = campus("deploy", "up-dev")  # the edited file, deployed later
        assert code == 0, output
        assert "upgrade 21.0.9 (ulmo) -> 22.0.3 (verawood)" in output
        assert_jobs_before_switch(kube, "up-dev", old_jobs)

        ran = fleet.read_text()  # a plugin pin dev did not run is not promoted either
        fleet.write_text(set_release(ran, "up-dev", new, {"mfe": "22.0.0"}))
        code, output = campus("promote", "up-dev", "up-test")
        assert code == 1 and "up-dev never ran mfe 22.0.0" in output, output
        fleet.write_text(ran)

        old_jobs = set(jobs_of(kube, "up-test"))
        code, output = campus("promote", "up-dev", "up-test", "--setting", "PLATFORM_NAME")
        assert code == 0, output
        shown = [line for line in output.splitlines() if "  + " in line]  # the diff shown
        assert any('tutor: "22.0.3"' in line for line in shown), output
        test_env = load(fleet).environment("up-test")
        assert test_env.release is not None and test_env.release.tutor == new
        assert test_env.tutor["PLATFORM_NAME"] == "Rehearsed"
        assert_jobs_before_switch(kube, "up-test", old_jobs)

        old_jobs = set(jobs_of(kube, "up-prod"))
        code, output = campus("promote", "up-test", "up-prod", "--maintenance")
        assert code == 0, output
        assert "to the maintenance page" in output, output
        assert_jobs_before_switch(kube, "up-prod", old_jobs)
        ingress = kube.get(Ingress, "openedx", namespace="up-prod")
        assert backends(ingress.to_dict()) == {"caddy"}  # traffic restored
        revisions = list_revisions(kube, "up-prod", "up-prod")
        assert [r.tutor_version for r in revisions] == ["21.0.9", "22.0.3"]

        promoted = fleet.read_text()
        code, output = campus("upgrade", "up-prod", "--to", "21.0.9")
        assert code == 1 and "is older than" in output and "nothing changed" in output, output
        assert fleet.read_text() == promoted
    finally:
        for name in ("up-dev", "up-test", "up-prod"):
            with contextlib.suppress(NotFound):
                kube.delete(Namespace, name)
