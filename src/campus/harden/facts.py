"""Rule: every workload carries its service's catalogue facts as resolved for its
environment.

Deploy, diff and rollback see only objects, and drills, drains and status see only live
ones: none of them can resolve the catalogue again (the fallback needs Tutor's render, an
override the fleet file). So each Deployment and StatefulSet is annotated with its
service's kind, deploy phase and whether it is stateless, and its pod template with the
kind and statelessness (a drain sees pods). Stateless here is what the availability rule
decided: a web service or worker that mounts a volume, or Caddy holding its certificates
in caddy mode, is not replicated, so it is not counted as one that must stay up.
"""

from __future__ import annotations

import dataclasses

from campus.harden.availability import replicable
from campus.harden.rule import Rule, Violation, catalogue, service_of, violation
from campus.kube.objects import KubeObject, annotations_of
from campus.render.model import RenderedEnvironment
from campus.services import Kind, Service, pod_annotations, workload_annotations

NAME = "facts"
WORKLOADS = ("Deployment", "StatefulSet")


def resolved(rendered: RenderedEnvironment, objects: list[KubeObject], service: str) -> Service:
    """The service's entry with `stateless` as the availability rule applied it."""
    entry = catalogue(rendered).get(service)
    if entry.kind in (Kind.WEB, Kind.WORKER):
        return dataclasses.replace(entry, stateless=replicable(rendered, service, objects))
    return entry


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        service = resolved(rendered, objects, service_of(obj))
        metadata = obj.setdefault("metadata", {})
        metadata["annotations"] = {**annotations_of(obj), **workload_annotations(service)}
        template = obj["spec"]["template"].setdefault("metadata", {})
        template["annotations"] = {
            **(template.get("annotations") or {}),
            **pod_annotations(service),
        }
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        service = resolved(rendered, objects, service_of(obj))
        template = obj["spec"]["template"].get("metadata") or {}
        wrong = sorted(
            {
                key
                for carried, wanted in (
                    (annotations_of(obj), workload_annotations(service)),
                    (template.get("annotations") or {}, pod_annotations(service)),
                )
                for key, value in wanted.items()
                if carried.get(key) != value
            }
        )
        if wrong:
            found.append(
                violation(
                    NAME,
                    obj,
                    f"does not carry its service's catalogue facts ({', '.join(wrong)}); "
                    "drills and status would count it wrongly",
                )
            )
    return found


RULE = Rule(NAME, "live objects say nothing of what the service catalogue decided", apply, check)
