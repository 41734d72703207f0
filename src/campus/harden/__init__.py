"""Hardening: Tutor's objects made fit for a shared production cluster.

Each rule lives in its own module as a `Rule` (transformation + check); `RULES` is their
order. Pure functions over plain objects: no cluster, no files.
"""

from __future__ import annotations

import copy

from campus.harden import (
    api_access,
    availability,
    backup,
    data,
    egress,
    entry,
    facts,
    isolation,
    logs,
    ownership,
    peer,
    probes,
    resources,
    secrets,
)
from campus.harden.rule import Rule, Violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment

# Order matters: secrets first (later rules copy pod specs into new objects), resources
# before availability and isolation (the quota sums requests), facts after availability
# (it records what availability decided), backup after the secrets rule (it reads where the
# MySQL password went) and before the rules that shape every pod, which shape its pods too
# (it sizes them itself, so after resources), egress after api_access (it admits the pods
# api_access labels to the API server), peer after every rule that shapes pods (its
# waivers follow what they did; api_access decides which pods mount a token), ownership
# last (it labels what the others added).
RULES: tuple[Rule, ...] = (
    secrets.RULE,
    resources.RULE,
    logs.RULE,
    probes.RULE,
    availability.RULE,
    entry.RULE,
    data.RULE,
    facts.RULE,
    backup.RULE,
    isolation.RULE,
    api_access.RULE,
    egress.RULE,
    peer.RULE,
    ownership.RULE,
)

__all__ = ["RULES", "Rule", "Violation", "harden", "harden_all", "harden_init_jobs"]


def _run(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    for rule in RULES:
        objects = rule.apply(rendered, objects)
    return objects


def harden_all(rendered: RenderedEnvironment) -> tuple[list[KubeObject], list[KubeObject]]:
    """(objects, init Jobs) with every rule applied; Tutor's own are left untouched.

    The init Jobs go through the rules with the rest, so the quota counts them and their
    scripts move into Secrets, which are among the objects."""
    jobs = [copy.deepcopy(task.job) for task in rendered.init_tasks]
    hardened = _run(rendered, copy.deepcopy(rendered.objects) + jobs)
    return [o for o in hardened if o["kind"] != "Job"], [o for o in hardened if o["kind"] == "Job"]


def harden(rendered: RenderedEnvironment) -> list[KubeObject]:
    return harden_all(rendered)[0]


def harden_init_jobs(rendered: RenderedEnvironment) -> list[KubeObject]:
    return harden_all(rendered)[1]
