"""The service catalogue's facts as a live object carries them. Pure.

Hardening resolves each workload's entry for its environment (known, classified by the
fallback from what Tutor rendered, or overridden in the fleet file) and writes the facts
readers of live objects need as annotations on the workload and its pod template. Drills,
drains and status read them back here, so a plugin service classified by the fallback or
an override counts exactly as hardening treated it. Objects deployed before these
annotations existed fall back to the known entry by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from campus.kube.objects import KubeObject, annotations_of
from campus.labels import PHASE, SERVICE_KIND, STATELESS
from campus.services.catalogue import defaults, service_name
from campus.services.model import Kind, Phase, Service


@dataclass(frozen=True)
class Facts:
    """What a reader of live objects needs to know about a workload's service."""

    kind: Kind
    stateless: bool
    phase: Phase = Phase.APPLICATIONS

    @property
    def replicable(self) -> bool:
        """Stateless web services and workers: production keeps them serving through a lost
        node, a drain or a rotation."""
        return self.stateless and self.kind in (Kind.WEB, Kind.WORKER)

    @property
    def data(self) -> bool:
        return self.kind is Kind.DATA


def facts_of(service: Service) -> Facts:
    return Facts(service.kind, service.stateless, service.phase)


def workload_annotations(service: Service) -> dict[str, str]:
    """The annotations of a Deployment or StatefulSet running `service`."""
    return {**pod_annotations(service), PHASE: service.phase.value}


def pod_annotations(service: Service) -> dict[str, str]:
    """The annotations of its pod template: what a drain, seeing only pods, needs."""
    return {SERVICE_KIND: service.kind.value, STATELESS: str(service.stateless).lower()}


def read(obj: KubeObject) -> Facts:
    """The facts a live workload or pod carries; the known entry by name for an object
    without them (deployed by an older campus). An unreadable value counts as missing."""
    annotations = annotations_of(obj)
    fallback = facts_of(defaults().get(service_name(obj)))
    try:
        kind = Kind(annotations[SERVICE_KIND])
    except (KeyError, ValueError):
        return fallback
    stateless = annotations.get(STATELESS)
    try:
        phase = Phase(annotations.get(PHASE, fallback.phase.value))
    except ValueError:
        phase = fallback.phase
    if stateless is None:
        return Facts(kind, kind in (Kind.WEB, Kind.WORKER), phase)
    return Facts(kind, stateless == "true", phase)
