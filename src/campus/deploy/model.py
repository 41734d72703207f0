"""What a deploy is asked to do and what it did: plain data shared by the engine, plan,
scale, rollback and output, so none of them imports the engine for its dataclasses. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from campus.kube.objects import KubeObject, ObjectKey
from campus.state.model import TutorState

Outcome = Literal["deployed", "unchanged", "failed", "planned"]

# Revisions kept per environment for `history` and `rollback`.
DEFAULT_KEEP = 10


class Progress(Protocol):
    """Where the engine says what it is doing and what it waits for."""

    def update(self, environment: str, phase: str, message: str) -> None: ...


@dataclass(frozen=True)
class DeployOptions:
    dry_run: bool = False
    prune: bool = True
    prune_data: bool = False
    phase_timeout: float = 600.0
    lock_timeout: float = 120.0
    keep_revisions: int = DEFAULT_KEEP
    # A release change campus refuses (a downgrade, a skipped release) is made anyway.
    force: bool = False
    # A release change serves a maintenance page while its upgrade Jobs run.
    maintenance: bool = False


@dataclass(frozen=True)
class DeployRequest:
    """One environment's prepared manifest, and what to record about where it came from."""

    environment: str
    namespace: str
    objects: list[KubeObject]
    init_jobs: list[KubeObject]
    tutor_version: str = ""
    fleet_hash: str = ""
    # The plugins' versions in the render (with tutor_version: the release), for history.
    plugin_versions: dict[str, str] = field(default_factory=dict)
    # Stored in the cluster before anything is applied, when it holds none (first deploy).
    tutor_state: TutorState | None = None
    # The Tutor settings this deploy rotates (`campus secrets rotate`): recorded in its
    # revision, and the one deploy allowed while their rotation is pending.
    rotating: tuple[str, ...] = ()
    state_origin: str = ""  # which Tutor state it was rendered from, said before deploying
    # Tutor plugins enabled: some upgrade steps run only with a plugin (mfe, forum).
    plugins: tuple[str, ...] = ()
    # The maintenance page's objects as this cluster runs them (placed on the sandbox's
    # real nodes with the environment); empty: `maintenance.objects` of `objects`.
    maintenance_page: list[KubeObject] = field(default_factory=list)
    # NAMESPACE/NAME of the backup store's Secret (`backup.store.secret`), copied into the
    # namespace for the backup CronJob's pods; "" when the environment has no backups.
    backup_store: str = ""


@dataclass
class DeployResult:
    environment: str
    namespace: str
    outcome: Outcome = "failed"
    revision: int | None = None
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    jobs_run: int = 0
    pruned: list[str] = field(default_factory=list)
    message: str = ""
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # What a failure leaves behind: the revision that was serving before this deploy (None
    # when none was recorded, i.e. a first install), whether that is known yet, the phase
    # that failed, and every object this deploy applied.
    previous_revision: int | None = None
    history_read: bool = False
    failed_phase: str = ""
    reached_phase: str = ""  # the last phase this deploy began ("" when none)
    applied: list[ObjectKey] = field(default_factory=list)
    # The release change this deploy made or tried ("" when the release did not change).
    upgrade: str = ""
