"""What rendering hands to hardening, linting and deploying: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campus.fleet.model import Environment

KubeObject = dict[str, Any]


@dataclass(frozen=True)
class InitTask:
    """One of Tutor's init tasks for an environment: a script run in a service's image."""

    service: str
    script: str
    job: KubeObject  # the Job manifest that runs it, as Tutor's k8s backend would


@dataclass(frozen=True)
class RenderedEnvironment:
    """Tutor's output for one environment, before hardening.

    `secret_values` holds every value Tutor generated or was given that must never appear
    outside a Secret (passwords, SECRET_KEY, JWT keys, OAuth secrets); hardening moves
    them into Secrets and the linter proves none is left behind.
    """

    environment: Environment
    objects: list[KubeObject]
    init_tasks: list[InitTask] = field(default_factory=list)
    tutor_config: dict[str, Any] = field(default_factory=dict)
    secret_values: frozenset[str] = frozenset()
    tutor_version: str = ""
    # Tutor's generated settings (the environment's state) and where they came from.
    tutor_state: dict[str, Any] = field(default_factory=dict, repr=False)
    # The plugins Tutor loaded -> their distributions' versions (the release actually used).
    plugin_versions: dict[str, str] = field(default_factory=dict)
    # The pinned release's toolchain it rendered with ("": the Tutor installed beside campus).
    toolchain: str = ""
    state_origin: str = ""  # "cluster (matches the local cache)": source and why
    state_source: str = ""  # "cluster", "local cache" or "new"
    state_detail: str = ""  # "matches the local cache"
    # Why the cluster was not asked ("" when it was), and state_origin less it.
    state_unasked: str = ""
    state_alone: str = ""
