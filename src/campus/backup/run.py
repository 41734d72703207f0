"""Running the Jobs of `campus backup` and `campus backups`: created from the live
CronJob (`campus.backup.jobs`), watched through the namespace's watch-fed view until they
end, their container's log read for restic's JSON."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.resources.batch_v1 import CronJob
from lightkube.resources.core_v1 import Node

from campus.backup import jobs, restic
from campus.backup.jobs import Run
from campus.backup.schedule import CRONJOB, RESTIC
from campus.errors import CampusError
from campus.kube.apply import delete_object
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject, key_of
from campus.kube.watch import namespace_view
from campus.labels import JOB_NAME, KWOK_NODE

FAILURE_LINES = 20  # of the failed container's log


class NoBackups(CampusError):
    """The environment has no backup CronJob."""


def backup_cronjob(client: Client, environment: str, namespace: str) -> KubeObject:
    try:
        found: KubeObject = client.get(CronJob, CRONJOB, namespace=namespace).to_dict()
    except NotFound:
        raise NoBackups(
            f"{environment} has no backups: no CronJob {CRONJOB} in namespace {namespace} "
            "(set `backup` for it in the fleet file and deploy; docs/backups.md)"
        ) from None
    except ApiFailure as error:
        raise error.saying(f"cannot read CronJob {namespace}/{CRONJOB}: {error.reason}") from None
    return found


def _simulated(client: Client, node: str) -> bool:
    try:
        annotations = client.get(Node, node).metadata.annotations or {}  # type: ignore[union-attr]
    except ApiFailure:
        return False  # nodes may not be these credentials' to read: assume a real one
    return annotations.get(KWOK_NODE) == "fake"


def _newest_pod(pods: dict[str, KubeObject], job: str) -> KubeObject | None:
    own = [p for p in pods.values() if (p["metadata"].get("labels") or {}).get(JOB_NAME) == job]
    return max(own, key=lambda p: str(p["metadata"].get("creationTimestamp", "")), default=None)


def _log(client: Client, namespace: str, pod: str, container: str, tail: int | None) -> list[str]:
    try:
        return [
            line.rstrip("\n")
            for line in client.log(pod, namespace=namespace, container=container, tail_lines=tail)
        ]
    except ApiFailure:
        return []


def run_job(
    client: Client,
    job: KubeObject,
    say: Callable[[str], None],
    doing: dict[str, str] = jobs.DOING,
    timeout: float | None = None,
    log_container: str | None = None,
) -> Run:
    """Create `job` and follow it to its end, saying each change of stage; then read the
    log that tells the outcome (the failed container's, else `log_container`'s, by
    default restic's). A pod placed on one of the sandbox's simulated nodes,
    where no container runs, is refused (and its Job deleted)."""
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    deadline = None if timeout is None else time.monotonic() + timeout
    with namespace_view(client, namespace) as view:
        try:
            client.create(from_dict(job))
        except ApiFailure as error:
            raise error.saying(f"cannot create Job {namespace}/{name}: {error.reason}") from None
        say(f"created Job {name}")
        checked_node = ""
        while True:
            view.changed.clear()
            if view.refusal is not None:
                raise CampusError(str(view.refusal))
            live = view.objects("Job").get(name) or job
            pod = _newest_pod(view.objects("Pod"), name)
            current = jobs.stage(live, pod, doing)
            node = str(((pod or {}).get("spec") or {}).get("nodeName") or "")
            if node and node != checked_node:
                checked_node = node
                if _simulated(client, node):
                    delete_object(client, key_of(job))
                    raise CampusError(
                        f"the pod of {name} was placed on simulated node {node}, where no "
                        "container runs: nothing would be backed up (the Job is deleted). "
                        "Backups run on real nodes (`cluster.real_nodes` in the sandbox)."
                    )
            if current.stuck:  # the Job would retry it until its deadline: nobody waits that
                delete_object(client, key_of(job))
                current = replace(current, message=f"{current.message} (the Job is deleted)")
            say(current.message)
            if current.done:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CampusError(
                    f"{name}: not done after {timeout:.0f}s ({current.message}); the Job goes on"
                )
            view.changed.wait(2.0)
    run = Run(name, current, pod["metadata"]["name"] if pod else "", node)
    if pod is not None:
        tail = FAILURE_LINES if current.failed else None
        container = (current.container if current.failed else "") or log_container
        run.lines = _log(client, namespace, run.pod, container or current.container or RESTIC, tail)
    return run


def run_backup(
    client: Client,
    environment: str,
    namespace: str,
    say: Callable[[str], None],
    timeout: float | None = None,
) -> tuple[Run, restic.BackupSummary | None]:
    """A backup now, from the CronJob's template; its restic summary when it succeeded."""
    cronjob = backup_cronjob(client, environment, namespace)
    job = jobs.manual_job(cronjob, datetime.now(UTC))
    run = run_job(client, job, say, timeout=timeout)
    return run, (None if run.failed else restic.backup_summary(run.lines))


def list_snapshots(
    client: Client, environment: str, namespace: str, say: Callable[[str], None]
) -> tuple[Run, list[restic.Snapshot] | None]:
    """The environment's snapshots, by a short Job of the backup pod's restic; the Job is
    deleted once read."""
    cronjob = backup_cronjob(client, environment, namespace)
    job = jobs.listing_job(cronjob, datetime.now(UTC))
    try:
        run = run_job(client, job, say, {RESTIC: "restic listing the snapshots"})
    finally:
        with contextlib.suppress(ApiFailure):  # else its TTL removes it
            delete_object(client, key_of(job))
    return run, restic.snapshots(run.lines)
