"""The control-plane drill on a sandbox: restart the API server (or the controller-manager,
or the scheduler) in the middle of a deploy. The deploy must either finish or fail with a
clear message; the next deploy must complete, and leave nothing half-applied: a
server-side dry run of every object then finds nothing to change.

The deploy in the middle is a real one: every Deployment's pod template carries the
drill's stamp, so every application rolls while the component is down. The next deploy
is the fleet as it is (no stamp), as the operator's next `campus deploy` would be; it
rolls the applications once more, back to the fleet's own templates.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from campus.deploy.diff import what_would_change
from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions, DeployRequest, DeployResult
from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.sandbox import cluster

Progress = Callable[[str], None]
STAMP = "campus.drill/control-plane"


class _Told:
    """The deploy's progress, told to the drill's progress one line each."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def update(self, environment: str, phase: str, message: str) -> None:
        self.progress(f"deploy {environment}: {phase}: {message}")


@dataclass(frozen=True)
class DeployOutcome:
    environment: str
    outcome: str
    message: str
    seconds: float


@dataclass(frozen=True)
class ControlPlaneReport:
    component: str
    restarted_after: float  # seconds into the deploy
    back_after: float  # seconds the restart took (API server: until it answered)
    during: list[DeployOutcome]  # the deploy the restart interrupted
    after: list[DeployOutcome]  # the next deploy
    completed_after: float  # from stopping the component to the next deploy's completion
    left_over: dict[str, int] = field(default_factory=dict)  # environment: objects to change

    @property
    def interrupted_completed_after(self) -> float | None:
        """Seconds from the restart until the interrupted deploy completed everywhere
        (None when it failed somewhere)."""
        if not self.during or any(d.outcome == "failed" for d in self.during):
            return None
        return max(0.0, max(d.seconds for d in self.during) - self.restarted_after)

    @property
    def unclear(self) -> list[DeployOutcome]:
        """Deploys that failed without saying why."""
        return [d for d in self.during if d.outcome == "failed" and not d.message.strip()]

    @property
    def passed(self) -> bool:
        return (
            not self.unclear
            and all(d.outcome != "failed" for d in self.after)
            and not any(self.left_over.values())
        )

    def to_dict(self) -> dict[str, Any]:
        def outcomes(items: list[DeployOutcome]) -> list[dict[str, Any]]:
            return [
                {
                    "environment": d.environment,
                    "outcome": d.outcome,
                    "message": d.message,
                    "seconds": round(d.seconds, 1),
                }
                for d in items
            ]

        return {
            "component": self.component,
            "restartedAfterSeconds": round(self.restarted_after, 1),
            "backAfterSeconds": round(self.back_after, 1),
            "during": outcomes(self.during),
            "after": outcomes(self.after),
            "completedAfterSeconds": round(self.completed_after, 1),
            "interruptedCompletedAfterSeconds": (
                None
                if self.interrupted_completed_after is None
                else round(self.interrupted_completed_after, 1)
            ),
            "leftOver": dict(self.left_over),
            "passed": self.passed,
        }


def stamped(request: DeployRequest, value: str) -> DeployRequest:
    """The request with every Deployment's pod template annotated: a deploy that rolls
    every application. Pure."""
    objects: list[KubeObject] = []
    for obj in request.objects:
        if obj.get("kind") == "Deployment":
            obj = copy.deepcopy(obj)
            template = obj["spec"]["template"].setdefault("metadata", {})
            template.setdefault("annotations", {})[STAMP] = value
        objects.append(obj)
    return replace(request, objects=objects)


def _outcomes(results: Sequence[DeployResult]) -> list[DeployOutcome]:
    return [DeployOutcome(r.environment, r.outcome, r.message, r.seconds) for r in results]


def run_control_plane(
    sandbox: str,
    requests: Sequence[DeployRequest],
    component: str = "kube-apiserver",
    delay: float = 3.0,
    phase_timeout: float = 300,
    progress: Progress = lambda message: None,
) -> ControlPlaneReport:
    """Deploy the stamped fleet, restart `component` `delay` seconds in, wait for that
    deploy, deploy the fleet as it is, then check nothing is left to change."""
    if component not in cluster.RESTARTABLE:
        raise CampusError(f"--component must be one of {', '.join(cluster.RESTARTABLE)}")
    client = cluster.client_for(sandbox, timeout=30)
    options = DeployOptions(phase_timeout=phase_timeout)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    during: list[DeployResult] = []
    failure: list[BaseException] = []

    def deploying() -> None:
        try:
            during.extend(
                deploy_fleet(
                    client, [stamped(r, stamp) for r in requests], options, _Told(progress)
                )
            )
        except BaseException as error:  # an error nobody caught is itself the finding
            failure.append(error)

    worker = threading.Thread(target=deploying, name="drill-deploy", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=delay)
    restarted_after = time.monotonic() - started
    progress(f"restarting {component} {restarted_after:.0f}s into the deploy")
    restarted = time.monotonic()
    back_after = cluster.restart_component(sandbox, component, progress=progress)
    progress(f"{component} back after {back_after:.1f}s; waiting for the deploy")
    worker.join()
    if failure:
        raise CampusError(
            f"the deploy interrupted by the {component} restart raised instead of failing "
            f"with a result: {failure[0]}"
        ) from failure[0]
    progress("deploying the fleet again, as the next `campus deploy` would")
    after = deploy_fleet(client, list(requests), options, _Told(progress))
    completed_after = time.monotonic() - restarted
    left_over = {r.environment: len(what_would_change(client, r)) for r in requests}
    return ControlPlaneReport(
        component,
        restarted_after,
        back_after,
        _outcomes(during),
        _outcomes(after),
        completed_after,
        left_over,
    )
