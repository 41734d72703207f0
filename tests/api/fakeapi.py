"""A fake Kubernetes API server at the HTTP edge: campus's real code and a real lightkube
client (campus's KubeClient), on an `httpx2.MockTransport` answering with canned API
responses, JSON bodies as the API server sends them: Status objects for errors, List
objects, watch events as newline-delimited JSON. Milliseconds per test, no cluster.

    api.on("GET", "/api/v1/namespaces/acme/pods", listing("PodList", [pod]))
    api.on("WATCH", "/api/v1/namespaces/acme/pods", refusal(403, "pods is forbidden"))
    client = api.client()

Answers given to one route are served in order, the last one again and again. A list
nobody routed is empty; a watch nobody routed stays quiet; anything else is a 404.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from lightkube import KubeConfig

from campus.kube.client import KubeClient

SERVER = "https://api.fake.test:6443"
Answer = Callable[[httpx2.Request], httpx2.Response]

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "fake", "cluster": {"server": SERVER}}],
    "users": [{"name": "operator", "user": {"token": "secret-token"}}],
    "contexts": [
        {"name": "fake", "context": {"cluster": "fake", "user": "operator", "namespace": "default"}}
    ],
    "current-context": "fake",
}

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    406: "NotAcceptable",
    409: "AlreadyExists",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def status_body(code: int, message: str) -> dict[str, Any]:
    """A Status object, as the API server sends with every error."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "Unknown"),
        "code": code,
    }


def refusal(code: int, message: str) -> Answer:
    """An error answer with its Status."""
    return lambda request: httpx2.Response(code, json=status_body(code, message))


def answer(body: dict[str, Any], code: int = 200) -> Answer:
    return lambda request: httpx2.Response(code, json=body)


def listing(kind: str, items: list[dict[str, Any]], version: str = "100") -> Answer:
    """A List object (e.g. kind "PodList")."""
    api_version = items[0]["apiVersion"] if items else "v1"
    body = {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": version},
        "items": items,
    }
    return answer(body)


def metadata_listing(items: list[dict[str, Any]], version: str = "100") -> Answer:
    """A PartialObjectMetadataList of `items`' metadata, answered only to a request that
    asks for one (as the API server does with the Accept header); 406 to any other."""

    def respond(request: httpx2.Request) -> httpx2.Response:
        if "as=PartialObjectMetadataList" not in request.headers.get("accept", ""):
            return refusal(406, "this fake serves metadata only")(request)
        body = {
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": version},
            "items": [
                {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", **only}
                for only in ({"metadata": item["metadata"]} for item in items)
            ],
        }
        return httpx2.Response(200, json=body)

    return respond


def events(*pairs: tuple[str, dict[str, Any]]) -> Answer:
    """A watch stream: one JSON event per line, e.g. ("MODIFIED", deployment)."""
    lines = b"".join(
        json.dumps({"type": kind, "object": obj}).encode() + b"\n" for kind, obj in pairs
    )
    return lambda request: httpx2.Response(
        200, content=lines, headers={"Content-Type": "application/json"}
    )


def expired_event(message: str = "too old resource version: 100 (200)") -> Answer:
    """The ERROR event the server sends in a watch stream whose resourceVersion expired."""
    return events(("ERROR", status_body(410, message)))


def unreachable(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)


def quiet_watch(request: httpx2.Request) -> httpx2.Response:
    time.sleep(0.05)  # a watch that saw nothing before its timeout; lightkube asks again
    return httpx2.Response(200, content=b"", headers={"Content-Type": "application/json"})


def obj(api_version: str, kind: str, name: str, namespace: str, **fields: Any) -> dict[str, Any]:
    """An object as the server returns it."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "100"},
        **fields,
    }


def _is_list(path: str) -> bool:
    """/api/v1[/namespaces/NS]/PLURAL or /apis/GROUP/VERSION[/namespaces/NS]/PLURAL."""
    parts = path.strip("/").split("/")
    return len(parts) - (parts[0] == "apis") in (3, 5)


class FakeApi:
    """Canned answers by (method, path); "WATCH" is a GET with watch=true."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Answer]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        with self._lock:
            self._routes[method, path] = list(answers)

    def requested(self, method: str, path: str) -> int:
        """How many requests (method, path) got."""
        with self._lock:
            return self.requests.count((method, path))

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        watch = request.url.params.get("watch") == "true"
        method = "WATCH" if watch else request.method
        key = (method, request.url.path)
        with self._lock:
            self.requests.append(key)
            answers = self._routes.get(key)
            respond = answers.pop(0) if answers and len(answers) > 1 else None
            if respond is None and answers:
                respond = answers[0]
        if respond is not None:
            return respond(request)
        if watch:
            return quiet_watch(request)
        if method == "GET" and _is_list(request.url.path):
            return listing("List", [])(request)
        return refusal(404, f"{request.url.path} is not served by this fake")(request)

    def config(self) -> KubeConfig:
        return KubeConfig.from_dict(KUBECONFIG)

    def client(self) -> KubeClient:
        return KubeClient(
            self.config(), field_manager="campus", timeout=5, transport=httpx2.MockTransport(self)
        )

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    def kubeconfig(self, directory: Path) -> Path:
        """A kubeconfig file naming the fake server."""
        path = directory / "kubeconfig"
        path.write_text(json.dumps(KUBECONFIG))
        return path
