"""One deploy per environment at a time: a coordination Lease in its namespace, held and
renewed for the length of the deploy, like a controller's leader election."""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from lightkube import Client
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from campus.errors import CampusError
from campus.kube.connect import fresh_client
from campus.kube.errors import ApiFailure, Conflict, NotFound

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


def _try_acquire(client: Client, namespace: str, me: str) -> str | None:
    """None when acquired, otherwise who holds it."""
    now = datetime.now(UTC)
    spec = LeaseSpec(
        holderIdentity=me, leaseDurationSeconds=LEASE_SECONDS, acquireTime=now, renewTime=now
    )
    try:
        current = client.get(Lease, LEASE_NAME, namespace=namespace)
    except NotFound:
        try:
            client.create(
                Lease(metadata=ObjectMeta(name=LEASE_NAME, namespace=namespace), spec=spec)
            )
        except Conflict:
            return "another deploy (just now)"
        return None
    if (
        current.spec
        and current.spec.holderIdentity not in (None, me)
        and not _expired(current, now)
    ):
        return current.spec.holderIdentity
    current.spec = spec
    try:  # the resourceVersion in `current` makes this a compare-and-swap
        client.replace(current)
    except Conflict:
        return "another deploy (just now)"
    return None


@contextmanager
def deploy_lock(
    client: Client,
    namespace: str,
    timeout: float,
    on_wait: Callable[[str], None] = lambda holder: None,
) -> Iterator[None]:
    """Hold the environment's deploy Lease; wait up to `timeout` seconds for another holder."""
    me = holder_identity()
    deadline = time.monotonic() + timeout
    while (holder := _try_acquire(client, namespace, me)) is not None:
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
        yield
    finally:
        stop.set()
        renewer.join()
        _release(client, namespace, me)


def _renew(client: Client, namespace: str, me: str, stop: threading.Event) -> None:
    while not stop.wait(LEASE_SECONDS / 3):
        try:
            lease = client.get(Lease, LEASE_NAME, namespace=namespace)
            if lease.spec and lease.spec.holderIdentity == me:
                lease.spec.renewTime = datetime.now(UTC)
                client.replace(lease)
        except ApiFailure:
            pass  # the next renewal tries again; the lease outlives one missed beat


def _release(client: Client, namespace: str, me: str) -> None:
    try:
        lease = client.get(Lease, LEASE_NAME, namespace=namespace)
        if lease.spec and lease.spec.holderIdentity == me:
            lease.spec.holderIdentity = None
            lease.spec.renewTime = None
            lease.spec.acquireTime = None
            client.replace(lease)
    except ApiFailure:
        pass  # it expires by itself
