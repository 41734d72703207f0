"""An environment's Tutor state and how the cluster's copy and the local cache are settled.
Pure.

Tutor generates, once per project, the values an environment lives by: its instance `ID`
(in every selector), database passwords, `SECRET_KEY`, JWT keys, OAuth secrets. The cluster
keeps them, as Helm keeps a release, in one Secret per environment; `.campus/` is a cache of
them. Before rendering, `settle` decides which copy to render from, and refuses when two
copies that were both used disagree: the message names the settings, never their values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.labels import DATA, ENVIRONMENT, MANAGED_BY, TUTOR_STATE

SECRET_NAME = "campus-tutor-state"
SECRET_TYPE = "campus.openedx.org/tutor-state"
VALUES_KEY = "values.json"
_ANNOTATIONS = {
    "tutor_version": TUTOR_STATE + "-tutor-version",
    "updated_at": TUTOR_STATE + "-updated-at",
    "updated_by": TUTOR_STATE + "-updated-by",
}
CHANGED_AT = TUTOR_STATE + "-changed-at"  # JSON: setting -> when its value was set
# A rotation begun and not yet confirmed: which settings, since when, by whom (names only);
# the new values are in the Secret's data under PENDING_KEY.
PENDING = TUTOR_STATE + "-pending-rotation"
PENDING_KEY = "pending.json"
# Settings in Tutor's generated set that campus itself decides on each render.
NOT_STATE = frozenset({"PLUGINS", "PLUGIN_INDEXES"})


class StateConflict(CampusError):
    """Two copies of an environment's Tutor state that were both used disagree."""


@dataclass(frozen=True)
class TutorState:
    """Tutor's generated settings for one environment (`values`: never printed)."""

    environment: str
    values: Mapping[str, Any] = field(repr=False)
    tutor_version: str = ""
    updated_at: str = ""
    updated_by: str = ""
    changed_at: Mapping[str, str] = field(default_factory=dict)  # setting -> when set
    # A rotation that may have reached a data service but is not confirmed: the settings
    # named to `secrets rotate`, when and by whom it began, and every new value (`pending`,
    # never printed). `values` stay the ones in force until it is confirmed.
    rotating: tuple[str, ...] = ()
    pending: Mapping[str, Any] = field(default_factory=dict, repr=False)
    pending_since: str = ""


def stamped(previous: TutorState | None, state: TutorState, now: str, by: str) -> TutorState:
    """`state` as written at `now` by `by`: each setting keeps the time it was last set
    (a new or changed value is set now), so that `campus secrets list` shows ages."""
    before = previous.values if previous else {}
    old_times = previous.changed_at if previous else {}
    fallback = previous.updated_at if previous and previous.updated_at else now
    changed_at = {
        key: old_times.get(key, fallback) if key in before and before[key] == value else now
        for key, value in state.values.items()
    }
    return replace(state, updated_at=now, updated_by=by, changed_at=changed_at)


def pending_message(environment: str, state: TutorState) -> str:
    """Why nothing but finishing the rotation may deploy `environment` now."""
    names = " ".join(state.rotating)
    return (
        f"{environment}: the rotation of {', '.join(state.rotating)} begun "
        f"{state.pending_since or 'earlier'} is not confirmed: a data service may already hold "
        f"the new value, so deploying with either value could break it. `campus secrets rotate "
        f"{environment} {names}` finishes it with the same new value; until then every deploy "
        f"of {environment} is refused."
    )


class Origin(StrEnum):
    CLUSTER = "cluster"
    CACHE = "local cache"
    NEW = "new"


@dataclass(frozen=True)
class Settled:
    """Which copy a render uses; `seed` is written into the local cache before rendering."""

    origin: Origin
    note: str = ""
    seed: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # Why the cluster was not asked, when it was not ("no cluster at hand: ..."): a fact
    # of the whole command, which its output says once rather than per environment.
    unasked: str = ""

    def describe(self) -> str:
        return f"{self.origin.value}" + (f" ({self.note})" if self.note else "")

    def describe_alone(self) -> str:
        """`describe()` less why the cluster was not asked: "new (first install)"."""
        if not self.unasked:
            return self.describe()
        return "new (first install)" if self.origin is Origin.NEW else self.origin.value


@dataclass(frozen=True)
class ClusterCopies:
    """What the cluster holds of each environment's state (None: nothing yet), for the
    environments it was asked about; for the others, why it was not asked."""

    stored: Mapping[str, TutorState | None] = field(default_factory=dict)
    unconsulted: str = "no cluster consulted"

    def of(self, environment: str) -> tuple[TutorState | None, str | None]:
        if environment in self.stored:
            return self.stored[environment], None
        return None, self.unconsulted


def differing(
    first: Mapping[str, Any], second: Mapping[str, Any], ignore: frozenset[str]
) -> list[str]:
    """Names of the settings both hold with different values."""
    return sorted(k for k in (first.keys() & second.keys()) - ignore if first[k] != second[k])


def conflict_message(environment: str, namespace: str, cache: str, names: list[str]) -> str:
    return (
        f"{environment}: the local Tutor state ({cache}) and the cluster's (Secret "
        f"{SECRET_NAME} in namespace {namespace}) differ in {', '.join(names)}. The cluster's "
        f"is what the running environment uses. `campus state pull {environment}` replaces "
        f"the local values with the cluster's; `campus state push {environment}` makes the "
        "local values the cluster's (only when the databases hold the local passwords)."
    )


def settle(
    environment: str,
    namespace: str,
    *,
    cached: Mapping[str, Any] | None,
    confirmed: bool,
    stored: TutorState | None,
    unconsulted: str | None,
    fleet_keys: frozenset[str],
    cache: str,
) -> Settled:
    """Which state to render `environment` from.

    `cached`: the local cache's settings (None: no cache); `confirmed`: whether they were
    deployed, pushed or pulled (not only generated here); `stored`: the cluster's;
    `unconsulted`: why the cluster was not asked (None when it was); `fleet_keys`: settings
    the fleet file gives, which are not Tutor's to keep.
    """
    if stored is not None:
        # The values in force; a rotation not yet confirmed is said, never rendered.
        pending = (
            f"; rotation of {', '.join(stored.rotating)} pending, deploys refused until "
            f"`campus secrets rotate {environment} {' '.join(stored.rotating)}` finishes it"
            if stored.pending
            else ""
        )
        if cached is None:
            return Settled(Origin.CLUSTER, "no local cache" + pending, stored.values)
        names = differing(cached, stored.values, fleet_keys)
        if names and confirmed:
            raise StateConflict(conflict_message(environment, namespace, cache, names))
        if names:
            note = "replaced values generated here and never deployed"
            return Settled(Origin.CLUSTER, note + pending, stored.values)
        return Settled(Origin.CLUSTER, "matches the local cache" + pending, stored.values)
    if unconsulted is None:
        if cached is not None:
            return Settled(Origin.CACHE, "the cluster holds none yet; a deploy stores it")
        return Settled(Origin.NEW, "first install; a deploy stores it")
    if cached is not None:
        return Settled(Origin.CACHE, unconsulted, unasked=unconsulted)
    return Settled(Origin.NEW, f"first install: {unconsulted}", unasked=unconsulted)


def to_store(
    environment: str, namespace: str, stored: TutorState | None, rendered: TutorState
) -> TutorState | None:
    """What a deploy writes to the cluster before applying anything: the rendered state
    when the cluster holds none, settings the cluster lacks (a new plugin's) added to it,
    nothing when it holds them all. Refuses what would replace a stored value."""
    if stored is None:
        return rendered
    names = differing(rendered.values, stored.values, frozenset())
    if names:
        raise StateConflict(conflict_message(environment, namespace, "this render", names))
    missing = {k: v for k, v in rendered.values.items() if k not in stored.values}
    if not missing:
        return None
    return TutorState(
        environment, {**stored.values, **missing}, rendered.tutor_version, "", rendered.updated_by
    )


def encode(state: TutorState, namespace: str) -> KubeObject:
    """The Secret that holds `state`: labelled as data, so that neither prune nor destroy
    removes it unless asked to delete data."""
    payload = json.dumps(dict(state.values), sort_keys=True).encode()
    annotations = {
        key: getattr(state, attribute)
        for attribute, key in _ANNOTATIONS.items()
        if getattr(state, attribute)
    }
    if state.changed_at:
        annotations[CHANGED_AT] = json.dumps(dict(state.changed_at), sort_keys=True)
    data = {VALUES_KEY: base64.b64encode(payload).decode()}
    if state.pending:
        annotations[PENDING] = json.dumps(
            {"settings": list(state.rotating), "since": state.pending_since}, sort_keys=True
        )
        pending = json.dumps(dict(state.pending), sort_keys=True).encode()
        data[PENDING_KEY] = base64.b64encode(pending).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": SECRET_NAME,
            "namespace": namespace,
            "labels": {
                MANAGED_BY: "campus",
                ENVIRONMENT: state.environment,
                TUTOR_STATE: "true",
                DATA: "true",
            },
            "annotations": annotations,
        },
        "data": data,
    }


def decode(secret: KubeObject) -> TutorState:
    metadata = secret.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    payload = base64.b64decode((secret.get("data") or {}).get(VALUES_KEY, "") or "e30=")
    values = json.loads(payload)
    if not isinstance(values, dict):
        raise CampusError(f"Secret {metadata.get('name')}: {VALUES_KEY} is not a JSON object")
    pending_payload = (secret.get("data") or {}).get(PENDING_KEY)
    rotation = json.loads(annotations.get(PENDING) or "{}")
    pending = json.loads(base64.b64decode(pending_payload)) if pending_payload else {}
    return TutorState(
        environment=(metadata.get("labels") or {}).get(ENVIRONMENT, ""),
        values=values,
        **{attribute: annotations.get(key, "") for attribute, key in _ANNOTATIONS.items()},
        changed_at=json.loads(annotations.get(CHANGED_AT) or "{}"),
        rotating=tuple(rotation.get("settings") or ()) if pending else (),
        pending=pending,
        pending_since=str(rotation.get("since") or "") if pending else "",
    )
