"""Which services a drill or a drain holds to which promise, read in one place. Pure.

Production web services must never be without a ready replica; data services run as one
replica on a ReadWriteOnce volume, so a move costs them downtime, which is measured and
reported, not failed. Both sets come from the layers that decide them today (the
availability rule, the deploy phases); a service catalogue can replace them here alone.
"""

from __future__ import annotations

from campus.deploy.phases import BACKING_SERVICES
from campus.harden.availability import WEB_SERVICES


def must_stay_up(production: bool, service: str) -> bool:
    """A service that a lost node, a drain or a rotation must never take to zero."""
    return production and service in WEB_SERVICES


def is_data_service(service: str) -> bool:
    return service in BACKING_SERVICES
