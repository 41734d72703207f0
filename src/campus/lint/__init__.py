"""Linting: the hardening rules' own checks, plus validation of every object against the
Kubernetes OpenAPI schema of the sandbox's release."""

from __future__ import annotations

from typing import Any

from campus.harden import RULES
from campus.harden.rule import Violation, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.services import catalogue_for

SCHEMA_VERSION = "1.36.0"
# Kinds that custom resource definitions add (Gateway API): the Kubernetes OpenAPI schema
# does not have them; the API server validates them against their CRD at apply.
CUSTOM_API_GROUPS = ("gateway.networking.k8s.io/",)


def schema_violations(objects: list[KubeObject]) -> list[Violation]:
    import kubernetes_validate

    found = []
    for obj in objects:
        if str(obj.get("apiVersion", "")).startswith(CUSTOM_API_GROUPS):
            continue
        try:
            kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            found.append(violation("schema", obj, f"{path}: {error.message}"))
        except kubernetes_validate.SchemaNotFoundError as error:
            found.append(violation("schema", obj, f"unknown kind: {error}"))
    return found


def lint(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    """Every rule's check and the schema, over the objects (init Jobs included)."""
    found: list[Violation] = []
    for rule in RULES:
        found += rule.check(rendered, objects)
    return found + schema_violations(objects)


def summary(violations: list[Violation]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for item in violations:
        counts[item.rule] = counts.get(item.rule, 0) + 1
    return counts


def notes(rendered: RenderedEnvironment) -> list[str]:
    """What lint assumed: each service the catalogue does not know, and the fallback
    classification it got from Tutor's objects (docs/plugin-services.md)."""
    services = catalogue_for(rendered.objects, rendered.environment.services)
    return [
        f"service {s.name}: not in the catalogue, {s.source.removeprefix('fallback: ')}; "
        f"set services.{s.name} in the fleet file to decide"
        for s in services.fallbacks()
    ]
