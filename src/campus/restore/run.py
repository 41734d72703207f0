"""Carrying out `campus restore`: the snapshot chosen and read whole while the site still
serves; then the maintenance page, the applications scaled to zero, the load, the init
Jobs, the applications back as they were and Ready, the page gone. What a failure left
behind is said: before the load nothing has changed and everything is put back; once a
loader has begun the site stays in maintenance, since its data is partly replaced."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.networking_v1 import NetworkPolicy
from lightkube.types import PatchType

from campus.backup import restic
from campus.backup.jobs import Run
from campus.backup.run import backup_cronjob, list_snapshots, run_job
from campus.deploy import maintenance
from campus.deploy.health import deployment_health, pod_problem, pods_of
from campus.deploy.prepare import owned
from campus.errors import CampusError
from campus.kube.apply import apply_object, delete_object, list_namespace
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject, key_of
from campus.kube.watch import namespace_view
from campus.labels import MANAGED_BY
from campus.restore import jobs, plan

Say = Callable[[str, str], None]  # (stage, message)
TAIL = 12  # log lines said of a failed container
RESTORE_MANAGER = "campus-restore"  # owns the replicas it sets to zero and back


@dataclass
class Restored:
    """What a restore did, and how long the site was down (the measured RTO)."""

    source: str
    target: str
    snapshot: restic.Snapshot
    check: Run | None = None
    load: Run | None = None
    stopped: dict[str, int] = field(default_factory=dict)
    init_jobs: list[str] = field(default_factory=list)
    maintenance: bool = False
    down_seconds: float = 0.0
    finished: datetime | None = None

    @property
    def age_seconds(self) -> float | None:
        """How old the snapshot was when the restore finished (the data lost: RPO)."""
        taken = self.snapshot.taken
        if taken is None or self.finished is None:
            return None
        return (self.finished - taken).total_seconds()


class RestoreFailed(CampusError):
    """The restore stopped; its message says what it left behind."""


def _routes(client: Client, namespace: str) -> list[KubeObject]:
    """The environment's live Ingresses and HTTPRoutes (campus's own: the page's routes
    switch back to what they are now)."""
    kinds = [("networking.k8s.io/v1", "Ingress"), ("gateway.networking.k8s.io/v1", "HTTPRoute")]
    found = list_namespace(client, namespace, kinds, {MANAGED_BY: "campus"})
    return [plan.live_route(route) for route in found.values()]


def _entry_policy(client: Client, namespace: str) -> list[KubeObject]:
    try:
        return [client.get(NetworkPolicy, "allow-entry", namespace=namespace).to_dict()]
    except NotFound:
        return []


def wait_for(
    client: Client,
    namespace: str,
    ready: Callable[[dict[str, KubeObject], dict[str, KubeObject]], str | None],
    timeout: float,
    say: Callable[[str], None],
) -> None:
    """Until `ready` (given the namespace's Deployments and Pods) says nothing is left to
    wait on."""
    deadline = time.monotonic() + timeout
    with namespace_view(client, namespace) as view:
        while True:
            view.changed.clear()
            waiting = ready(view.objects("Deployment"), view.objects("Pod"))
            if waiting is None:
                return
            say(waiting)
            if time.monotonic() > deadline:
                raise CampusError(f"not done after {timeout:.0f}s: {waiting}")
            view.changed.wait(2.0)


def rolled_out(
    names: list[str],
) -> Callable[[dict[str, KubeObject], dict[str, KubeObject]], str | None]:
    """Each Deployment rolled out; a pod that will not get better by waiting (a crash
    loop, an image that cannot be had) fails the wait at once, as a deploy's does."""

    def check(deployments: dict[str, KubeObject], pods: dict[str, KubeObject]) -> str | None:
        for name in names:
            live = deployments.get(name)
            if live is None:
                return f"{name}: not seen yet"
            health = deployment_health(live)
            if health.failed:
                raise CampusError(health.message)
            if not health.ready:
                problems = [p for p in map(pod_problem, pods_of(live, pods)) if p]
                for problem in problems:
                    if problem.failed:
                        raise CampusError(problem.message)
                return problems[0].message if problems else health.message
        return None

    return check


class Restore:
    """One restore of `source`'s snapshot into `target` (the same environment, or another
    one: `--into`)."""

    def __init__(
        self,
        client: Client,
        source: tuple[str, str],
        target: tuple[str, str],
        say: Say,
        timeout: float = 1800,
    ) -> None:
        self.client = client
        (self.source, self.source_namespace), (self.target, self.namespace) = source, target
        self.say, self.timeout = say, timeout
        self.routes: list[KubeObject] = []
        self.page: list[KubeObject] = []

    # --- before anything changes ----------------------------------------------------------

    def prepare(self, wanted: str) -> tuple[Restored, KubeObject, str]:
        """The snapshot, the target's CronJob and the source repository; refusals."""
        source_cron = backup_cronjob(self.client, self.source, self.source_namespace)
        target_cron = (
            source_cron
            if (self.target, self.namespace) == (self.source, self.source_namespace)
            else backup_cronjob(self.client, self.target, self.namespace)
        )
        run, found = list_snapshots(
            self.client,
            self.source,
            self.source_namespace,
            lambda message: self.say("snapshots", message),
        )
        if found is None and restic.no_repository(run.lines):
            found = []
        if found is None:
            raise plan.RestoreRefused(
                f"cannot list the snapshots of {self.source}: "
                f"{restic.exit_error(run.lines) or run.stage.message}; nothing was changed"
                f"{log_tail(run)}"
            )
        snapshot = plan.choose(found, wanted, self.source)
        refusal = plan.release_refusal(snapshot, self.target, jobs.release(target_cron))
        if refusal:
            raise plan.RestoreRefused(refusal)
        return (
            Restored(self.source, self.target, snapshot),
            target_cron,
            jobs.repository(source_cron),
        )

    def check(self, restored: Restored, target_cron: KubeObject, repository: str) -> None:
        snapshot = restored.snapshot
        job = jobs.check_job(
            target_cron, repository, snapshot.id, list(snapshot.paths), datetime.now(UTC)
        )
        try:
            run = run_job(
                self.client, job, lambda m: self.say("check", m), jobs.DOING, self.timeout
            )
        finally:
            with contextlib.suppress(ApiFailure):
                delete_object(self.client, key_of(job))
        restored.check = run
        if run.failed:
            raise plan.RestoreRefused(
                f"snapshot {snapshot.short_id} of {self.source} cannot be read whole: "
                f"{_reason(run)}; nothing was changed{log_tail(run)}"
            )

    # --- the site down --------------------------------------------------------------------

    def start_maintenance(self, restored: Restored) -> None:
        self.routes = _routes(self.client, self.namespace)
        if not self.routes:
            self.say("maintenance", "no Ingress or HTTPRoute to switch (caddy mode): skipped")
            return
        self.page = [
            owned(obj, self.target, self.namespace)
            for obj in maintenance.objects(
                self.namespace, _entry_policy(self.client, self.namespace)
            )
        ]
        self.say("maintenance", "starting the maintenance page")
        for obj in self.page:
            apply_object(self.client, obj)
        wait_for(
            self.client,
            self.namespace,
            rolled_out([maintenance.MAINTENANCE]),
            self.timeout,
            lambda m: self.say("maintenance", m),
        )
        restored.maintenance = True
        for route in self.routes:
            self.say("maintenance", f"routing {key_of(route)} to the maintenance page")
            apply_object(self.client, maintenance.switched(route))

    def end_maintenance(self, restored: Restored) -> None:
        if not restored.maintenance:
            return
        for route in self.routes:
            self.say("maintenance", f"routing {key_of(route)} back")
            apply_object(self.client, route)
        for obj in self.page:
            delete_object(self.client, key_of(obj))
        restored.maintenance = False

    def _scale(self, counts: dict[str, int], doing: str) -> None:
        """Each Deployment to its count, then waited on until rolled out so."""
        self.say("applications", f"{doing}: " + ", ".join(sorted(counts)))
        for name, count in counts.items():
            try:
                self.client.patch(
                    Deployment,
                    name,
                    {"spec": {"replicas": count}},
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                    field_manager=RESTORE_MANAGER,
                )
            except ApiFailure as error:
                raise error.saying(f"cannot scale {name}: {error.reason}") from None
        wait_for(
            self.client,
            self.namespace,
            rolled_out(sorted(counts)),
            self.timeout,
            lambda m: self.say("applications", m),
        )

    def stop_applications(self, restored: Restored) -> None:
        live = [d.to_dict() for d in self.client.list(Deployment, namespace=self.namespace)]
        restored.stopped = plan.applications(live)
        if restored.stopped:
            self._scale(dict.fromkeys(restored.stopped, 0), "scaling to zero")

    def start_applications(self, restored: Restored) -> None:
        if restored.stopped:
            self._scale(restored.stopped, "scaling back")

    def load(self, restored: Restored, target_cron: KubeObject, repository: str) -> Run:
        job = jobs.restore_job(target_cron, repository, restored.snapshot.id, datetime.now(UTC))
        run = run_job(self.client, job, lambda m: self.say("restore", m), jobs.DOING, self.timeout)
        restored.load = run
        return run

    def init_jobs(self, restored: Restored) -> None:
        live = [j.to_dict() for j in self.client.list(Job, namespace=self.namespace)]
        for job in plan.init_jobs(live, datetime.now(UTC)):
            name = job["metadata"]["name"]
            restored.init_jobs.append(name)
            run = run_job(self.client, job, lambda m: self.say("init jobs", m), {}, self.timeout)
            if run.failed:
                raise RestoreFailed(
                    f"init Job {name} failed after the load: {_reason(run)}{log_tail(run)}\n"
                    + _left_behind(restored, loaded=True)
                )

    # --- the whole ------------------------------------------------------------------------

    def carry_out(self, wanted: str) -> Restored:
        restored, target_cron, repository = self.prepare(wanted)
        self.say("snapshot", _describe(restored.snapshot))
        self.check(restored, target_cron, repository)
        down = time.monotonic()
        try:
            self.start_maintenance(restored)
            self.stop_applications(restored)
            run = self.load(restored, target_cron, repository)
        except Exception as error:
            # Nothing loaded yet: put the environment back as it was, whatever went wrong
            # (an unforeseen error keeps its traceback, but not the site down).
            self._put_back(restored)
            if not isinstance(error, (CampusError, ApiFailure)):
                raise
            raise RestoreFailed(f"{error}\nnothing was restored; the environment is back") from None
        if run.failed:
            loaded = run.stage.container in jobs.LOADERS
            if not loaded:
                self._put_back(restored)
            raise RestoreFailed(
                f"the restore Job {run.job} failed: {_reason(run)}{log_tail(run)}\n"
                + _left_behind(restored, loaded)
            )
        try:
            self.init_jobs(restored)
            self.start_applications(restored)
        except (CampusError, ApiFailure) as error:
            if isinstance(error, RestoreFailed):
                raise
            raise RestoreFailed(f"{error}\n" + _left_behind(restored, loaded=True)) from None
        self.end_maintenance(restored)
        restored.down_seconds = time.monotonic() - down
        restored.finished = datetime.now(UTC)
        return restored

    def _put_back(self, restored: Restored) -> None:
        with contextlib.suppress(CampusError, ApiFailure):
            self.start_applications(restored)
        with contextlib.suppress(CampusError, ApiFailure):
            self.end_maintenance(restored)


def _describe(snapshot: restic.Snapshot) -> str:
    release = f", release {snapshot.release}" if snapshot.release else ""
    return f"snapshot {snapshot.short_id} taken {snapshot.time}{release}: " + ", ".join(
        snapshot.paths
    )


def _reason(run: Run) -> str:
    return restic.exit_error(run.lines) or run.stage.message


def log_tail(run: Run) -> str:
    """The last lines of a failed Job's log, to append to its error."""
    lines = [line for line in run.lines if line.strip()][-TAIL:]
    if not lines:
        return ""
    return f"\nlast log lines of {run.pod}:\n" + "\n".join(f"  {line}" for line in lines)


def _left_behind(restored: Restored, loaded: bool) -> str:
    lines = []
    if loaded:
        lines.append(
            f"the data of {restored.target} is partly replaced: its applications stay scaled "
            "to zero; run the restore again (`campus restore` with the same snapshot)"
        )
    if restored.maintenance:
        lines.append("the public sites still serve the maintenance page")
    if restored.stopped and loaded:
        lines.append("stopped: " + ", ".join(f"{n} (was {c})" for n, c in restored.stopped.items()))
    return "\n".join(lines) if lines else "nothing else changed"
