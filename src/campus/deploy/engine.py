"""Deploying one environment: apply phase by phase, wait for health between phases, run init
Jobs, prune what is no longer rendered, record a revision. And a fleet, concurrently."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType

from campus.deploy import backup_store, history, maintenance
from campus.deploy.changes import counts
from campus.deploy.diff import planned_upgrade, what_would_change
from campus.deploy.drift import apply_needed
from campus.deploy.gateway_check import gateway_after, gateway_before
from campus.deploy.health import Health, deployment_health, job_health, pod_problem, pods_of
from campus.deploy.lock import deploy_lock
from campus.deploy.model import DeployOptions, DeployRequest, DeployResult, Progress
from campus.deploy.phases import Phase, autoscaling_floors, plan_phases
from campus.deploy.prepare import is_data, prepare
from campus.deploy.revisions import Revision
from campus.deploy.upgrade import UpgradeRefused, plan_upgrade
from campus.deploy.upgrading import Upgrade
from campus.errors import CampusError
from campus.kube.apply import Applied, apply_object, delete_object, list_namespace
from campus.kube.connect import fresh_client
from campus.kube.objects import KubeObject, ObjectKey, digest, key_of
from campus.kube.watch import NamespaceView, namespace_view, pod_logs, recent_events
from campus.labels import ENVIRONMENT
from campus.state.store import store_before_deploy


class PhaseFailed(CampusError):
    def __init__(self, phase: Phase, message: str, details: list[str]) -> None:
        super().__init__(f"{phase.value}: {message}")
        self.phase = phase
        self.details = details


def deploy_environment(
    client: Client, request: DeployRequest, options: DeployOptions, progress: Progress
) -> DeployResult:
    """Deploy one environment; never raises for a failure of the environment itself."""
    started = time.monotonic()
    result = DeployResult(request.environment, request.namespace)
    try:
        _deploy(client, request, options, progress, result)
    except PhaseFailed as failure:
        result.outcome, result.message, result.details = "failed", str(failure), failure.details
        result.failed_phase = failure.phase.value
    except CampusError as error:
        result.outcome, result.message = "failed", str(error)
    result.seconds = time.monotonic() - started
    progress.update(request.environment, "done", f"{result.outcome}: {result.message}")
    return result


def _deploy(
    client: Client,
    request: DeployRequest,
    options: DeployOptions,
    progress: Progress,
    result: DeployResult,
) -> None:
    env, namespace = request.environment, request.namespace
    say = _say(progress, env)
    if options.dry_run:  # prepares the objects itself, and applies nothing
        say("dry run", f"asking the API server what would change in {namespace}")
        backup_store.wanted_copy(client, request)  # refuses a missing store Secret
        _dry_run(client, request, result)
        _dry_run_upgrade(client, request, options, result)
        return
    objects, init_jobs = prepare(request.objects, request.init_jobs, env, namespace)
    manifest_digest = digest({"objects": objects, "initJobs": init_jobs})

    namespace_object = next((o for o in objects if o["kind"] == "Namespace"), None)
    if namespace_object is not None:
        say("foundation", f"namespace {namespace}")
        apply_object(client, namespace_object)
        result.applied.append(key_of(namespace_object))
    # Before anything of the environment changes: backups without their store's keys stop
    # the deploy here, with the Secret to create.
    store_copy = backup_store.wanted_copy(client, request)

    def waiting_for_lock(holder: str) -> None:
        say("lock", f"waiting for another deploy to finish ({holder})")

    with deploy_lock(client, namespace, options.lock_timeout, waiting_for_lock) as lease:
        # Before anything that uses its values; refuses while a rotation is pending.
        stored = store_before_deploy(client, namespace, env, request.tutor_state, request.rotating)
        if stored:
            say("state", stored)
        previous = history.list_revisions(client, namespace, env)
        result.previous_revision = previous[-1].number if previous else None
        result.history_read = True
        kinds = {(o["apiVersion"], o["kind"]) for o in objects if o["kind"] != "Namespace"}
        kept_keys = frozenset().union(*(revision.keys for revision in previous))
        for key in kept_keys | lease.unrecorded:
            if key.kind != "Namespace":
                kinds.add((key.api_version, key.kind))
        # Before applying what no kept revision records, say so on the Lease: should this
        # deploy fail part-way, the next one prunes what it created.
        current_keys = {key_of(o) for o in (*objects, *init_jobs)}
        lease.intend({k for k in current_keys - kept_keys if k.kind != "Namespace"})
        say("inventory", f"reading what namespace {namespace} holds")
        existing = list_namespace(client, namespace, sorted(kinds), {ENVIRONMENT: env})
        backup_store.keep_copy(client, request, store_copy, existing, say, options.prune)

        missing = gateway_before(client, objects, namespace, say)
        if missing:
            # Routes attached to a Gateway that will not carry them leave every site down.
            raise PhaseFailed(
                Phase.CONFIGURATION,
                "the shared Gateway will not carry this environment's routes",
                missing,
            )

        try:
            upgrade = _upgrade(client, request, options, previous, objects, init_jobs, say)
        except UpgradeRefused:
            if not lease.unfinished:  # nothing was applied: the last deploy stays finished
                lease.finish()
            raise
        if upgrade is not None:
            result.upgrade = upgrade.plan.describe()

        floors = autoscaling_floors(objects)
        recorded = {key_of(o): o for o in previous[-1].objects} if previous else {}
        if lease.unfinished:
            # What that deploy applied may be live and in no revision (a field only it set
            # looks like no drift): apply every object, which puts the cluster back.
            say("inventory", "the last deploy did not finish: applying every object")
            recorded = {}
        with namespace_view(client, namespace) as view:
            try:
                _phases(
                    client,
                    view,
                    objects,
                    init_jobs,
                    existing,
                    recorded,
                    floors,
                    upgrade,
                    options,
                    say,
                    result,
                )
            except PhaseFailed as failure:
                if upgrade is not None:
                    upgrade.end_maintenance()
                    failure.details += upgrade.trail.left_behind()
                raise
            finally:
                if upgrade is not None:
                    upgrade.end_maintenance()

        refused = gateway_after(client, objects, namespace)
        if refused:
            raise PhaseFailed(Phase.CONFIGURATION, "the Gateway refused the routes", refused)
        if options.prune:
            result.pruned = _prune(
                client, previous, lease.unrecorded, existing, current_keys, options, say
            )
        last = previous[-1] if previous else None
        if last is None or last.digest != manifest_digest:
            revision = history.record(
                client,
                namespace,
                env,
                objects,
                init_jobs,
                manifest_digest=manifest_digest,
                tutor_version=request.tutor_version,
                plugin_versions=request.plugin_versions,
                fleet_hash=request.fleet_hash,
                previous=previous,
                keep=options.keep_revisions,
                rotated=request.rotating,
            )
            result.revision = revision.number
        else:
            result.revision = last.number
        lease.finish()
    anything = result.created or result.changed or result.pruned or result.jobs_run
    if anything or last is None or last.digest != manifest_digest:
        result.outcome = "deployed"
        result.message = (
            f"revision {result.revision}: {result.created} created, {result.changed} changed, "
            f"{len(result.pruned)} pruned, {result.jobs_run} init jobs run"
        )
    else:
        result.outcome = "unchanged"
        result.message = f"revision {result.revision}: nothing to change"


_BEFORE_UPGRADE = (Phase.FOUNDATION, Phase.CONFIGURATION)


def _phases(
    client: Client,
    view: NamespaceView,
    objects: list[KubeObject],
    init_jobs: list[KubeObject],
    existing: dict[ObjectKey, KubeObject],
    recorded: dict[ObjectKey, KubeObject],
    floors: dict[str, int],
    upgrade: Upgrade | None,
    options: DeployOptions,
    say: Callable[[str, str], None],
    result: DeployResult,
) -> None:
    """Apply and wait phase by phase; a release change's steps run after the configuration
    (maintenance page, data services converted) and before the init Jobs (release steps)."""
    # The generation each apply produced: the watch-fed view may still hold the object
    # from before the apply, which would look healthy while the change has not started.
    generations: dict[str, int] = {}
    started = False

    def wait_rollout(name: str, generation: int) -> None:
        _wait(
            view,
            Phase.UPGRADE,
            "Deployment",
            [name],
            options.phase_timeout,
            say,
            {name: generation},
        )

    def run_job(job: KubeObject) -> None:
        _run_init_jobs(client, view, [job], existing, options, say, result, Phase.UPGRADE)

    for plan in plan_phases(objects, init_jobs):
        result.reached_phase = plan.phase.value
        if upgrade is not None and not started and plan.phase not in _BEFORE_UPGRADE:
            started = True  # before the data services take the new release's images
            if options.maintenance:
                upgrade.start_maintenance(wait_rollout)
            upgrade.data_steps(wait_rollout, run_job)
        if plan.phase is Phase.INIT:
            if upgrade is not None:
                upgrade.task_steps(run_job)
            _run_init_jobs(client, view, plan.objects, existing, options, say, result)
            continue
        for obj in plan.objects:
            if obj["kind"] == "Namespace":
                continue
            key = key_of(obj)
            before = existing.get(key)
            if before is not None and not apply_needed(obj, recorded.get(key), before):
                applied = Applied(key, created=False, changed=False, result=before)
            else:
                say(plan.phase.value, f"applying {key}")
                applied = apply_object(client, obj, before=before)
            _count(result, applied, record=True)
            if obj["kind"] == "Deployment":
                name = obj["metadata"]["name"]
                live = applied.result
                if name in floors:
                    live = _raise_to_floor(client, live, floors[name])
                generations[name] = live["metadata"].get("generation", 1)
        if plan.phase in (Phase.BACKING, Phase.APPLICATIONS):
            names = [o["metadata"]["name"] for o in plan.objects if o["kind"] == "Deployment"]
            _wait(
                view,
                plan.phase,
                "Deployment",
                names,
                options.phase_timeout,
                say,
                generations,
            )
        if plan.phase is Phase.APPLICATIONS and upgrade is not None:
            upgrade.end_maintenance()  # the new release serves: traffic back


# Not `campus`: a field owned by campus's manager would be reset whenever an apply omits it.
SCALE_MANAGER = "campus-autoscaling-floor"


def _raise_to_floor(client: Client, deployment: KubeObject, floor: int) -> KubeObject:
    """Bring an autoscaled Deployment up to its HPA's minimum through the scale subresource,
    as the HPA itself would; never down (the HPA may have scaled it up)."""
    if deployment.get("spec", {}).get("replicas", 1) >= floor:
        return deployment
    client.patch(
        Deployment.Scale,
        deployment["metadata"]["name"],
        {"spec": {"replicas": floor}},
        namespace=deployment["metadata"]["namespace"],
        patch_type=PatchType.MERGE,
        field_manager=SCALE_MANAGER,
    )
    scaled = client.get(
        Deployment, deployment["metadata"]["name"], namespace=deployment["metadata"]["namespace"]
    )
    return scaled.to_dict()


def _upgrade(
    client: Client,
    request: DeployRequest,
    options: DeployOptions,
    previous: list[Revision],
    objects: list[KubeObject],
    init_jobs: list[KubeObject],
    say: Callable[[str, str], None],
) -> Upgrade | None:
    """The release change from the last revision's Tutor version to this render's, if any;
    refused (`UpgradeRefused`) before anything of it is applied."""
    last_version = previous[-1].tutor_version if previous else ""
    plan = plan_upgrade(
        request.environment,
        last_version,
        request.tutor_version,
        plugins=frozenset(request.plugins),
        force=options.force,
    )
    if plan is None:
        return None
    page = request.maintenance_page or maintenance.objects(request.namespace, objects)
    upgrade = Upgrade(
        client, plan, objects, init_jobs, page, request.environment, request.namespace, say
    )
    upgrade.say_plan()
    return upgrade


def _dry_run(client: Client, request: DeployRequest, result: DeployResult) -> None:
    """What the deploy would change, from the same server-side dry run as `campus diff`."""
    found = counts(what_would_change(client, request))
    result.created = found["create"] + found["replace"]
    result.changed = found["change"]
    result.deleted = found["delete"] + found["replace"]
    result.outcome = "planned"
    result.message = (
        f"would create {result.created}, change {result.changed}, delete {result.deleted}"
    )


def _dry_run_upgrade(
    client: Client, request: DeployRequest, options: DeployOptions, result: DeployResult
) -> None:
    """The release change the deploy would make, or its refusal (as a failure)."""
    plan = planned_upgrade(client, request, options.force)
    if plan is not None:
        result.upgrade = plan.describe()
        result.message += f"; {result.upgrade}"


def _count(result: DeployResult, applied: Applied, record: bool = False) -> None:
    if record:
        result.applied.append(applied.key)
    if applied.created:
        result.created += 1
    elif applied.changed:
        result.changed += 1
    else:
        result.unchanged += 1


def _say(progress: Progress, environment: str) -> Callable[[str, str], None]:
    def say(phase: str, message: str) -> None:
        progress.update(environment, phase, message)

    return say


def _run_init_jobs(
    client: Client,
    view: NamespaceView,
    jobs: list[KubeObject],
    existing: dict[ObjectKey, KubeObject],
    options: DeployOptions,
    say: Callable[[str, str], None],
    result: DeployResult,
    phase: Phase = Phase.INIT,
) -> None:
    """Tutor's init tasks, one at a time in Tutor's order (later tasks need earlier ones:
    databases before migrations), skipping those that already completed with this content."""
    for job in jobs:
        name = job["metadata"]["name"]
        current = existing.get(key_of(job))
        if current is not None:
            health = job_health(current)
            if health.ready:
                continue
            if health.failed:  # a retry: a Job's pods cannot be restarted in place
                say(phase.value, f"removing failed job {name} to run it again")
                delete_object(client, key_of(job))
                _wait_gone(view, "Job", name, options.phase_timeout)
        say(phase.value, f"running {name}")
        _count(result, apply_object(client, job, before=current), record=True)
        result.jobs_run += 1
        _wait(view, phase, "Job", [name], options.phase_timeout, say)


def _wait_gone(view: NamespaceView, kind: str, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while name in view.objects(kind) and time.monotonic() < deadline:
        view.changed.clear()
        view.changed.wait(1)


def _health(kind: str, obj: KubeObject) -> Health:
    return deployment_health(obj) if kind == "Deployment" else job_health(obj)


def _wait(
    view: NamespaceView,
    phase: Phase,
    kind: str,
    names: list[str],
    timeout: float,
    say: Callable[[str, str], None],
    generations: dict[str, int] | None = None,
) -> None:
    """Until every named workload is healthy; fail fast on a failure the cluster reports,
    with the events and logs that explain it. `generations`: the least generation each
    workload must show, so that a view older than the last apply is not taken as health."""
    deadline = time.monotonic() + timeout
    while True:
        view.changed.clear()
        if view.refusal is not None:  # a kind the view may not read is never seen: fail now
            raise PhaseFailed(phase, str(view.refusal), [])
        workloads = view.objects(kind)
        pods = view.objects("Pod")
        waiting: list[str] = []
        for name in names:
            obj = workloads.get(name)
            seen = obj and obj["metadata"].get("generation", 1) >= (generations or {}).get(name, 0)
            if obj and not seen:
                obj = None
            health = _health(kind, obj) if obj else Health.waiting(f"{name}: not seen yet")
            if health.failed:
                raise PhaseFailed(phase, health.message, _explain(view, name, pods))
            if not health.ready:
                problems = [p for p in map(pod_problem, pods_of(obj, pods)) if p] if obj else []
                for problem in problems:
                    if problem.failed:
                        raise PhaseFailed(phase, problem.message, _explain(view, name, pods))
                waiting.append(problems[0].message if problems else health.message)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise PhaseFailed(
                phase,
                f"timed out after {timeout:.0f}s: {'; '.join(waiting)}",
                _explain_all(view, names, pods),
            )
        say(phase.value, "; ".join(waiting))
        view.changed.wait(min(2.0, max(0.0, deadline - time.monotonic())))


def _explain(view: NamespaceView, name: str, pods: dict[str, KubeObject]) -> list[str]:
    kind_objects = view.objects("Deployment") | view.objects("Job")
    details = [f"events of {name}:"] + [
        f"  {line}" for line in recent_events(view.client, view.namespace, name)
    ]
    for pod in pods_of(kind_objects.get(name), pods)[:3]:
        pod_name = pod["metadata"]["name"]
        details.append(f"events of pod {pod_name}:")
        details += [f"  {line}" for line in recent_events(view.client, view.namespace, pod_name)]
        logs = pod_logs(view.client, view.namespace, pod_name)
        if logs:
            details.append(f"last log lines of pod {pod_name}:")
            details += [f"  {line.rstrip()}" for line in logs]
    return details


def _explain_all(view: NamespaceView, names: list[str], pods: dict[str, KubeObject]) -> list[str]:
    return [line for name in names for line in _explain(view, name, pods)]


def _prune(
    client: Client,
    previous: list[Revision],
    unrecorded: frozenset[ObjectKey],
    existing: dict[ObjectKey, KubeObject],
    current: set[ObjectKey],
    options: DeployOptions,
    say: Callable[[str, str], None],
) -> list[str]:
    """Delete what campus applied in a kept revision, or what an unfinished deploy recorded
    on the Lease before applying it (`unrecorded`), and no longer renders, in the spirit of
    kubectl ApplySets: only objects campus itself recorded, never data unless asked."""
    recorded: dict[ObjectKey, KubeObject] = {}
    for revision in previous:
        for obj in (*revision.objects, *revision.init_jobs):
            recorded[key_of(obj)] = obj
    for key in unrecorded - recorded.keys():
        if key in existing:  # an unfinished deploy may not have got as far as creating it
            recorded[key] = existing[key]
    pruned: list[str] = []
    for key, obj in sorted(recorded.items()):
        if key in current or key.kind == "Namespace":
            continue
        live = existing.get(key, obj)
        if is_data(live) and not options.prune_data:
            say("prune", f"keeping {key} (data; --prune-data removes it)")
            continue
        say("prune", f"deleting {key}")
        if delete_object(client, key):
            pruned.append(str(key))
    return pruned


def deploy_fleet(
    client: Client,
    requests: list[DeployRequest],
    options: DeployOptions,
    progress: Progress,
    parallel: int = 4,
) -> list[DeployResult]:
    """Each environment on its own; one failing does not stop the others."""
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [
            pool.submit(deploy_environment, fresh_client(client), request, options, progress)
            for request in requests
        ]
        return [future.result() for future in futures]
