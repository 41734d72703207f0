"""`campus plan --verify`: check the plan against the real kube-scheduler. A sandbox of
exactly the planned node count (same shape, same kubelet reservation, a daemon set of the
same size) gets the whole fleet through the deploy engine; every pod must be scheduled and
Ready. Then the same with one node fewer, which must leave pods Pending. When the
scheduler disagrees, the search continues until it finds the count the scheduler needed.

The judgement of what the cluster shows (`judge`) is pure; the rest is I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from campus.deploy.engine import deploy_fleet
from campus.deploy.model import DeployOptions, DeployRequest, Progress
from campus.kube.objects import KubeObject, is_ready
from campus.kube.resources import GIB
from campus.kube.workloads import autoscaler_of, autoscalers, min_replicas, unschedulable
from campus.labels import NAME
from campus.plan.planner import Cluster
from campus.sandbox.cluster import SandboxError, SandboxInfo

SANDBOX = "campus-plan"
AGENTS = "node-agents"
_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Observation:
    """What the cluster shows once deployed: done when every pod is placed and Ready, or
    when pods wait for a node."""

    ready: bool
    pending: tuple[str, ...]  # "namespace/pod: the scheduler's message"
    waiting: str  # what is still moving, for progress


@dataclass(frozen=True)
class VerifyOptions:
    sandbox: str = SANDBOX
    phase_timeout: float = 120  # each deploy phase, and the wait for HPAs and pods after
    settle_seconds: float = 20  # Pending with nothing moving for this long: does not fit
    parallel: int = 8  # environments deployed at once
    max_extra: int = 3  # nodes above the plan to try when the scheduler needs more


@dataclass
class Trial:
    nodes: int
    fits: bool = False
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # environments whose deploy failed
    seconds: float = 0.0


@dataclass
class Verification:
    planned: int
    trials: list[Trial] = field(default_factory=list)

    @property
    def scheduler_needed(self) -> int | None:
        """The fewest nodes on which the scheduler placed everything, if it ever did
        with one node fewer failing."""
        fitting = [t.nodes for t in self.trials if t.fits]
        if not fitting:
            return None
        fewest = min(fitting)
        proven = fewest == 1 or any(t.nodes == fewest - 1 and not t.fits for t in self.trials)
        return fewest if proven else None

    @property
    def verdict(self) -> str:
        needed = self.scheduler_needed
        if needed is None:
            tried = ", ".join(f"{t.nodes}: {'fits' if t.fits else 'no'}" for t in self.trials)
            return f"inconclusive ({tried})"
        if needed == self.planned:
            return f"confirmed: the scheduler needed exactly {needed} nodes"
        more = "more" if needed > self.planned else "fewer"
        return f"the scheduler needed {needed} nodes, {more} than the {self.planned} planned"


def judge(
    deployments: Sequence[KubeObject], scalers: Sequence[KubeObject], pods: Sequence[KubeObject]
) -> Observation:
    """Ready when every Deployment has reached its count (the HPA's floor where one owns
    it) with every pod Ready; Pending pods are listed with the scheduler's reason."""
    by_target = autoscalers(scalers)
    waiting = []
    for deployment in deployments:
        where = f"{deployment['metadata']['namespace']}/{deployment['metadata']['name']}"
        scaler = autoscaler_of(by_target, "Deployment", deployment)
        floor = min_replicas(scaler) if scaler else 0
        wanted = max(deployment["spec"].get("replicas", 1), floor)
        ready = deployment.get("status", {}).get("readyReplicas", 0)
        if deployment["spec"].get("replicas", 1) < floor:
            waiting.append(f"{where}: HPA to scale to {floor}")
        elif ready < wanted:
            waiting.append(f"{where}: {ready}/{wanted} ready")
    pending = []
    for pod in pods:
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if pod["metadata"].get("deletionTimestamp"):
            continue
        failure = unschedulable(pod)
        if failure is not None:
            where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            pending.append(f"{where}: {failure.filters}")
        elif not is_ready(pod):
            waiting.append(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}: not Ready")
    return Observation(not waiting and not pending, tuple(sorted(pending)), "; ".join(waiting[:3]))


def agents_daemon_set(cluster: Cluster) -> KubeObject:
    """Stands for the daemon sets of a production node (kube-proxy, CNI, logs, metrics):
    one pod per node requesting what they request together."""
    daemons = cluster.overhead.daemons
    labels = {NAME: AGENTS}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": AGENTS, "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "agents",
                            "image": "registry.k8s.io/pause:3.10",
                            "resources": {
                                "requests": {
                                    "cpu": f"{daemons.cpu}m",
                                    "memory": str(daemons.memory),
                                }
                            },
                        }
                    ],
                },
            },
        },
    }


def _plain(items: Any) -> list[KubeObject]:
    return [item.to_dict() for item in items]


def _observe(client: Any, namespaces: Sequence[str]) -> Observation:
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
    from lightkube.resources.core_v1 import Pod

    deployments, scalers, pods = [], [], []
    for namespace in namespaces:
        deployments += _plain(client.list(Deployment, namespace=namespace))
        scalers += _plain(client.list(HorizontalPodAutoscaler, namespace=namespace))
        pods += _plain(client.list(Pod, namespace=namespace))
    return judge(deployments, scalers, pods)


def _settle(
    client: Any,
    namespaces: Sequence[str],
    settle_seconds: float,
    timeout: float,
    say: Callable[[str], None],
) -> Observation:
    """Until everything is Ready, or Pending pods stay Pending with nothing else moving for
    `settle_seconds` (the scheduler retries a Pending pod whenever the cluster changes), or
    the timeout."""
    deadline = time.monotonic() + timeout
    last: Observation | None = None
    since = time.monotonic()
    while True:
        seen = _observe(client, namespaces)
        if seen.ready:
            return seen
        if seen != last:
            last, since = seen, time.monotonic()
        stuck = bool(seen.pending) and time.monotonic() - since >= settle_seconds
        if stuck or time.monotonic() > deadline:
            return seen
        if seen.pending:
            say(
                f"{len(seen.pending)} pods Pending, {seen.pending[0]}; "
                f"deciding in {settle_seconds - (time.monotonic() - since):.0f}s"
            )
        else:
            say(f"waiting for {seen.waiting}")
        time.sleep(_POLL_SECONDS)


def _wait_agents(client: Any, count: int, timeout: float, say: Callable[[str], None]) -> None:
    from lightkube.resources.apps_v1 import DaemonSet

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(DaemonSet, AGENTS, namespace="kube-system").status
        ready = (status.numberReady or 0) if status else 0
        if ready >= count:
            return
        say(f"waiting for the daemon set on every node ({ready}/{count} ready)")
        time.sleep(1)


def _start_sandbox(
    cluster: Cluster, nodes: int, name: str, say: Callable[[str], None]
) -> SandboxInfo:
    """A fresh sandbox of the cluster's shape; a second attempt when the first does not come
    up (on a loaded machine the simulated nodes occasionally miss the readiness deadline)."""
    from campus.sandbox import cluster as sandboxes

    reserved, shape = cluster.overhead.reserved, cluster.shape

    def start() -> SandboxInfo:
        sandboxes.down(name)  # one left behind by an interrupted run, or a failed start
        return sandboxes.up(
            name,
            nodes=nodes,
            node_cpu=f"{shape.cpu / 1000:g}" if shape.cpu % 1000 == 0 else f"{shape.cpu}m",
            node_memory=f"{shape.memory // GIB}Gi"
            if shape.memory % GIB == 0
            else str(shape.memory),
            zones=cluster.zones,
            progress=say,
            node_reserved=(f"{reserved.cpu}m", str(reserved.memory)),
        )

    try:
        return start()
    except SandboxError as error:
        say(f"starting again: {error}")
    return start()


def run_trial(
    requests: Sequence[DeployRequest],
    cluster: Cluster,
    nodes: int,
    progress: Progress,
    options: VerifyOptions = VerifyOptions(),
) -> Trial:
    """Deploy the fleet into a fresh sandbox of `nodes` nodes and see whether it fits."""
    from lightkube.codecs import from_dict

    from campus.kube.connect import FIELD_MANAGER
    from campus.sandbox import cluster as sandboxes

    started = time.monotonic()
    trial = Trial(nodes)
    label = f"{nodes} nodes"

    def say(message: str) -> None:
        progress.update(label, "sandbox", message)

    info = _start_sandbox(cluster, nodes, options.sandbox, say)
    try:
        # client_for prepares the decoders before deploy_fleet's threads use them.
        client = sandboxes.client_for(info.name, timeout=30)
        if cluster.overhead.daemons.cpu or cluster.overhead.daemons.memory:
            client.apply(from_dict(agents_daemon_set(cluster)), field_manager=FIELD_MANAGER)
            _wait_agents(client, nodes, 60, say)
        results = deploy_fleet(
            client,
            list(requests),
            DeployOptions(phase_timeout=options.phase_timeout),
            progress,
            options.parallel,
        )
        trial.failed = [f"{r.environment}: {r.message}" for r in results if r.outcome == "failed"]
        namespaces = [r.namespace for r in requests]
        seen = _settle(client, namespaces, options.settle_seconds, options.phase_timeout, say)
        trial.pending = list(seen.pending)
        trial.fits = seen.ready and not trial.failed
        say("fits" if trial.fits else f"does not fit: {len(trial.pending)} pods Pending")
    finally:
        say("stopping")
        sandboxes.down(options.sandbox)
    trial.seconds = time.monotonic() - started
    return trial


def verify_plan(
    requests: Sequence[DeployRequest],
    cluster: Cluster,
    planned: int,
    progress: Progress,
    options: VerifyOptions = VerifyOptions(),
) -> Verification:
    """Planned count, then one fewer; if the scheduler disagrees, walk on (down while it
    still fits, up to `max_extra` nodes more while it does not) to the count it needed."""
    verification = Verification(planned)

    def attempt(nodes: int) -> Trial:
        trial = run_trial(requests, cluster, nodes, progress, options)
        verification.trials.append(trial)
        return trial

    if attempt(planned).fits:
        nodes = planned - 1
        while nodes >= 1 and attempt(nodes).fits:
            nodes -= 1
    else:
        nodes = planned + 1
        while nodes <= planned + options.max_extra and not attempt(nodes).fits:
            nodes += 1
    return verification
