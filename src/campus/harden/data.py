"""Rule: data volumes are marked as data, so no campus operation prunes or destroys them
unless the user asks for exactly that."""

from __future__ import annotations

from campus.harden.rule import Rule, Violation, violation
from campus.kube.objects import KubeObject
from campus.labels import DATA, PRUNE
from campus.render.model import RenderedEnvironment

NAME = "data"


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    for obj in objects:
        if obj["kind"] == "PersistentVolumeClaim":
            metadata = obj["metadata"]
            metadata["labels"] = {**(metadata.get("labels") or {}), DATA: "true"}
            metadata["annotations"] = {**(metadata.get("annotations") or {}), PRUNE: "never"}
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    return [
        violation(NAME, obj, "volume not marked as data")
        for obj in objects
        if obj["kind"] == "PersistentVolumeClaim"
        and (obj["metadata"].get("labels") or {}).get(DATA) != "true"
    ]


RULE = Rule(NAME, "nothing marks Tutor's volumes as data", apply, check)
