"""A live, watch-fed view of one namespace's workloads, for waits that react the moment
something changes instead of polling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event, Pod

from campus.kube.connect import fresh_client
from campus.kube.errors import ApiFailure, Gone
from campus.kube.objects import KubeObject

WATCHED = {"Deployment": Deployment, "Job": Job, "Pod": Pod}
# How long one watch request stays open; a stopped view lets its threads go within this.
_WATCH_SECONDS = 15


class NamespaceView:
    """Deployments, Jobs and Pods of one namespace, kept current by one watch per kind.

    `changed` is set on every event so a waiter can sleep until something happens.
    `refusal` is set when the API server refuses to let a kind be listed or watched
    (RBAC, an unknown kind): that kind will never be seen, so a waiter must fail with it
    rather than wait. Network trouble and server errors are retried; an expired
    resourceVersion (410) lists again.
    """

    def __init__(self, client: Client, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.changed = threading.Event()
        self._objects: dict[str, dict[str, KubeObject]] = {kind: {} for kind in WATCHED}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listed = {kind: threading.Event() for kind in WATCHED}
        self.refusal: ApiFailure | None = None

    def start(self) -> None:
        for kind in WATCHED:
            thread = threading.Thread(target=self._follow, args=(kind,), daemon=True)
            thread.start()
            self._threads.append(thread)
        for listed in self._listed.values():
            listed.wait(timeout=30)

    def stop(self) -> None:
        self._stopping.set()

    def objects(self, kind: str) -> dict[str, KubeObject]:
        with self._lock:
            return dict(self._objects[kind])

    def _follow(self, kind: str) -> None:
        resource: Any = WATCHED[kind]
        client = fresh_client(self.client)
        while not self._stopping.is_set():
            doing = "list"
            try:
                listed = client.list(resource, namespace=self.namespace)
                items = {item.metadata.name: item.to_dict() for item in listed}
                version = listed.resourceVersion
                with self._lock:
                    self._objects[kind] = items
                self.changed.set()
                self._listed[kind].set()
                doing = "watch"
                while not self._stopping.is_set():
                    for event, obj in client.watch(
                        resource,
                        namespace=self.namespace,
                        resource_version=version,
                        server_timeout=_WATCH_SECONDS,
                    ):
                        version = obj.metadata.resourceVersion
                        with self._lock:
                            if event == "DELETED":
                                self._objects[kind].pop(obj.metadata.name, None)
                            else:
                                self._objects[kind][obj.metadata.name] = obj.to_dict()
                        self.changed.set()
                        if self._stopping.is_set():
                            return
            except Gone:
                continue  # our resourceVersion expired: list again
            except ApiFailure as error:
                if not error.transient:
                    self._refused(
                        error.saying(f"cannot {doing} {kind}s in {self.namespace}: {error.reason}")
                    )
                    return
                self._listed[kind].set()
                self._stopping.wait(2)  # network trouble or a server error: retry

    def _refused(self, refusal: ApiFailure) -> None:
        with self._lock:
            self.refusal = self.refusal or refusal
        self.changed.set()
        for listed in self._listed.values():
            listed.set()


@contextmanager
def namespace_view(client: Client, namespace: str) -> Iterator[NamespaceView]:
    view = NamespaceView(client, namespace)
    view.start()
    try:
        yield view
    finally:
        view.stop()


def recent_events(client: Client, namespace: str, name: str, limit: int = 8) -> list[str]:
    """The last warning and normal events about one object, oldest first, as one-liners."""
    try:
        events = [
            e for e in client.list(Event, namespace=namespace, fields={"involvedObject.name": name})
        ]
    except ApiFailure:
        return []
    events.sort(key=lambda e: str(e.lastTimestamp or e.eventTime or ""))
    return [f"{e.type} {e.reason}: {e.message}" for e in events[-limit:]]


def pod_logs(client: Client, namespace: str, pod: str, lines: int = 20) -> list[str]:
    """The last lines of a pod's log, when the cluster has containers to read them from
    (the sandbox simulates pods and has none)."""
    try:
        return list(client.log(pod, namespace=namespace, tail_lines=lines))
    except ApiFailure:
        return []
