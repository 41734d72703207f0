"""Linting: the hardening rules' own checks, plus validation of every object against the
Kubernetes OpenAPI schema of the sandbox's release."""

from __future__ import annotations

import functools
import re
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


@functools.cache
def _validator(kind: str, api_version: str) -> Any:
    """The strict schema of `kind` in `SCHEMA_VERSION`, read and compiled once a process
    (`kubernetes_validate.validate` reads the schema files again for every object), or
    None when kubernetes-validate has none."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    # The newest schema not newer than SCHEMA_VERSION, as kubernetes_validate.validate picks.
    wanted = utils.major_minor(SCHEMA_VERSION)
    version = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted][-1]
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", SCHEMA_VERSION)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ Registry()
    registry = _definitions(folder) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _definitions(folder: str) -> Any:
    from kubernetes_validate import utils
    from referencing import Resource

    return Resource.from_contents(
        utils.schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)
    )


def schema_violations(objects: list[KubeObject]) -> list[Violation]:
    import jsonschema

    found = []
    for obj in objects:
        api_version = str(obj.get("apiVersion", ""))
        if api_version.startswith(CUSTOM_API_GROUPS):
            continue
        validator = _validator(str(obj.get("kind", "")), api_version)
        if validator is None:
            missing = f"no schema for {obj.get('kind')} {api_version}"
            found.append(
                violation("schema", obj, f"unknown kind: {missing} in Kubernetes {SCHEMA_VERSION}")
            )
            continue
        try:
            validator.validate(obj)
        except jsonschema.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            found.append(violation("schema", obj, f"{path}: {error.message}"))
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
