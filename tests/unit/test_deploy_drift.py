"""When an apply can be left out: only when it could not change anything."""

from __future__ import annotations

import base64
import copy
from typing import Any

from campus.deploy.drift import apply_needed, contained

RENDERED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "lms", "labels": {"app": "lms"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "lms", "image": "x"}]}}},
}


def live_of(obj: dict[str, Any]) -> dict[str, Any]:
    """As the server returns it: defaults added, status and server fields around."""
    live = copy.deepcopy(obj)
    live["metadata"]["resourceVersion"] = "7"
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    live["status"] = {"readyReplicas": 2}
    return live


def test_unchanged_and_untouched_is_skipped() -> None:
    assert not apply_needed(RENDERED, copy.deepcopy(RENDERED), live_of(RENDERED))


def test_first_deploy_and_no_record_apply() -> None:
    assert apply_needed(RENDERED, None, live_of(RENDERED))
    assert apply_needed(RENDERED, RENDERED, None)


def test_a_hand_edit_of_a_rendered_value_applies() -> None:
    live = live_of(RENDERED)
    live["spec"]["replicas"] = 5
    assert apply_needed(RENDERED, RENDERED, live)


def test_a_field_dropped_since_the_last_revision_applies() -> None:
    """The live object still has the old field, so it looks contained; only the record
    shows that the apply must remove it."""
    recorded = copy.deepcopy(RENDERED)
    recorded["spec"]["minReadySeconds"] = 5
    assert apply_needed(RENDERED, recorded, live_of(recorded))


def test_lists_match_item_for_item() -> None:
    assert contained([{"a": 1}], [{"a": 1, "b": 2}])  # defaults inside an item
    assert not contained([{"a": 1}], [{"a": 1}, {"a": 2}])
    assert contained({"x": [1, 2]}, {"x": [1, 2], "y": 3})
    # The server stores no empty list or map: missing is the same; an empty value is not.
    assert contained({"probe": {"httpHeaders": [], "path": "/"}}, {"probe": {"path": "/"}})
    assert contained({"labels": {}}, {})
    assert not contained({"x": [1]}, {}) and not contained({"x": ""}, {})
    assert not contained({"x": 0}, {}) and not contained({"x": None}, {})


def test_secret_string_data_compares_with_stored_data() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    rendered = {**secret, "stringData": {"PASSWORD": "hunter2"}}
    stored = {**secret, "data": {"PASSWORD": base64.b64encode(b"hunter2").decode()}}
    assert not apply_needed(rendered, rendered, stored)
    changed = {**secret, "data": {"PASSWORD": base64.b64encode(b"other").decode()}}
    assert apply_needed(rendered, rendered, changed)
