"""What a deploy would change, object by object, and how a change reads: Secret values
masked, an object named after its content paired with the one it replaces. Pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from campus.kube.objects import KubeObject, ObjectKey, without_server_fields
from campus.plain_yaml import to_text

Action = Literal["create", "change", "replace", "delete"]


@dataclass(frozen=True)
class Change:
    """One object a deploy would create, change, replace or delete; `diff` is a unified
    diff of the object as YAML (empty for a create or a delete), Secret values masked."""

    action: Action
    target: str
    diff: str = ""


_MASK = "<secret value hidden>"
_MASK_CHANGED = "<secret value hidden, changed>"


def masked(obj: KubeObject, other: KubeObject | None = None) -> KubeObject:
    """Never print a Secret's values, not even in a diff. A value that differs from the
    one in `other` is masked differently, so that a changed value still shows as a change."""
    if obj.get("kind") != "Secret":
        return obj
    result = dict(obj)
    for field in ("data", "stringData"):
        if field in result:
            theirs = (other or {}).get(field) or {}
            result[field] = {
                key: _MASK if other is None or theirs.get(key) == value else _MASK_CHANGED
                for key, value in result[field].items()
            }
    return result


def object_diff(live: KubeObject, after: KubeObject) -> str:
    """A unified diff of two versions of an object as YAML, Secret values masked; empty
    when they are the same."""
    old = to_text(without_server_fields(masked(live))).splitlines(keepends=True)
    new = to_text(without_server_fields(masked(after, live))).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, "live", "after deploy", n=2))


_CONTENT_SUFFIX = re.compile(r"-[0-9a-f]{8,}$")


def predecessor(key: ObjectKey, candidates: Sequence[ObjectKey]) -> ObjectKey | None:
    """The object `key` replaces, when both are named after their content (kustomize's
    ConfigMap/Secret hashes, campus's Secrets and Jobs): same kind and namespace, same name
    but for the trailing hash."""
    stem = _CONTENT_SUFFIX.sub("", key.name)
    if stem == key.name:
        return None
    for candidate in candidates:
        if (
            candidate[:3] == key[:3]
            and candidate.name != key.name
            and _CONTENT_SUFFIX.sub("", candidate.name) == stem
        ):
            return candidate
    return None


def counts(changes: Sequence[Change]) -> dict[Action, int]:
    """How many objects each action touches; a replacement creates one and deletes one."""
    found: dict[Action, int] = {"create": 0, "change": 0, "replace": 0, "delete": 0}
    for change in changes:
        found[change.action] += 1
    return found
