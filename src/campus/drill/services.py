"""Which services a drill or a drain holds to which promise, in one place. Pure.

Production stateless services (web and workers, plugins' included, whether the catalogue
knows them by name, classified them by the fallback or the fleet file overrides them) must
never be without a ready replica; data services run as one replica on a ReadWriteOnce
volume, so a move costs them downtime, which is measured and reported, not failed. What a
service is comes from the facts hardening wrote on its live workload and pods
(`campus.services.read`), never from its name.
"""

from __future__ import annotations

from collections.abc import Mapping

from campus.services import Facts, read

ServiceKey = tuple[str, str]  # (environment, service)


def must_stay_up(production: bool, facts: Facts) -> bool:
    """A service that a lost node, a drain or a rotation must never take to zero."""
    return production and facts.replicable


def facts_for(key: ServiceKey, facts: Mapping[ServiceKey, Facts] | None) -> Facts:
    """The facts read from the service's workload; a service no workload was read for (a
    report built from samples alone) falls back to its known entry by name."""
    if facts and key in facts:
        return facts[key]
    return read({"metadata": {"name": key[1]}})
