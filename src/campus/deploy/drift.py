"""Whether an object needs applying at all. Pure.

A server-side apply of an unchanged object is a no-op on the server, but still a request
per object: on a fleet that nothing changed, that is most of a deploy's traffic. An apply
can be left out only when it could not change anything:

- campus renders the object exactly as in the last recorded revision (so no field campus
  used to set has been dropped, which an apply would remove), and
- every value campus renders is still there on the live object (nobody changed a field
  campus owns; such drift is put back by applying).

Anything else, including a value the server stores in another form, is applied.
"""

from __future__ import annotations

import base64
from typing import Any

from campus.kube.objects import KubeObject, digest


def contained(wanted: Any, live: Any) -> bool:
    """Every value of `wanted` is in `live`; lists must match item for item (the server
    adds defaults inside items, never items). An empty list or map is in `live` when its
    key is missing: the API server stores none (`omitempty`), so applying it again would
    store nothing either (Tutor renders `httpHeaders: []`, which no live object shows)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            contained(value, live[key]) if key in live else value in ([], {})
            for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(wanted) == len(live)
            and all(contained(w, v) for w, v in zip(wanted, live, strict=True))
        )
    return bool(wanted == live)


def _as_stored(obj: KubeObject) -> KubeObject:
    """A Secret's `stringData` is stored base64-encoded in `data`."""
    if obj.get("kind") != "Secret" or "stringData" not in obj:
        return obj
    result = {k: v for k, v in obj.items() if k != "stringData"}
    result["data"] = {
        **(obj.get("data") or {}),
        **{
            key: base64.b64encode(str(value).encode()).decode()
            for key, value in obj["stringData"].items()
        },
    }
    return result


def apply_needed(
    rendered: KubeObject, recorded: KubeObject | None, live: KubeObject | None
) -> bool:
    if live is None or recorded is None:
        return True
    if digest(rendered) != digest(recorded):
        return True
    return not contained(_as_stored(rendered), live)
