"""One deploy per environment at a time: a coordination Lease in its namespace, held and
renewed for the length of the deploy, like a controller's leader election.

The Lease also remembers whether the last deploy finished. Taking it marks it unfinished
(in the same request that takes it); only a deploy that recorded its revision clears the
mark when it lets go. A deploy that failed or died part-way leaves the mark, and the next
one learns that the cluster may hold objects no revision describes. Which ones: before it
applies an object that no kept revision records, a deploy adds its key to the Lease
(`unrecorded`), so the next deploy can prune what a failed one created."""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from lightkube import Client
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.types import PatchType

from campus.errors import CampusError
from campus.kube.connect import fresh_client
from campus.kube.errors import ApiFailure, Conflict, NotFound
from campus.kube.objects import ObjectKey
from campus.labels import UNFINISHED, UNRECORDED

LEASE_NAME = "campus-deploy"
LEASE_SECONDS = 30


class LockTimeout(CampusError):
    pass


def holder_identity() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}/{os.getpid()}/{threading.get_ident()}"


def _expired(lease: Lease, now: datetime) -> bool:
    spec = lease.spec
    if spec is None or not spec.holderIdentity:
        return True
    renewed = spec.renewTime or spec.acquireTime
    if renewed is None:
        return True
    return (now - renewed).total_seconds() > (spec.leaseDurationSeconds or LEASE_SECONDS)


@dataclass
class DeployLease:
    """The Lease a deploy holds. `unfinished`: the deploy before this one did not finish
    (it failed or died after taking the Lease), so what it applied may be live without
    being recorded in any revision; `unrecorded`: the objects such deploys meant to apply
    that no revision records."""

    unfinished: bool = False
    finished: bool = False
    unrecorded: frozenset[ObjectKey] = frozenset()
    client: Client | None = None
    namespace: str = ""

    def finish(self) -> None:
        """This deploy recorded its revision: letting go clears the unfinished mark."""
        self.finished = True

    def intend(self, keys: set[ObjectKey]) -> None:
        """Record, before applying them, objects that no kept revision records: should this
        deploy not finish, the next one knows to prune them."""
        wanted = self.unrecorded | keys
        if wanted == self.unrecorded or self.client is None:
            return
        listed = sorted([list(key) for key in wanted])
        patch = {"metadata": {"annotations": {UNRECORDED: json.dumps(listed)}}}
        try:
            self.client.patch(
                Lease, LEASE_NAME, patch, namespace=self.namespace, patch_type=PatchType.MERGE
            )
        except ApiFailure as error:
            raise error.saying(
                f"cannot record the objects this deploy applies on Lease {LEASE_NAME}: "
                f"{error.reason}"
            ) from None
        self.unrecorded = frozenset(wanted)


def _unrecorded(annotations: dict[str, str]) -> frozenset[ObjectKey]:
    try:
        return frozenset(ObjectKey(*item) for item in json.loads(annotations[UNRECORDED]))
    except (KeyError, ValueError, TypeError):
        return frozenset()


def _try_acquire(client: Client, namespace: str, me: str, lease: DeployLease) -> str | None:
    """None when acquired (marking the Lease unfinished), otherwise who holds it."""
    now = datetime.now(UTC)
    spec = LeaseSpec(
        holderIdentity=me, leaseDurationSeconds=LEASE_SECONDS, acquireTime=now, renewTime=now
    )
    marked = {UNFINISHED: me}
    try:
        current = client.get(Lease, LEASE_NAME, namespace=namespace)
    except NotFound:
        metadata = ObjectMeta(name=LEASE_NAME, namespace=namespace, annotations=marked)
        try:
            client.create(Lease(metadata=metadata, spec=spec))
        except Conflict:
            return "another deploy (just now)"
        return None
    if (
        current.spec
        and current.spec.holderIdentity not in (None, me)
        and not _expired(current, now)
    ):
        return current.spec.holderIdentity
    metadata = current.metadata or ObjectMeta()
    annotations = dict(metadata.annotations or {})
    unfinished = UNFINISHED in annotations
    metadata.annotations = {**annotations, **marked}
    current.metadata, current.spec = metadata, spec
    try:  # the resourceVersion in `current` makes this a compare-and-swap
        client.replace(current)
    except Conflict:
        return "another deploy (just now)"
    lease.unfinished = unfinished
    lease.unrecorded = _unrecorded(annotations) if unfinished else frozenset()
    return None


@contextmanager
def deploy_lock(
    client: Client,
    namespace: str,
    timeout: float,
    on_wait: Callable[[str], None] = lambda holder: None,
) -> Iterator[DeployLease]:
    """Hold the environment's deploy Lease; wait up to `timeout` seconds for another holder."""
    me = holder_identity()
    lease = DeployLease(client=client, namespace=namespace)
    deadline = time.monotonic() + timeout
    while (holder := _try_acquire(client, namespace, me, lease)) is not None:
        if time.monotonic() > deadline:
            raise LockTimeout(
                f"another deploy of namespace {namespace} is running ({holder}); "
                f"gave up after {timeout:.0f}s"
            )
        on_wait(holder)
        time.sleep(1)
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(fresh_client(client), namespace, me, stop), daemon=True
    )
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        _release(client, namespace, me, lease.finished)


def _renew(client: Client, namespace: str, me: str, stop: threading.Event) -> None:
    while not stop.wait(LEASE_SECONDS / 3):
        try:
            lease = client.get(Lease, LEASE_NAME, namespace=namespace)
            if lease.spec and lease.spec.holderIdentity == me:
                lease.spec.renewTime = datetime.now(UTC)
                client.replace(lease)
        except ApiFailure:
            pass  # the next renewal tries again; the lease outlives one missed beat


def _release(client: Client, namespace: str, me: str, finished: bool) -> None:
    try:
        lease = client.get(Lease, LEASE_NAME, namespace=namespace)
        if lease.spec and lease.spec.holderIdentity == me:
            lease.spec.holderIdentity = None
            lease.spec.renewTime = None
            lease.spec.acquireTime = None
            if finished and lease.metadata and lease.metadata.annotations:
                lease.metadata.annotations.pop(UNFINISHED, None)
                lease.metadata.annotations.pop(UNRECORDED, None)
            client.replace(lease)
    except ApiFailure:
        pass  # it expires by itself; the mark stays, which only costs the next deploy time


def last_deploy_unfinished(client: Client, namespace: str) -> bool:
    """Whether the last deploy of the namespace failed or died after taking the Lease."""
    try:
        lease = client.get(Lease, LEASE_NAME, namespace=namespace)
    except NotFound:
        return False
    except ApiFailure as error:
        raise error.saying(f"cannot read the deploy Lease in {namespace}: {error.reason}") from None
    return UNFINISHED in ((lease.metadata and lease.metadata.annotations) or {})
