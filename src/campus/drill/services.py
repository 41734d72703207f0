"""Which services a drill or a drain holds to which promise, read in one place from the
service catalogue. Pure.

Production stateless services (web and workers, plugins' included) must never be without
a ready replica; data services run as one replica on a ReadWriteOnce volume, so a move
costs them downtime, which is measured and reported, not failed.
"""

from __future__ import annotations

from campus.services import KNOWN, STATELESS, Kind


def must_stay_up(production: bool, service: str) -> bool:
    """A service that a lost node, a drain or a rotation must never take to zero."""
    return production and service in STATELESS


def is_data_service(service: str) -> bool:
    known = KNOWN.get(service)
    return known is not None and known.kind is Kind.DATA
