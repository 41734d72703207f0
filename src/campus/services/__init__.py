"""The service catalogue: what campus knows about every service an environment runs.

`model` is the typed entry, `known` the entries for Tutor's services and common plugins',
`catalogue` one environment's catalogue (known entries, a classification of the unknown
ones from Tutor's objects, the fleet file's overrides), `facts` what of it a live workload
carries as annotations, `routes` the public sites Tutor's Caddy serves. Pure.
"""

from __future__ import annotations

from campus.services.catalogue import (
    STATELESS,
    Catalogue,
    catalogue_for,
    claims,
    classify,
    defaults,
    service_name,
)
from campus.services.facts import Facts, pod_annotations, read, workload_annotations
from campus.services.known import JOB, KNOWN
from campus.services.model import Kind, Phase, Service, Sizing
from campus.services.routes import Site, public_sites

__all__ = [
    "JOB",
    "KNOWN",
    "STATELESS",
    "Catalogue",
    "Facts",
    "Kind",
    "Phase",
    "Service",
    "Site",
    "Sizing",
    "catalogue_for",
    "claims",
    "classify",
    "defaults",
    "pod_annotations",
    "public_sites",
    "read",
    "service_name",
    "workload_annotations",
]
