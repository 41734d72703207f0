"""Rule: secrets live in Secrets only.

Tutor writes SECRET_KEY, database passwords and JWT keys into ConfigMaps (lms.env.yml,
settings files) and into init Job arguments; anyone who can read ConfigMaps or Jobs in the
namespace reads them. Every ConfigMap holding a secret becomes a Secret of the same name
(references switched), and a Job script holding one is moved into a Secret it reads at run
time.

A value is secret because of the setting it belongs to (`is_secret_setting`: passwords,
keys, tokens), whatever its length: a 7-character password an operator chose is as secret
as a generated one. Besides those settings' values, every line of a multi-line one (a PEM
key is rendered line by line too) and what the render worker found (a JWT key's private
numbers as rendered in its JWK) are secrets. A short secret matches wherever its text
appears, so a weak password can make campus move more into Secrets than needed (harmless)
and the check flag objects that merely contain the same characters: choose long ones.
"""

from __future__ import annotations

import json
from typing import Any

from campus.fleet.tutor_settings import is_secret_setting
from campus.harden.rule import Rule, Violation, pod_spec, violation
from campus.kube.objects import KubeObject, digest
from campus.render.model import RenderedEnvironment

NAME = "secrets"
SCRIPT_VARIABLE = "CAMPUS_INIT_SCRIPT"


def secret_values(rendered: RenderedEnvironment) -> frozenset[str]:
    """Every text that must never appear outside a Secret, as written and as it reads once
    escaped in JSON (the form the rules search)."""
    values = set(rendered.secret_values)
    for key, value in rendered.tutor_config.items():
        if not is_secret_setting(key) or isinstance(value, bool) or value is None:
            continue
        text = str(value)
        values.add(text)
        values |= set(text.splitlines())
    values = {value.strip() for value in values} - {""}
    return frozenset(values | {json.dumps(value)[1:-1] for value in values})


def _holds_secret(text: str, secrets: frozenset[str]) -> bool:
    return any(secret in text for secret in secrets)


def _switch_references(spec: dict[str, Any], names: set[str]) -> None:
    for volume in spec.get("volumes") or []:
        config_map = volume.get("configMap")
        if config_map and config_map.get("name") in names:
            volume["secret"] = {"secretName": config_map.pop("name"), **config_map}
            del volume["configMap"]
        for source in (volume.get("projected") or {}).get("sources") or []:
            if source.get("configMap", {}).get("name") in names:
                source["secret"] = source.pop("configMap")
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for env_from in container.get("envFrom") or []:
            if env_from.get("configMapRef", {}).get("name") in names:
                env_from["secretRef"] = env_from.pop("configMapRef")
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            if value_from.get("configMapKeyRef", {}).get("name") in names:
                value_from["secretKeyRef"] = value_from.pop("configMapKeyRef")


def _move_literals(
    obj: KubeObject, spec: dict[str, Any], secrets: frozenset[str]
) -> list[KubeObject]:
    """Environment values and script arguments that hold a secret, into a Secret."""
    created: list[KubeObject] = []
    namespace = obj["metadata"].get("namespace")
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        moved: dict[str, str] = {}
        for variable in container.get("env") or []:
            if "value" in variable and _holds_secret(str(variable["value"]), secrets):
                moved[variable["name"]] = str(variable.pop("value"))
        arguments = container.get("args") or []
        if arguments and _holds_secret(arguments[-1], secrets):
            moved[SCRIPT_VARIABLE] = arguments[-1]
            arguments[-1] = f'eval "${SCRIPT_VARIABLE}"'
        if not moved:
            continue
        # Named after the content: a changed secret changes the pod spec, so the workload
        # (or a Job, which is named after its spec) really is new.
        name = f"{obj['metadata']['name']}-{container['name']}-{digest(moved)[:8]}"[:63].rstrip("-")
        secret: KubeObject = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": name, "labels": dict(obj["metadata"].get("labels") or {})},
            "stringData": moved,
        }
        if namespace:
            secret["metadata"]["namespace"] = namespace
        created.append(secret)
        environment = container.setdefault("env", [])
        for key in moved:
            if key == SCRIPT_VARIABLE:
                environment.append(
                    {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
                )
            else:
                for variable in environment:
                    if variable["name"] == key:
                        variable["valueFrom"] = {"secretKeyRef": {"name": name, "key": key}}
    return created


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    secrets = secret_values(rendered)
    moved: set[str] = set()
    result: list[KubeObject] = []
    for obj in objects:
        if obj["kind"] == "ConfigMap" and _holds_secret(json.dumps(obj.get("data", {})), secrets):
            moved.add(obj["metadata"]["name"])
            result.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "Opaque",
                    "metadata": obj["metadata"],
                    "stringData": obj.get("data", {}),
                }
            )
        else:
            result.append(obj)
    created: list[KubeObject] = []
    for obj in result:
        spec = pod_spec(obj)
        if spec is not None:
            _switch_references(spec, moved)
            created += _move_literals(obj, spec, secrets)
    return result + created


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    secrets = secret_values(rendered)
    found = []
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj)
        leaked = sum(1 for secret in secrets if secret in text)
        if leaked:
            found.append(violation(NAME, obj, f"holds {leaked} secret value(s) outside a Secret"))
    return found


RULE = Rule(NAME, "Tutor puts passwords and keys in ConfigMaps and Job arguments", apply, check)
