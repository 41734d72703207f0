"""Rule: every object says it is campus's and which environment it belongs to, so that
deploy, prune and status find exactly their own objects."""

from __future__ import annotations

from campus.harden.rule import Rule, Violation, violation
from campus.kube.objects import KubeObject
from campus.labels import ENVIRONMENT, MANAGED_BY, PART_OF
from campus.render.model import RenderedEnvironment

NAME = "ownership"


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    labels = {MANAGED_BY: "campus", PART_OF: "openedx", ENVIRONMENT: rendered.environment.name}
    for obj in objects:
        metadata = obj.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
        # Tutor puts its own managed-by label into selectors and pod templates too;
        # selectors cannot change later, so campus owns it from the first deploy.
        template = (obj.get("spec") or {}).get("template") or {}
        template_labels = (template.get("metadata") or {}).get("labels")
        if template_labels and MANAGED_BY in template_labels:
            template_labels[MANAGED_BY] = "campus"
        selector = (obj.get("spec") or {}).get("selector")
        if isinstance(selector, dict):
            match = selector.get("matchLabels", selector)
            if isinstance(match, dict) and MANAGED_BY in match:
                match[MANAGED_BY] = "campus"
    return objects


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    return [
        violation(NAME, obj, "not labelled as campus's")
        for obj in objects
        if (obj["metadata"].get("labels") or {}).get(ENVIRONMENT) != rendered.environment.name
    ]


RULE = Rule(NAME, "Tutor's labels do not say which environment an object belongs to", apply, check)
