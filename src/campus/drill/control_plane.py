"""The control-plane drill on a sandbox: restart the API server (or the controller-manager,
or the scheduler) in the middle of a deploy. The deploy must either finish or fail with a
clear message; the next deploy must complete, and leave nothing half-applied: a
server-side dry run of every object then finds nothing to change.

It runs through the drill runner (`scenario`): the sampler counts every service's ready
replicas each second while the deploys and the restart happen, so the report says whether
a production stateless service lost its last replica, and `--report` draws it.

The deploy in the middle is a real one: every Deployment's pod template carries the
drill's stamp, so every application rolls while the component is down. The next deploy
is the fleet as it is (no stamp), as the operator's next `campus deploy` would be; it
rolls the applications once more, back to the fleet's own templates.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lightkube import Client

from campus.deploy.diff import what_would_change
from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions, DeployRequest, DeployResult
from campus.drill.availability import (
    ServiceOutcome,
    Timeline,
    Verdicts,
    recovery_timeline,
    service_outcomes,
)
from campus.drill.sampler import FleetView
from campus.drill.scenario import Moments, Progress, Scenario, run_scenario
from campus.errors import CampusError
from campus.fleet.model import Environment
from campus.kube.objects import KubeObject
from campus.sandbox import cluster

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
class ControlPlaneReport(Verdicts):
    component: str
    restarted_after: float  # seconds into the deploy
    back_after: float  # seconds the restart took (API server: until it answered)
    during: list[DeployOutcome]  # the deploy the restart interrupted
    after: list[DeployOutcome]  # the next deploy
    completed_after: float  # from stopping the component to the next deploy's completion
    left_over: dict[str, int] = field(default_factory=dict)  # environment: objects to change
    # Every service's ready replicas while the drill ran, sampled each second.
    services: list[ServiceOutcome] = field(default_factory=list)
    timeline: Timeline | None = field(default=None, compare=False)

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
            and not self.broken_promises
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
            "services": [s.to_dict() for s in self.services],
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


class ControlPlaneRestart(Scenario):
    """Deploy the stamped fleet, restart `component` `delay` seconds in, wait for that
    deploy, deploy the fleet as it is, then ask what is left to change; the sampler counts
    every service's ready replicas meanwhile (it skips the seconds the API server cannot
    answer), so the picture shows the rolls and whether any service lost its last replica."""

    def __init__(
        self,
        sandbox: str,
        requests: Sequence[DeployRequest],
        component: str,
        delay: float,
        phase_timeout: float,
    ) -> None:
        self.sandbox = sandbox
        self.requests = list(requests)
        self.component = component
        self.delay = delay
        self.options = DeployOptions(phase_timeout=phase_timeout)
        self.restarted_after = self.back_after = self.completed_after = 0.0
        self.during: list[DeployResult] = []
        self.after: list[DeployResult] = []
        self.left_over: dict[str, int] = {}

    def prepare(self, client: Client, before: FleetView, progress: Progress) -> None:
        if self.component not in cluster.RESTARTABLE:
            raise CampusError(f"--component must be one of {', '.join(cluster.RESTARTABLE)}")

    def act(self, client: Client, moments: Moments, progress: Progress) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        failure: list[BaseException] = []

        def deploying() -> None:
            try:
                self.during.extend(
                    deploy_fleet(
                        client,
                        [stamped(r, stamp) for r in self.requests],
                        self.options,
                        _Told(progress),
                    )
                )
            except BaseException as error:  # an error nobody caught is itself the finding
                failure.append(error)

        worker = threading.Thread(target=deploying, name="drill-deploy", daemon=True)
        started = moments.mark("deploy")
        worker.start()
        worker.join(timeout=self.delay)
        restarted = moments.mark(f"{self.component} stopped")
        self.restarted_after = restarted - started
        progress(f"restarting {self.component} {self.restarted_after:.0f}s into the deploy")
        self.back_after = cluster.restart_component(self.sandbox, self.component, progress=progress)
        moments.mark(f"{self.component} back")
        progress(f"{self.component} back after {self.back_after:.1f}s; waiting for the deploy")
        worker.join()
        moments.mark("interrupted deploy ended")
        if failure:
            raise CampusError(
                f"the deploy interrupted by the {self.component} restart raised instead of "
                f"failing with a result: {failure[0]}"
            ) from failure[0]
        progress("deploying the fleet again, as the next `campus deploy` would")
        moments.mark("next deploy")
        self.after = deploy_fleet(client, self.requests, self.options, _Told(progress))
        self.completed_after = moments.mark("next deploy done") - restarted
        self.left_over = {r.environment: len(what_would_change(client, r)) for r in self.requests}

    def settle(self) -> float | None:
        """The next deploy waited for every rollout: one phase's time is plenty."""
        return self.options.phase_timeout

    def undo(self, client: Client, progress: Progress) -> None:
        """Nothing: the component is running again once `act` returns."""


def run_control_plane(
    sandbox: str,
    requests: Sequence[DeployRequest],
    component: str = "kube-apiserver",
    delay: float = 3.0,
    phase_timeout: float = 300,
    progress: Progress = lambda message: None,
    environments: Sequence[Environment] = (),
    timeout: float = 1800,
) -> ControlPlaneReport:
    """The control-plane drill through the drill runner: `environments` are sampled (the
    fleet the requests deploy)."""
    if component not in cluster.RESTARTABLE:
        raise CampusError(f"--component must be one of {', '.join(cluster.RESTARTABLE)}")
    client = cluster.client_for(sandbox, timeout=30)
    scenario = ControlPlaneRestart(sandbox, requests, component, delay, phase_timeout)
    run = run_scenario(client, environments, scenario, timeout, progress=progress)
    _, timeline = recovery_timeline(
        run.samples, run.desired, run.production, run.moments, run.facts
    )
    return ControlPlaneReport(
        component,
        scenario.restarted_after,
        scenario.back_after,
        _outcomes(scenario.during),
        _outcomes(scenario.after),
        scenario.completed_after,
        scenario.left_over,
        services=service_outcomes(run.samples, run.desired, run.production, run.facts),
        timeline=timeline,
    )
