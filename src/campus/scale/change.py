"""A scale or autoscale change from request to fleet file: edit the text, load it with the
normal loader, render and harden the environment, check, and only then write it.

Tutor's output does not depend on replicas or autoscaling, so the environment is rendered
once and hardened twice (before and after the change) to compare the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lightkube import Client

from campus.deploy.model import DeployRequest
from campus.errors import CampusError
from campus.fleet.edit import LineChange, line_changes, staged, written_value
from campus.fleet.edit import remove_autoscaling as remove_autoscaling_text
from campus.fleet.edit import remove_replicas as remove_replicas_text
from campus.fleet.edit import set_autoscaling as set_autoscaling_text
from campus.fleet.edit import set_replicas as set_replicas_text
from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject
from campus.scale import rules
from campus.scale.capacity import capacity_refusal, ceiling_note
from campus.scale.cluster import read_room


class ScaleRefused(CampusError):
    """The change would break a rule; nothing was written."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        if len(reasons) == 1:
            super().__init__(f"refused, nothing written: {reasons[0]}")
        else:
            super().__init__("refused, nothing written:\n" + "\n".join(f"  {r}" for r in reasons))


@dataclass
class Change:
    """What a command did to the fleet file, and what to deploy."""

    environment: Environment
    written: bool
    lines: list[LineChange]
    summary: list[str]
    request: DeployRequest
    notes: list[str] = field(default_factory=list)
    autoscaled_now: list[str] = field(default_factory=list)  # Deployments given to a new HPA


@dataclass(frozen=True)
class Edit:
    """The text after the edit, the services it touches, notes, and the wording of the
    change for refusals ("cms=3")."""

    text: str
    services: tuple[str, ...]
    what: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """The environment and its hardened objects before and after the change."""

    before: Environment
    after: Environment
    objects_before: list[KubeObject]
    objects: list[KubeObject]

    def rule_refusals(self, what: str) -> list[str]:
        return rules.rule_refusals(
            (self.before, self.objects_before), (self.after, self.objects), what
        )


Checks = Callable[[Comparison], list[str]]


def apply_change(
    fleet_file: Path,
    name: str,
    make_edit: Callable[[str, Environment], Edit],
    checks: Checks,
    client: Client | None,
) -> Change:
    """Edit, validate, check; write the fleet file only when nothing is refused."""
    from campus.harden import harden_all
    from campus.pipeline import build, fleet_hash

    original = fleet_file.read_text()
    before = load_fleet(fleet_file).environment(name)
    edit = make_edit(original, before)
    with staged(fleet_file, original, edit.text) as staged_file:
        try:
            fleet_after = load_fleet(staged_file.path)
        except FleetFileError as error:
            invalid = FleetFileError(fleet_file, error.problems)
            raise CampusError(
                f"refused, nothing written: the change would make the fleet file invalid:\n"
                f"{invalid}"
            ) from None
        after = fleet_after.environment(name)
        # The services edited are checked below, with scale's own message; the build's
        # check would name the staged file.
        [built] = build(fleet_after, [name], client=client, check_services=False)
        objects = built.objects
        objects_before, _ = harden_all(dataclasses.replace(built.rendered, environment=before))
        # The staged file holds exactly the bytes that will be written.
        request = built.request(fleet_hash(fleet_after))
        known = rules.services(objects_before)
        unknown = [rules.unknown_service(name, s, known) for s in edit.services]
        reasons = [reason for reason in unknown if reason]
        if not reasons:
            reasons = checks(Comparison(before, after, objects_before, objects))
        notes = list(edit.notes)
        room = read_room(client, after.namespace) if client is not None and not reasons else None
        if room is not None:
            too_big = capacity_refusal(name, objects_before, objects, room, edit.what)
            reasons += [too_big] if too_big else []
            ceiling = ceiling_note(name, objects, room)
            notes += [ceiling] if ceiling else []
        elif client is not None and not reasons:
            notes.append("capacity not checked: these credentials may not list nodes and pods")
        if reasons:
            raise ScaleRefused(reasons)
        written = edit.text != original
        if written:
            staged_file.commit()
    scalers = {o["metadata"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    scalers_before = {
        o["metadata"]["name"] for o in objects_before if o["kind"] == "HorizontalPodAutoscaler"
    }
    return Change(
        environment=after,
        written=written,
        lines=line_changes(original, edit.text),
        summary=[
            f"{service}: {rules.describe(before, service)} -> {rules.describe(after, service)}"
            for service in edit.services
        ],
        notes=notes,
        request=request,
        autoscaled_now=sorted(scalers - scalers_before),
    )


def scale(fleet_file: Path, name: str, counts: dict[str, int], client: Client | None) -> Change:
    """`replicas.<service>: N` for each service."""

    def make_edit(text: str, before: Environment) -> Edit:
        for service, count in counts.items():
            text = set_replicas_text(text, before.name, service, count)
        what = ", ".join(f"{s}={n}" for s, n in counts.items())
        return Edit(text, tuple(counts), what)

    def checks(seen: Comparison) -> list[str]:
        reasons = []
        for service, count in counts.items():
            reason = rules.autoscaled_refusal(seen.before, service, count) or (
                rules.data_volume_refusal(seen.objects, service, count)
            )
            reasons += [reason] if reason else []
        what = ", ".join(f"{s}={n}" for s, n in counts.items())
        return reasons + seen.rule_refusals(what)

    return apply_change(fleet_file, name, make_edit, checks, client)


def autoscale(
    fleet_file: Path,
    name: str,
    service: str,
    minimum: int,
    maximum: int,
    cpu: int | None,
    client: Client | None,
) -> Change:
    """`autoscaling.<service>: {min, max, cpu}`; a `replicas.<service>` of the environment
    goes, since the HPA owns the count from now on."""
    if minimum > maximum:
        raise ScaleRefused([f"--min {minimum} is above --max {maximum}"])

    def make_edit(text: str, before: Environment) -> Edit:
        text = set_autoscaling_text(text, before.name, service, minimum, maximum, cpu)
        notes = []
        own = written_value(text, ["environments", before.name, "replicas", service])
        if own is not None:
            text = remove_replicas_text(text, before.name, service)
            notes.append(
                f"replicas.{service}: {own} removed from {before.name}: the "
                f"HorizontalPodAutoscaler owns the count of {service} now"
            )
        return Edit(text, (service,), f"{service} --min {minimum}", tuple(notes))

    def checks(seen: Comparison) -> list[str]:
        reason = rules.data_volume_refusal(seen.objects, service, maximum)
        if reason:
            return [reason]
        return seen.rule_refusals(f"an autoscaling floor (--min) of {minimum}")

    return apply_change(fleet_file, name, make_edit, checks, client)


def autoscale_off(fleet_file: Path, name: str, service: str, client: Client | None) -> Change:
    """Remove `autoscaling.<service>` from the environment: its count is fixed again (its
    `replicas`, or the default), unless the production default still autoscales it."""

    def make_edit(text: str, before: Environment) -> Edit:
        path = ["environments", before.name, "autoscaling", service]
        if written_value(text, path) is not None:
            text = remove_autoscaling_text(text, before.name, service)
        elif written_value(text, ["defaults", "autoscaling", service]) is not None:
            raise ScaleRefused(
                [
                    f"{name} inherits autoscaling.{service} from defaults, which an environment "
                    f"cannot drop: edit defaults in {fleet_file}"
                ]
            )
        return Edit(text, (service,), f"{service} without autoscaling")

    def checks(seen: Comparison) -> list[str]:
        return seen.rule_refusals(f"{service} without autoscaling")

    change = apply_change(fleet_file, name, make_edit, checks, client)
    still = rules.autoscaling(change.environment, service)
    if still is not None:
        change.notes.append(
            f"{service} stays autoscaled ({still.min}-{still.max}): production environments "
            f"autoscale lms, cms and their workers by default; set the range with "
            f"campus autoscale {name} {service} --min N --max M"
        )
    return change
