"""The drill runner: a scenario acts on the sandbox while a sampler counts every
service's ready replicas each second; the samples, the scenario's moments and the pods
the scheduler could not place go to an analysis (`campus.drill.availability`).

A scenario's action runs in a thread of its own, so that an action lasting minutes (a
node rotation drains one node after another) is sampled all along, and the sampler stops
only when the action has finished and the fleet is whole again (or the timeout, or pods
that stay unschedulable).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lightkube import Client

from campus.drill.availability import Moment, Sample, ServiceKey
from campus.drill.sampler import (
    FleetView,
    desired_replicas,
    facts,
    read_fleet,
    serving,
    short_of,
    unschedulable_pods,
    wait_whole,
)
from campus.errors import ClusterError
from campus.fleet.model import Environment
from campus.services import Facts

Progress = Callable[[str], None]

# How long pods may stay unschedulable before the drill concludes that the remaining
# nodes lack room (the scheduler retries on every cluster change).
UNSCHEDULABLE_PATIENCE = 30.0
# How long an action may take to stop once the drill ends early.
STOP_PATIENCE = 60.0
# How long a drill waits for the fleet to be whole before it acts.
WHOLE_BEFORE = 60.0


class Moments:
    """The moments a scenario marks while it acts (thread-safe), in seconds since the
    drill started; `stop` is set when the drill ends early (a timeout), and an action
    that waits checks it."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._moments: list[Moment] = []

    def start(self) -> None:
        self._started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._started

    def mark(self, label: str) -> float:
        at = self.now()
        with self._lock:
            self._moments.append(Moment(at, label))
        return at

    def all(self) -> list[Moment]:
        with self._lock:
            return list(self._moments)


class Scenario(ABC):
    """What a drill does. `prepare` chooses and checks its targets on the healthy fleet
    (raising `DrillError` to refuse); `act` does it, marking moments, while the sampler
    samples; `undo` puts the sandbox back as far as the drill promises."""

    @abstractmethod
    def prepare(self, client: Client, before: FleetView, progress: Progress) -> None: ...

    @abstractmethod
    def act(self, client: Client, moments: Moments, progress: Progress) -> None: ...

    def dead_nodes(self) -> set[str]:
        """Nodes whose pods count as gone from the start: their machines are dead."""
        return set()

    def noticed(self, view: FleetView) -> bool:
        """Whether the cluster has noticed the failure yet (a planned action: at once)."""
        return True

    def awaits_notice(self) -> bool:
        """Whether the fleet being whole counts only after the cluster noticed: a failed
        node whose pods still look Ready to the API server has not been handled yet."""
        return False

    def settle(self) -> float | None:
        """How long the fleet may take to be whole once the action has finished (None: up
        to the drill's timeout)."""
        return None

    @abstractmethod
    def undo(self, client: Client, progress: Progress) -> None: ...


@dataclass(frozen=True)
class DrillRun:
    """What the runner saw: every sample, the desired counts before the drill, the
    scenario's moments, and the pods left unschedulable at the end."""

    samples: list[Sample]
    desired: dict[ServiceKey, int]
    production: dict[str, bool]
    moments: list[Moment]
    unschedulable: list[str] = field(default_factory=list)
    acted: bool = True  # the action finished (it may have ended early with a finding)
    timed_out: bool = False
    facts: dict[ServiceKey, Facts] = field(default_factory=dict)  # what each service is


def run_scenario(
    client: Client,
    environments: Sequence[Environment],
    scenario: Scenario,
    timeout: float = 300,
    interval: float = 1.0,
    progress: Progress = lambda message: None,
) -> DrillRun:
    """Prepare, act and sample until the action is done and the fleet whole again."""
    namespaces = {e.namespace for e in environments}
    before = wait_whole(client, environments, WHOLE_BEFORE, progress)
    desired = desired_replicas(before, environments)
    production = {e.name: e.production for e in environments}
    scenario.prepare(client, before, progress)

    moments = Moments()
    failure: list[BaseException] = []

    def acting() -> None:
        try:
            scenario.act(client, moments, progress)
        except BaseException as error:  # handed to the caller's thread below
            failure.append(error)

    worker = threading.Thread(target=acting, name="drill-action", daemon=True)
    moments.start()
    worker.start()
    samples: list[Sample] = []
    view = before
    stuck_since: float | None = None
    acted_at: float | None = None
    timed_out = False
    try:
        while True:
            at = moments.now()
            try:
                view = read_fleet(client, namespaces)
            except ClusterError as error:
                # The API server itself may be what the scenario restarts: nothing can be
                # seen meanwhile, and the last sample stands for those seconds.
                progress(f"{at:4.0f}s  cannot read the fleet: {error}")
                time.sleep(max(0.0, interval - (moments.now() - at)))
                if at <= timeout:
                    continue
                timed_out = True
                break
            noticed = scenario.noticed(view)
            sample = Sample(at, serving(view, environments, scenario.dead_nodes()), not noticed)
            samples.append(sample)
            short = short_of(sample.serving, desired)
            acting_now = worker.is_alive()
            handled = not scenario.awaits_notice() or any(not s.node_ready for s in samples)
            if not acting_now and not short and handled:
                break
            if not acting_now and failure:
                break
            acted_at = at if acting_now else (acted_at if acted_at is not None else at)
            settle = scenario.settle()
            if not acting_now and settle is not None and at - acted_at > settle:
                timed_out = True
                progress(f"not whole {settle:.0f}s after the action: {', '.join(short[:5])}")
                break
            if at > timeout:
                timed_out = True
                progress(f"gave up after {timeout:.0f}s: still short: {', '.join(short[:5])}")
                break
            # Pods the scheduler keeps refusing will not fit by waiting: too little room
            # (see `campus plan`). Report that instead of running out the clock.
            stuck = short and unschedulable_pods(view, environments)
            stuck_since = (stuck_since or at) if stuck else None
            if stuck_since is not None and at - stuck_since > UNSCHEDULABLE_PATIENCE:
                progress(f"{len(short)} services short and their pods cannot be scheduled")
                break
            if not handled:
                progress(
                    f"{at:4.0f}s  waiting for the node controller to mark the failed nodes "
                    f"NotReady; {len(short)} services short"
                )
            elif short:
                progress(f"{at:4.0f}s  {len(short)} services short: {', '.join(short[:4])}")
            time.sleep(max(0.0, interval - (moments.now() - at)))
    finally:
        moments.stop.set()
        worker.join(timeout=STOP_PATIENCE)
        scenario.undo(client, progress)
    if failure:
        raise failure[0]
    return DrillRun(
        samples,
        desired,
        production,
        moments.all(),
        unschedulable_pods(view, environments),
        acted=not worker.is_alive(),
        timed_out=timed_out,
        facts=facts(before, environments),
    )
