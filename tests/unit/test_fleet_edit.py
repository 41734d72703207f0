"""Editing the fleet file in place: only the edited lines change, in the file's own style;
and what `campus scale` / `autoscale` refuse, decided on the rendered example fleet."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from campus.fleet import edit
from campus.fleet.inherit import resolve
from campus.fleet.model import Environment, Fleet, FleetFile
from campus.harden import availability, harden
from campus.harden.rule import Rule, Violation, violation
from campus.kube.objects import KubeObject
from campus.kube.resources import GIB, Resources
from campus.render.model import RenderedEnvironment
from campus.scale import rules
from campus.scale.capacity import capacity_refusal, environment_requests, room_for

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"

# A layout a round-trip dump would not keep: 4-space indentation, indented sequences,
# spaces inside flow mappings, aligned comments, an odd spacing after a colon, a document end.
ODD = """\
# top comment
cluster: {sandbox: campus}
defaults:
    plugins:
        - mfe      # kept
    replicas: { lms: 1 }
environments:
    a: {hosts: {lms: a.example.org}, replicas: {cms: 1}}
    b:   # b, in blocks
        hosts:
            lms: b.example.org
        size:    small
        autoscaling:
            lms:
                min: 2
                max: 4
        tutor: {PLATFORM_NAME: 'B ''quoted'''}


    c:
        hosts: {lms: c.example.org}
        tutor:
            PLATFORM_NAME: "C"
...
"""
INNER, DEEP = " " * 12, " " * 16


def changed(before: str, after: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    return [(c.removed, c.added) for c in edit.line_changes(before, after)]


def test_changing_a_count_changes_only_that_line() -> None:
    text = EXAMPLE.read_text()
    after = edit.set_replicas(text, "acme-prod", "cms", 3)
    assert changed(text, after) == [(("      cms: 2",), ("      cms: 3",))]


def test_a_new_replicas_block_goes_before_tutor_in_the_environments_style() -> None:
    text = EXAMPLE.read_text()
    after = edit.set_replicas(text, "acme-dev", "cms", 3)
    assert changed(text, after) == [((), ("    replicas:", "      cms: 3"))]
    lines = after.splitlines()
    assert lines[lines.index("      cms: 3") + 1] == "    tutor:"
    assert load_fleet_text(after).environment("acme-dev").replicas == {"cms": 3}


def test_flow_mappings_stay_flow_and_keep_their_spacing() -> None:
    after = edit.set_replicas(ODD, "a", "lms", 4)
    assert changed(ODD, after) == [
        (
            ("    a: {hosts: {lms: a.example.org}, replicas: {cms: 1}}",),
            ("    a: {hosts: {lms: a.example.org}, replicas: {cms: 1, lms: 4}}",),
        )
    ]
    # A new section takes the style the file gives the same key elsewhere (defaults: flow).
    after = edit.set_replicas(ODD, "b", "cms", 2)
    assert changed(ODD, after) == [((), ("        replicas: {cms: 2}",))]


def test_block_entries_keep_the_files_indentation() -> None:
    after = edit.set_autoscaling(ODD, "b", "cms", 1, 3, 50)
    assert changed(ODD, after) == [
        (
            (),
            (
                "            cms:",
                "                min: 1",
                "                max: 3",
                "                cpu: 50",
            ),
        )
    ]
    after = edit.set_autoscaling(ODD, "b", "lms", 3, 5, None)
    assert changed(ODD, after) == [
        (
            ("                min: 2", "                max: 4"),
            ("                min: 3", "                max: 5"),
        )
    ]


def test_removing_the_last_entry_removes_its_section() -> None:
    after = edit.remove_autoscaling(ODD, "b", "lms")
    assert changed(ODD, after) == [
        (
            (
                "        autoscaling:",
                "            lms:",
                "                min: 2",
                "                max: 4",
            ),
            (),
        )
    ]
    after = edit.remove_replicas(ODD, "a", "cms")
    assert changed(ODD, after) == [
        (
            ("    a: {hosts: {lms: a.example.org}, replicas: {cms: 1}}",),
            ("    a: {hosts: {lms: a.example.org}}",),
        )
    ]


def test_comments_blank_lines_and_quotes_survive_every_edit() -> None:
    text = ODD
    for step in (
        lambda t: edit.set_replicas(t, "c", "lms", 2),
        lambda t: edit.set_autoscaling(t, "c", "cms", 2, 4, 80),
        lambda t: edit.set_replicas(t, "b", "lms", 3),
        lambda t: edit.set_replicas(t, "a", "lms", 2),
        lambda t: edit.set_autoscaling(t, "b", "lms", 3, 6, None),
    ):
        text = step(text)
    kept = [line for line in ODD.splitlines() if "#" in line or "'" in line or not line.strip()]
    for line in kept:
        assert line in text.splitlines(), line
    assert text.endswith("...\n")
    # Edited back to where it started, the file is byte-for-byte the original.
    for step in (
        lambda t: edit.remove_replicas(t, "c", "lms"),
        lambda t: edit.remove_autoscaling(t, "c", "cms"),
        lambda t: edit.remove_replicas(t, "b", "lms"),
        lambda t: edit.remove_replicas(t, "a", "lms"),
        lambda t: edit.set_autoscaling(t, "b", "lms", 2, 4, None),
    ):
        text = step(text)
    assert text == ODD


def test_an_environment_that_is_not_a_mapping_cannot_be_edited() -> None:
    with pytest.raises(edit.FleetEditError):
        edit.set_replicas("environments:\n  a: null\n", "a", "lms", 2)


def test_staged_file_replaces_atomically_and_refuses_a_file_changed_meanwhile(
    tmp_path: Path,
) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(ODD)
    fleet.chmod(0o640)
    new = edit.set_replicas(ODD, "c", "lms", 2)
    with edit.staged(fleet, ODD, new) as staged:
        assert staged.path.parent == tmp_path and fleet.read_text() == ODD
        staged.commit()
    assert fleet.read_text() == new and (fleet.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.yml"]
    with edit.staged(fleet, ODD, ODD) as staged, pytest.raises(edit.FleetEditError):
        staged.commit()  # the file no longer holds what was read
    assert fleet.read_text() == new and sorted(p.name for p in tmp_path.iterdir()) == ["fleet.yml"]


def load_fleet_text(text: str) -> Fleet:
    from ruamel.yaml import YAML

    return resolve(FleetFile.model_validate(YAML(typ="safe").load(text)), source="fleet.yml")


# --- refusals, on the example fleet as rendered by Tutor --------------------------------


def hardened(rendered: RenderedEnvironment, environment: Environment) -> list[KubeObject]:
    return harden(dataclasses.replace(rendered, environment=environment))


def edited(rendered: RenderedEnvironment, text: str) -> Environment:
    return load_fleet_text(text).environment(rendered.environment.name)


def test_inheritance_from_defaults_is_respected(tmp_path: Path) -> None:
    text = ODD
    after = load_fleet_text(edit.set_replicas(text, "c", "cms", 3)).environment("c")
    assert after.replicas == {"lms": 1, "cms": 3}  # lms still from defaults
    after = load_fleet_text(edit.set_replicas(text, "c", "lms", 2)).environment("c")
    assert after.replicas == {"lms": 2}
    assert "replicas: { lms: 1 }" in edit.set_replicas(text, "c", "lms", 2)


def test_unknown_service_lists_what_the_environment_runs(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    known = rules.services(harden(rendered))
    assert "lms" in known and "mysql" in known
    reason = rules.unknown_service("acme-dev", "lsm", known)
    assert reason is not None and "lms" in reason and "'lsm'" in reason
    assert rules.unknown_service("acme-dev", "lms", known) is None


def test_autoscaled_services_point_to_campus_autoscale(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    prod = rendered_example["acme-prod"].environment
    reason = rules.autoscaled_refusal(prod, "lms", 5)
    assert reason is not None and "campus autoscale acme-prod lms --min 5 --max 8" in reason
    staging = rendered_example["acme-staging"].environment  # autoscaled by production default
    reason = rules.autoscaled_refusal(staging, "cms", 3)
    assert reason is not None and "production default" in reason
    assert rules.autoscaled_refusal(staging, "mfe", 3) is None


def test_production_web_service_below_two_breaks_the_availability_rule(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-staging"]
    text = EXAMPLE.read_text()
    before = rendered.environment
    for count, refused in ((1, True), (0, True), (2, False), (3, False)):
        after = edited(rendered, edit.set_replicas(text, "acme-staging", "mfe", count))
        reasons = rules.rule_refusals(
            (before, hardened(rendered, before)), (after, hardened(rendered, after)), "mfe=1"
        )
        assert bool(reasons) is refused, count
        if refused:
            assert "PodDisruptionBudget" in reasons[0] and "mfe in acme-staging" in reasons[0]
    # Outside production one replica is fine.
    dev = rendered_example["acme-dev"]
    after = edited(dev, edit.set_replicas(text, "acme-dev", "mfe", 1))
    assert not rules.rule_refusals(
        (dev.environment, hardened(dev, dev.environment)), (after, hardened(dev, after)), "x"
    )


def test_autoscaling_floor_below_two_in_production_is_refused(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["globex-prod"]
    before = rendered.environment
    after = edited(
        rendered, edit.set_autoscaling(EXAMPLE.read_text(), "globex-prod", "lms", 1, 4, None)
    )
    assert after.autoscaling["lms"].min == 1
    reasons = rules.rule_refusals(
        (before, hardened(rendered, before)), (after, hardened(rendered, after)), "a floor of 1"
    )
    assert reasons and "lms in globex-prod" in reasons[0]


def test_a_data_volume_keeps_one_pod(rendered_example: dict[str, RenderedEnvironment]) -> None:
    objects = harden(rendered_example["acme-dev"])
    reason = rules.data_volume_refusal(objects, "mysql", 2)
    assert reason is not None and "ReadWriteOnce" in reason
    assert rules.data_volume_refusal(objects, "mysql", 1) is None
    assert rules.data_volume_refusal(objects, "lms", 4) is None


def node(cpu: str, memory: str, ready: bool = True) -> dict[str, object]:
    return {
        "metadata": {"name": "n"},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(namespace: str, cpu: str, memory: str, phase: str = "Running") -> dict[str, object]:
    container = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    return {
        "metadata": {"namespace": namespace},
        "spec": {"containers": [container]},
        "status": {"phase": phase},
    }


def test_capacity_counts_other_namespaces_and_refuses_only_growth(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    before_objects = harden(rendered)
    after_env = edited(rendered, edit.set_replicas(EXAMPLE.read_text(), "acme-dev", "lms", 20))
    after_objects = hardened(rendered, after_env)
    grown = environment_requests(after_objects) - environment_requests(before_objects)
    assert grown.cpu == 4750  # millicores: 19 more lms pods at 250m (size small)
    room = room_for(
        "acme-dev",
        [node("4", "16Gi"), node("4", "16Gi"), node("64", "256Gi", ready=False)],
        [
            pod("other", "3", "4Gi"),
            pod("acme-dev", "2", "2Gi"),
            pod("done", "8", "8Gi", "Succeeded"),
        ],
    )
    assert room.free == Resources(5000, 28 * GIB)
    reason = capacity_refusal("acme-dev", before_objects, after_objects, room, "lms=20")
    assert reason is not None and "5 CPU" in reason and "2 nodes" in reason
    # Shrinking is never refused, even on a cluster that is already too small.
    assert capacity_refusal("acme-dev", after_objects, before_objects, room, "lms=1") is None


def test_rule_refusals_match_the_check_by_name_not_by_message(
    rendered_example: dict[str, RenderedEnvironment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explanation for too few replicas follows the check's name: a reworded message
    keeps it, and another check that happens to say the same words does not get it."""
    environment = rendered_example["acme-staging"].environment
    deployment: KubeObject = {"kind": "Deployment", "metadata": {"name": "mfe"}}

    def refusals(*found: Violation) -> list[str]:
        def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
            return list(found) if objects else []

        fake = Rule(availability.NAME, "", lambda rendered, objects: objects, check)
        monkeypatch.setattr(rules, "RULES", (fake,))
        return rules.rule_refusals((environment, []), (environment, [deployment]), "mfe=1")

    reworded = violation(availability.NAME, deployment, "one replica", availability.WEB_REPLICAS)
    [reason] = refusals(reworded)
    assert "needs 2 or more replicas" in reason and "mfe=1 breaks that rule" in reason
    same_words = violation(
        availability.NAME, deployment, "production web service with fewer than 2 replicas"
    )
    [reason] = refusals(same_words)
    assert reason.startswith("mfe=1 breaks a hardening rule: [availability]")


def test_the_availability_check_names_the_replica_floor(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-staging"]
    after = edited(rendered, edit.set_replicas(EXAMPLE.read_text(), "acme-staging", "mfe", 1))
    found = availability.check(rendered, hardened(rendered, after))
    assert [(v.name, v.check) for v in found if v.check] == [("mfe", availability.WEB_REPLICAS)]


def test_a_release_pin_is_added_then_changed_in_place_every_other_line_kept() -> None:
    pinned = edit.set_release(ODD, "b", "21.0.9")
    changes = edit.line_changes(ODD, pinned)
    assert [c.removed for c in changes] == [()]
    assert [line.strip() for c in changes for line in c.added] == ["release:", 'tutor: "21.0.9"']
    upgraded = edit.set_release(pinned, "b", "22.0.3", {"mfe": "22.0.1"})
    [changed] = edit.line_changes(pinned, upgraded)
    assert changed.removed == ('            tutor: "21.0.9"',)
    assert [line.strip() for line in changed.added] == [
        'tutor: "22.0.3"',
        "plugins:",
        'mfe: "22.0.1"',
    ]
    flow = edit.set_release(ODD, "a", "22.0.3")  # a flow-style environment stays one line
    assert 'release: {tutor: "22.0.3"}' in flow
    assert len(flow.splitlines()) == len(ODD.splitlines())


def test_a_setting_is_written_quoted_and_read_back_as_written() -> None:
    text = edit.set_setting(ODD, "b", "PLATFORM_NAME", "Acme: rehearsed")
    assert edit.written_value(text, ["environments", "b", "tutor", "PLATFORM_NAME"]) == (
        "Acme: rehearsed"
    )
    flag = edit.set_setting(text, "b", "ENABLE_HTTPS", True)
    assert edit.written_value(flag, ["environments", "b", "tutor", "ENABLE_HTTPS"]) is True
