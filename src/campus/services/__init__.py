"""The service catalogue: what campus knows about every service an environment runs.

`model` is the typed entry, `known` the entries for Tutor's services and common plugins',
`catalogue` one environment's catalogue (known entries, a classification of the unknown
ones from Tutor's objects, the fleet file's overrides), `routes` the public sites Tutor's
Caddy serves. Pure.
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
from campus.services.known import JOB, KNOWN
from campus.services.model import Kind, Phase, Service, Sizing
from campus.services.routes import Site, public_sites

__all__ = [
    "JOB",
    "KNOWN",
    "STATELESS",
    "Catalogue",
    "Kind",
    "Phase",
    "Service",
    "Site",
    "Sizing",
    "catalogue_for",
    "claims",
    "classify",
    "defaults",
    "public_sites",
    "service_name",
]
