"""The one Ready check over plain objects, as listed or as typed objects' to_dict()."""

from __future__ import annotations

from typing import Any

from lightkube.models.core_v1 import NodeCondition, NodeStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node

from campus.kube.objects import conditions_of, is_ready


def with_conditions(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "x"}, "status": {"conditions": list(conditions)}}


def test_ready_only_when_the_ready_condition_is_true() -> None:
    assert is_ready(with_conditions({"type": "Ready", "status": "True"}))
    assert not is_ready(with_conditions({"type": "Ready", "status": "False"}))
    assert not is_ready(with_conditions({"type": "Ready", "status": "Unknown"}))
    assert not is_ready(with_conditions({"type": "PodScheduled", "status": "True"}))
    assert not is_ready({"metadata": {"name": "x"}})
    assert not is_ready({"metadata": {"name": "x"}, "status": None})


def test_conditions_by_type() -> None:
    obj = with_conditions({"type": "Ready", "status": "True"}, {"status": "True"})
    assert list(conditions_of(obj)) == ["Ready"]


def test_a_typed_node_is_read_through_to_dict() -> None:
    def node(status: str) -> Node:
        condition = NodeCondition(type="Ready", status=status)
        return Node(metadata=ObjectMeta(name="node-0"), status=NodeStatus(conditions=[condition]))

    assert is_ready(node("True").to_dict())
    assert not is_ready(node("False").to_dict())
    assert not is_ready(Node(metadata=ObjectMeta(name="node-1")).to_dict())
