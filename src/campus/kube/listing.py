"""Listing many objects as plain dicts, for views that read a few fields of each.

`Client.list` decodes every object into lightkube's typed model, which callers working on
dicts then turn back into dicts: for a fleet's 2,000 Pods, most of a status's time. Here a
response is decoded straight into dicts, with the garbage collector paused meanwhile: the
hundreds of thousands of new containers otherwise set off collections that cost several
times the decoding itself (0.4 s against 0.1 s for 2,000 Pods). With `metadata_only` the
API server sends each object's metadata alone (a `PartialObjectMetadataList`), so large
bodies a caller does not read (revision Secrets carry a gzipped manifest) never cross the
network. Failures arrive as `campus.kube.errors` types, as from `KubeClient`.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from lightkube import Client
from lightkube.core.selector import build_selector

from campus.kube.errors import translated
from campus.kube.objects import KubeObject

ALL_NAMESPACES = "*"
# Metadata alone when the server can (any API server since 1.15), else whole objects.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"


class _Page(msgspec.Struct):
    items: list[KubeObject] | None = None
    metadata: dict[str, Any] = {}


_pause_lock = threading.Lock()
_pauses = 0
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside the block, back as it was once the last of
    several threads inside it leaves (it is one switch for the whole process)."""
    global _pauses, _collector_was_enabled
    with _pause_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()


def list_objects(
    client: Client,
    resource: Any,
    namespace: str = ALL_NAMESPACES,
    labels: dict[str, Any] | None = None,
    metadata_only: bool = False,
) -> list[KubeObject]:
    """Every `resource` object in `namespace` ("*": all) matching `labels`, as dicts.
    Objects of a metadata-only list carry `metadata` alone (no `apiVersion`/`kind`)."""
    api = client._client  # lightkube's request machinery: URL, credentials, transport
    params = {"labelSelector": build_selector(labels) if labels else None}
    request = api.prepare_request("list", res=resource, namespace=namespace, params=params)
    if metadata_only:
        request.headers = {"Accept": f"{METADATA_ONLY},application/json"}
    found: list[KubeObject] = []
    with translated(client.config.cluster.server):
        while True:
            response = api.send(api.build_adapter_request(request))
            response.raise_for_status()
            with collector_paused():
                page = msgspec.json.decode(response.content, type=_Page)
            found.extend(page.items or ())
            following = page.metadata.get("continue")
            if not following:
                return found
            request.params["continue"] = following
