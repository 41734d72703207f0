"""The fleet file's `monitoring` section: as written (every field optional, so that an
environment inherits what it leaves out) and as resolved. Pure.

Monitoring is campus's Prometheus alerting rules for an environment, rendered as a
PrometheusRule in its namespace when the cluster serves that kind (docs/monitoring.md).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A Celery queue this long, in messages, means the workers no longer keep up.
DEFAULT_CELERY_QUEUE_LENGTH = 100

_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# Labels campus puts on the PrometheusRule itself: the fleet file cannot move them.
_CAMPUS_PREFIXES = ("campus.openedx.org/", "app.kubernetes.io/")


def check_label(key: str, value: str) -> None:
    """A ValueError unless `key: value` is a Kubernetes label campus leaves to the fleet."""
    prefix, slash, name = key.rpartition("/")
    if (
        (slash and (len(prefix) > 253 or not _PREFIX.match(prefix)))
        or len(name) > 63
        or not _NAME.match(name)
    ):
        raise ValueError(
            f"{key!r} is not a Kubernetes label key: [PREFIX/]NAME, NAME at most 63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    if key.startswith(_CAMPUS_PREFIXES):
        raise ValueError(f"{key!r}: campus sets the labels under {prefix}/ itself")
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise ValueError(
            f"label {key}: {value!r} is not a label value: at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit"
        )


class MonitoringSpec(BaseModel):
    """`monitoring` as a fleet file writes it, in `defaults` or an environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool | None = None  # false: no alerting rules for this environment
    # Extra labels on the PrometheusRule, for the Prometheus Operator's ruleSelector.
    rule_labels: dict[str, str] | None = None
    celery_queue_length: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @field_validator("rule_labels")
    @classmethod
    def _labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, text in (value or {}).items():
            check_label(key, text)
        return value


class Monitoring(BaseModel):
    """An environment's monitoring, every choice made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    rule_labels: dict[str, str] = Field(default_factory=dict)
    celery_queue_length: int = DEFAULT_CELERY_QUEUE_LENGTH


def resolved(defaults: MonitoringSpec | None, override: MonitoringSpec | None) -> Monitoring:
    """Field by field, `rule_labels` key by key: an environment adds to the defaults' labels."""
    base = defaults or MonitoringSpec()
    top = override or MonitoringSpec()
    enabled = top.enabled if top.enabled is not None else base.enabled
    return Monitoring(
        enabled=enabled if enabled is not None else True,
        rule_labels={**(base.rule_labels or {}), **(top.rule_labels or {})},
        celery_queue_length=top.celery_queue_length
        or base.celery_queue_length
        or DEFAULT_CELERY_QUEUE_LENGTH,
    )
