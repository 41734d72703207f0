"""The fleet file's `backup` section: as written (every field optional, so that an
environment inherits what it leaves out) and as resolved (every choice made). Pure.

A backup is a restic snapshot of an environment's databases (and file volumes) in an
S3-compatible store; docs/backups.md says what is backed up and how.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campus.fleet.cron import check_schedule

DEFAULT_SCHEDULE = "0 3 * * *"
DEFAULT_IMAGE = "docker.io/restic/restic:0.18.1"
DEFAULT_KEEP = {"hourly": 0, "daily": 7, "weekly": 4, "monthly": 0}

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
# A snapshot count per period; restic takes any, a fleet file needs far fewer.
KeepCount = Annotated[int, Field(ge=0, le=10_000)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_repository(value: str) -> str:
    """`s3:[http[s]://]HOST[:PORT]/BUCKET[/PREFIX]`, restic's S3 form, without a trailing
    slash (campus appends `/<environment>`)."""
    text = value.strip().rstrip("/")
    if not text.startswith("s3:") or any(c.isspace() for c in text):
        raise ValueError(
            f"{value!r} is not an S3 repository: restic's form is "
            "s3:https://HOST[:PORT]/BUCKET[/PREFIX] (s3:http://... for a store without TLS)"
        )
    location = text.removeprefix("s3:")
    parts = urlsplit(location if "://" in location else f"https://{location}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(f"{value!r}: the store's address must be http(s)://HOST[:PORT]")
    if not parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{value!r} names no bucket: s3:{parts.scheme}://HOST/BUCKET")
    return text


def check_secret_reference(value: str) -> str:
    namespace, slash, name = value.partition("/")
    if not slash or not _LABEL.match(namespace) or not _SUBDOMAIN.match(name):
        raise ValueError(
            f"{value!r} is not NAMESPACE/NAME of a Secret (a DNS-1123 label, then a "
            "DNS-1123 subdomain): the Secret lives outside the environment's namespace"
        )
    return value


def check_image(value: str) -> str:
    name = value.split("@", 1)[0]
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an image reference")
    if "@" not in value and tag in ("", "latest"):
        raise ValueError(
            f"{value!r} names no fixed version: pin one (IMAGE:TAG or IMAGE@sha256:...), "
            "as every image campus runs is pinned"
        )
    return value


def _cidrs(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("an empty list: name the store's addresses, or set namespace")
    try:
        return [str(ipaddress.ip_network(cidr, strict=False)) for cidr in value]
    except ValueError as error:
        raise ValueError(f"not a CIDR: {error}") from None


class StoreSpec(_Section):
    """Where snapshots go, and with which credentials."""

    repository: str | None = None
    secret: str | None = None
    namespace: str | None = None  # an in-cluster store: its pods' namespace
    cidrs: list[str] | None = None  # an external store: its addresses

    _repository = field_validator("repository")(lambda v: v and check_repository(v))
    _secret = field_validator("secret")(lambda v: v and check_secret_reference(v))
    _store_cidrs = field_validator("cidrs")(_cidrs)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and not _LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid namespace name (a DNS-1123 label)")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> StoreSpec:
        if self.namespace and self.cidrs:
            raise ValueError(
                "set namespace (a store running in the cluster) or cidrs (a store outside "
                "it), not both"
            )
        return self


class KeepSpec(_Section):
    """How many snapshots restic keeps per period (`restic forget --keep-*`)."""

    hourly: KeepCount | None = None
    daily: KeepCount | None = None
    weekly: KeepCount | None = None
    monthly: KeepCount | None = None


class BackupSpec(_Section):
    """`backup` as a fleet file writes it, in `defaults` or an environment."""

    enabled: bool | None = None  # false: no backups, whatever `defaults` say
    schedule: str | None = None
    keep: KeepSpec | None = None
    store: StoreSpec | None = None
    image: str | None = None

    _schedule = field_validator("schedule")(lambda v: v and check_schedule(v))
    _image = field_validator("image")(lambda v: v and check_image(v))


class Store(_Section):
    repository: str
    secret: str  # NAMESPACE/NAME
    namespace: str | None = None
    cidrs: tuple[str, ...] = ()

    @property
    def secret_namespace(self) -> str:
        return self.secret.partition("/")[0]

    @property
    def secret_name(self) -> str:
        return self.secret.partition("/")[2]


class Keep(_Section):
    hourly: int
    daily: int
    weekly: int
    monthly: int


class Backup(_Section):
    """An environment's backups, every choice made."""

    schedule: str
    keep: Keep
    store: Store
    image: str


def merged(defaults: BackupSpec | None, override: BackupSpec | None) -> BackupSpec | None:
    """Field by field, `keep` count by count; in `store` an environment that names where
    the store is (`namespace` or `cidrs`) replaces both, since they are alternatives."""
    if defaults is None or override is None:
        return override or defaults
    keep = {
        **(defaults.keep.model_dump(exclude_none=True) if defaults.keep else {}),
        **(override.keep.model_dump(exclude_none=True) if override.keep else {}),
    }
    store = defaults.store.model_dump(exclude_none=True) if defaults.store else {}
    if override.store:
        top = override.store.model_dump(exclude_none=True)
        if "namespace" in top or "cidrs" in top:
            store.pop("namespace", None)
            store.pop("cidrs", None)
        store.update(top)
    base = defaults.model_dump(exclude_none=True, exclude={"keep", "store"})
    base.update(override.model_dump(exclude_none=True, exclude={"keep", "store"}))
    return BackupSpec.model_validate(
        {**base, "keep": keep or None, "store": store or None},
    )


def missing(spec: BackupSpec) -> list[str]:
    """What a resolved backup still lacks (empty: it resolves)."""
    store = spec.store or StoreSpec()
    lacking = [f"store.{key}" for key in ("repository", "secret") if not getattr(store, key)]
    if not store.namespace and not store.cidrs:
        lacking.append("store.namespace or store.cidrs")
    return lacking


def resolved(spec: BackupSpec | None) -> Backup | None:
    """The environment's backups: None when it has none (no `backup`, `enabled: false`, or
    a section still incomplete, which the fleet's checks report)."""
    if spec is None or spec.enabled is False or missing(spec):
        return None
    store = spec.store
    assert store is not None and store.repository and store.secret
    keep = {**DEFAULT_KEEP, **(spec.keep.model_dump(exclude_none=True) if spec.keep else {})}
    return Backup(
        schedule=spec.schedule or DEFAULT_SCHEDULE,
        keep=Keep(**keep),
        store=Store(
            repository=store.repository,
            secret=store.secret,
            namespace=store.namespace,
            cidrs=tuple(store.cidrs or ()),
        ),
        image=spec.image or DEFAULT_IMAGE,
    )
