"""Celery workers fork the children their memory limit holds: Tutor's worker command sets
no concurrency, so Celery forks one child per CPU of the node whatever the limit."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from campus.fleet.model import ServiceResources
from campus.harden import harden_all
from campus.harden.resources import RULE
from campus.render.model import RenderedEnvironment

WORKERS = ("lms-worker", "cms-worker")


def _worker(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    container: dict[str, Any] = found["spec"]["template"]["spec"]["containers"][0]
    return container


def _concurrency(container: dict[str, Any]) -> list[str]:
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    return [w for w in words if w.startswith("--concurrency")]


def _sized(rendered: RenderedEnvironment, memory_limit: str) -> RenderedEnvironment:
    resources = {name: ServiceResources(memory_limit=memory_limit) for name in WORKERS}
    environment = rendered.environment.model_copy(update={"resources": resources})
    return dataclasses.replace(rendered, environment=environment)


def test_tutor_worker_command_sets_no_concurrency(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-prod"]
    for name in WORKERS:
        container = _worker(rendered.objects, name)
        assert "worker" in container["args"] and _concurrency(container) == []


@pytest.mark.parametrize(("limit", "children"), [("1536Mi", 2), ("2Gi", 3), ("3Gi", 5)])
def test_workers_fork_the_children_their_limit_holds_beside_the_parent(
    rendered_example: dict[str, RenderedEnvironment], limit: str, children: int
) -> None:
    rendered = _sized(rendered_example["acme-prod"], limit)
    objects, _ = harden_all(rendered)
    for name in WORKERS:
        container = _worker(objects, name)
        assert container["resources"]["limits"]["memory"] == limit
        assert _concurrency(container) == [f"--concurrency={children}"]


def test_a_concurrency_already_set_stays_alone(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = copy.deepcopy(rendered_example["acme-prod"])
    _worker(rendered.objects, "lms-worker")["args"].append("--concurrency=7")
    objects, _ = harden_all(rendered)
    assert _concurrency(_worker(objects, "lms-worker")) == ["--concurrency=7"]
    assert len(_concurrency(_worker(objects, "cms-worker"))) == 1


def test_lint_refuses_a_worker_that_forks_one_child_per_cpu(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-prod"]
    objects, _ = harden_all(rendered)
    assert [v for v in RULE.check(rendered, objects) if v.check == "memory-setting"] == []
    for name in WORKERS:
        container = _worker(objects, name)
        container["args"] = [w for w in container["args"] if not w.startswith("--concurrency")]
    found = [v for v in RULE.check(rendered, objects) if v.check == "memory-setting"]
    assert sorted(v.name for v in found) == sorted(WORKERS)
