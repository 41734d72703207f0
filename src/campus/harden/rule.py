"""What a hardening rule is: a transformation and the check that proves it, defined
together so that `campus render` and `campus lint` can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campus.kube.objects import KubeObject
from campus.labels import NAME
from campus.render.model import RenderedEnvironment
from campus.services import Catalogue, catalogue_for
from campus.services.model import Kind


@dataclass(frozen=True)
class Violation:
    """An object breaking a rule. `rule` is the rule's name; `check` names which of the
    rule's checks it failed, where a reader must tell them apart. Readers match on these
    names, never on the message, which is for people."""

    rule: str
    kind: str
    name: str
    namespace: str
    message: str
    check: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.kind} {self.namespace}/{self.name}: {self.message}"


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    apply: Callable[[RenderedEnvironment, list[KubeObject]], list[KubeObject]]
    check: Callable[[RenderedEnvironment, list[KubeObject]], list[Violation]]


def violation(rule: str, obj: KubeObject, message: str, check: str = "") -> Violation:
    metadata = obj.get("metadata", {})
    return Violation(
        rule, obj["kind"], metadata.get("name", ""), metadata.get("namespace", ""), message, check
    )


# Workloads whose pods run to completion: sized as init Jobs are, and never probed.
JOB_KINDS = ("Job", "CronJob")


def pod_spec(obj: KubeObject) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    if obj["kind"] == "CronJob":  # campus's backups, a plugin's periodic task
        cron: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return cron
    return None


def pod_labels(obj: KubeObject) -> dict[str, str]:
    """The labels of a workload's or Job's pods, as its template gives them."""
    template = (obj.get("spec") or {}).get("template") or {}
    labels: dict[str, str] = (template.get("metadata") or {}).get("labels") or {}
    return labels


def service_of(obj: KubeObject) -> str:
    return str((obj.get("metadata", {}).get("labels") or {}).get(NAME, obj["metadata"]["name"]))


class _Last:
    """The catalogue last built, with what it was built from."""

    built: tuple[RenderedEnvironment, list[KubeObject], int, Catalogue] | None = None


def catalogue(rendered: RenderedEnvironment) -> Catalogue:
    """The environment's service catalogue, from Tutor's own objects and the fleet file's
    overrides: what every rule knows about each service. Rules ask for it object by
    object, and building it reads the Caddyfile: it is built once while the same
    environment asks (rules copy Tutor's objects, never change them)."""
    last = _Last.built
    if (
        last is not None
        and last[0] is rendered
        and last[1] is rendered.objects
        and last[2] == len(rendered.objects)
    ):
        return last[3]
    built = catalogue_for(rendered.objects, rendered.environment.services)
    _Last.built = (rendered, rendered.objects, len(rendered.objects), built)
    return built


def serving(rendered: RenderedEnvironment) -> set[str]:
    """The environment's services that serve requests (the catalogue's web kind)."""
    return {name for name, s in catalogue(rendered).services.items() if s.kind is Kind.WEB}
