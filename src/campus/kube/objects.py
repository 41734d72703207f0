"""Kubernetes objects as plain dicts: identity, labels, digests. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

KubeObject = dict[str, Any]


class ObjectKey(NamedTuple):
    """What identifies an object on a cluster."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def key_of(obj: KubeObject) -> ObjectKey:
    metadata = obj.get("metadata", {})
    return ObjectKey(
        obj["apiVersion"], obj["kind"], metadata.get("namespace", ""), metadata["name"]
    )


def labels_of(obj: KubeObject) -> dict[str, str]:
    labels: dict[str, str] = obj.get("metadata", {}).get("labels") or {}
    return labels


def annotations_of(obj: KubeObject) -> dict[str, str]:
    annotations: dict[str, str] = obj.get("metadata", {}).get("annotations") or {}
    return annotations


def digest(value: Any) -> str:
    """A stable content digest of any JSON-able value (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


SERVER_FIELDS = frozenset(
    {"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid"}
)


def without_server_fields(obj: KubeObject) -> KubeObject:
    """The object as campus wrote it: no status, no metadata the server maintains."""
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k not in SERVER_FIELDS}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}


def conditions_of(obj: KubeObject) -> dict[str, dict[str, Any]]:
    """An object's status conditions by type."""
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or [] if "type" in c}


def is_ready(obj: KubeObject) -> bool:
    """A pod or node whose Ready condition is True."""
    return conditions_of(obj).get("Ready", {}).get("status") == "True"


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels. An
    empty selector selects every pod, as a PodDisruptionBudget's does."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True
