"""Preparing the API client's decoders once, before any thread uses them.

lightkube decodes responses with msgspec, which builds its per-type decoding tables on
first use. Two threads decoding the same type for the first time at once can crash the
interpreter (a segmentation fault inside msgspec, reproduced with eight threads listing
five kinds: 6 crashes in 6 runs, none once primed). campus deploys environments, watches
and renews leases on threads, so every type it reads is decoded once, on one thread,
before any client is handed out.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import Any

import msgspec
from lightkube.core import decoders

# The API groups campus reads and writes; lightkube's resource modules for them.
_MODULES = (
    "core_v1",
    "apps_v1",
    "batch_v1",
    "autoscaling_v2",
    "policy_v1",
    "networking_v1",
    "coordination_v1",
    "storage_v1",
    "rbac_authorization_v1",
    "events_v1",
)
_lock = threading.Lock()
_primed = False


def _resources() -> list[Any]:
    found = []
    for name in _MODULES:
        module = importlib.import_module(f"lightkube.resources.{name}")
        for value in vars(module).values():
            if isinstance(value, type) and hasattr(value, "_api_info"):
                found.append(value)
    return found


def prime_decoders() -> None:
    """Build every decoding table campus needs, once per process; safe to call often."""
    global _primed
    if _primed:
        return
    with _lock:
        if _primed:
            return
        for resource in _resources():
            decoders.decode_list(b'{"items":[]}', resource)
            if isinstance(resource, type) and issubclass(resource, msgspec.Struct):
                # The tables are built before validation fails on the empty object.
                with contextlib.suppress(msgspec.ValidationError):
                    decoders.decode_object(b"{}", resource)
        decoders.decode_status(b"{}")
        _primed = True
