"""What deploy-family commands say and decide without a cluster: failure advice, the diff's
pairing and masking, the rollback target, and which sandbox a drill may touch."""

from __future__ import annotations

from typing import Any

import pytest

from campus.deploy.changes import Change, counts, object_diff, predecessor
from campus.deploy.model import DeployRequest
from campus.deploy.recovery import failure_advice, left_behind
from campus.deploy.revisions import Revision
from campus.deploy.rollback import pick_revision, revision_request
from campus.drill.target import drill_sandbox
from campus.errors import CampusError
from campus.fleet.model import Cluster, Fleet
from campus.kube.objects import ObjectKey


def test_failure_advice_without_a_cluster() -> None:
    """The pure part: what is said when nothing was applied, or applications were switching."""
    nothing = failure_advice(
        "acme", "acme", history_read=False, previous_revision=None, failed_phase="", applied=[]
    )
    assert nothing == [
        "This deploy changed nothing in namespace acme. Fix the cause and run "
        "`campus deploy acme` again."
    ]
    key = ObjectKey("apps/v1", "Deployment", "acme", "lms")
    switching = failure_advice(
        "acme",
        "acme",
        history_read=True,
        previous_revision=4,
        failed_phase="applications",
        applied=[key, key._replace(name="cms")],
    )
    assert "`campus rollback acme 4`" in switching[0]
    assert switching[1] == "Applied by this deploy in namespace acme: 2 Deployments."


def test_diff_pairs_content_named_objects_and_masks_changed_secret_values() -> None:
    """The pure part of `diff`: which object a renamed one replaces, and masking."""
    old = ObjectKey("v1", "Secret", "acme", "openedx-config-b15d769c39")
    others = [old._replace(kind="ConfigMap"), old._replace(name="mysql-f6ea3c84"), old]
    assert predecessor(old._replace(name="openedx-config-75e1f8e516"), others) == old
    assert predecessor(old._replace(name="openedx-config"), others) is None
    assert predecessor(old._replace(namespace="globex"), others) is None

    def secret(**data: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}

    text = object_diff(secret(a="b2xk", b="c2FtZQ=="), secret(a="bmV3", b="c2FtZQ==", c="eA=="))
    assert "-  a: <secret value hidden>\n+  a: <secret value hidden, changed>\n" in text
    assert "  b: <secret value hidden>\n" in text
    assert "+  c: <secret value hidden, changed>\n" in text
    assert not any(value in text for value in ("b2xk", "bmV3", "c2FtZQ==", "eA=="))
    assert object_diff(secret(a="b2xk"), secret(a="b2xk")) == ""


def test_what_is_left_is_counted_by_kind_in_plain_english() -> None:
    keys = [
        ObjectKey("networking.k8s.io/v1", kind, "acme", str(index))
        for index, kind in enumerate(["NetworkPolicy", "NetworkPolicy", "Ingress", "Ingress"])
    ]
    keys.append(ObjectKey("v1", "Secret", "acme", "one"))
    assert left_behind(keys) == "2 NetworkPolicies, 2 Ingresses, 1 Secret"


def test_a_replacement_counts_once_and_every_action_is_counted() -> None:
    changes = [
        Change("create", "a"),
        Change("replace", "b with c", "diff"),
        Change("change", "d", "diff"),
        Change("delete", "e"),
        Change("create", "f"),
    ]
    assert counts(changes) == {"create": 2, "change": 1, "replace": 1, "delete": 1}


def revision(number: int) -> Revision:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"init-{number}"}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{number}"}}
    return Revision(
        number=number,
        environment="acme",
        digest=f"d{number}",
        campus_version="0.1.0",
        tutor_version=f"22.0.{number}",
        fleet_hash=f"f{number}",
        deployed_at="2026-11-25T00:00:00+00:00",
        deployed_by="ci@runner",
        objects=(config,),
        init_jobs=(job,),
    )


def test_rollback_goes_to_the_revision_before_the_newest_or_the_one_named() -> None:
    revisions = [revision(1), revision(2), revision(3)]
    assert pick_revision("acme", revisions, None).number == 2
    assert pick_revision("acme", revisions, 1).number == 1
    with pytest.raises(CampusError, match="acme has no revision 7; recorded: 1, 2, 3"):
        pick_revision("acme", revisions, 7)
    with pytest.raises(CampusError, match="only revision 1: nothing to roll back to"):
        pick_revision("acme", revisions[:1], None)
    with pytest.raises(CampusError, match="no recorded revision yet"):
        pick_revision("acme", [], None)


def test_a_rollback_request_applies_the_revision_as_recorded(example_fleet: Fleet) -> None:
    environment = example_fleet.environments[0]
    request = revision_request(revision(2), environment)
    assert request == DeployRequest(
        environment=environment.name,
        namespace=environment.namespace,
        objects=[revision(2).objects[0]],
        init_jobs=[revision(2).init_jobs[0]],
        tutor_version="22.0.2",
        fleet_hash="f2",
    )


def test_a_drill_runs_only_on_a_sandbox(example_fleet: Fleet) -> None:
    on_sandbox = example_fleet.model_copy(update={"cluster": Cluster(sandbox="demo")})
    assert drill_sandbox(on_sandbox) == "demo"
    assert drill_sandbox(on_sandbox, "copy") == "copy"
    real = example_fleet.model_copy(update={"cluster": Cluster(context="prod-eu")})
    with pytest.raises(CampusError, match="deploys to context prod-eu, not a sandbox"):
        drill_sandbox(real)
    assert drill_sandbox(real, "rehearsal") == "rehearsal"


def test_selecting_environments_keeps_fleet_order_and_names_the_unknown(
    example_fleet: Fleet,
) -> None:
    names = [e.name for e in example_fleet.environments]
    assert [e.name for e in example_fleet.select()] == names
    assert [e.name for e in example_fleet.select(names[::-1][:2])] == names[-2:]
    with pytest.raises(CampusError) as raised:
        example_fleet.select(["nope", names[0]])
    assert str(raised.value).startswith(f"no environment nope in {example_fleet.source}; known:")
    assert example_fleet.environment(names[0]).name == names[0]
    with pytest.raises(CampusError, match="no environment zzz"):
        example_fleet.environment("zzz")
