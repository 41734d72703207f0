"""The peer-linter rule: tokens unmounted, and each Checkov waiver only where its check
would fail, with the reason docs/hardening.md repeats."""

from __future__ import annotations

from pathlib import Path

from campus.harden import harden_all
from campus.harden.peer import NAME, SKIP_PREFIX, WAIVERS, check
from campus.render.model import RenderedEnvironment

HARDENING_DOC = Path(__file__).parents[2] / "docs" / "hardening.md"


def test_waivers_follow_what_each_workload_needs(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-prod"]
    objects, jobs = harden_all(rendered)
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}

    def waived(name: str) -> set[str]:
        annotations = deployments[name]["metadata"]["annotations"]
        return {v.split("=")[0] for k, v in annotations.items() if k.startswith(SKIP_PREFIX)}

    # Tutor runs MySQL as 999: it drops every capability and says runAsNonRoot.
    assert not {"CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_23", "CKV_K8S_25"} & waived("mysql")
    assert "CKV_K8S_23" in waived("caddy")
    assert not {"CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_8", "CKV_K8S_9"} & waived("lms")
    assert {"CKV_K8S_8", "CKV_K8S_9"} <= waived("lms-worker")
    assert "CKV_K8S_25" in waived("caddy") and "CKV_K8S_25" not in waived("lms")
    for obj in objects + jobs:
        if obj["kind"] in ("Deployment", "Job"):
            assert obj["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert check(rendered, objects + jobs) == []

    # A waiver for a check the object passes is refused: lms has its probes.
    annotations = deployments["lms"]["metadata"]["annotations"]
    annotations[f"{SKIP_PREFIX}99"] = "CKV_K8S_8=not needed"
    [found] = check(rendered, objects)
    assert (found.rule, found.name) == (NAME, "lms")
    assert "CKV_K8S_8" in found.message


def test_every_waiver_is_explained_in_the_hardening_doc() -> None:
    text = HARDENING_DOC.read_text()
    assert [c for c in WAIVERS if f"`{c}`" not in text] == []


def test_the_backup_cronjobs_waivers_are_explained_in_the_hardening_doc() -> None:
    from campus.backup.schedule import WAIVERS as BACKUP_WAIVERS

    text = HARDENING_DOC.read_text()
    assert [c for c in BACKUP_WAIVERS if f"`{c}`" not in text] == []
    assert set(BACKUP_WAIVERS) <= set(WAIVERS)  # own reasons for the checks peer knows


def test_tutors_workloads_all_keep_their_read_only_root_and_uid_waivers(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    """CKV_K8S_22 and CKV_K8S_40 are waived where Checkov would fail them: on every one of
    Tutor's workloads, which write in their image and run as its low user."""
    for rendered in rendered_example.values():
        objects, jobs = harden_all(rendered)
        for obj in objects + jobs:
            if obj["kind"] not in ("Deployment", "Job"):
                continue
            annotations = obj["metadata"].get("annotations") or {}
            waived = {v.split("=")[0] for k, v in annotations.items() if k.startswith(SKIP_PREFIX)}
            assert {"CKV_K8S_22", "CKV_K8S_40"} <= waived, obj["metadata"]["name"]
