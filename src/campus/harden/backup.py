"""Rule: an environment whose fleet entry asks for backups has its backup CronJob, reading
the MySQL root password where the MySQL server reads it; one that does not has none.

Tutor backs nothing up. The CronJob and its egress policy come from
`campus.backup.schedule`; added after the secrets rule (the password has moved into a
Secret by then) and before the rules that shape every pod (isolation, API access, the peer
linter's waivers, ownership), which treat its pods as they treat any other.
"""

from __future__ import annotations

from campus.backup.schedule import (
    CRONJOB,
    POLICY,
    backup_objects,
    mysql_password_reference,
    password_reference,
)
from campus.harden.rule import Rule, Violation, violation
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment

NAME = "backup"


def _wanted(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    return backup_objects(
        rendered.environment, objects, rendered.tutor_config, rendered.tutor_version
    )


def _ours(objects: list[KubeObject]) -> dict[tuple[str, str], KubeObject]:
    return {
        (o["kind"], o["metadata"]["name"]): o
        for o in objects
        if (o["kind"], o["metadata"]["name"]) in (("CronJob", CRONJOB), ("NetworkPolicy", POLICY))
    }


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    present = _ours(objects)
    return objects + [
        o for o in _wanted(rendered, objects) if (o["kind"], o["metadata"]["name"]) not in present
    ]


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    wanted = {(o["kind"], o["metadata"]["name"]) for o in _wanted(rendered, objects)}
    present = _ours(objects)
    found = []
    namespace = next((o for o in objects if o["kind"] == "Namespace"), None)
    for key in sorted(wanted - set(present)):
        subject = namespace or {"kind": key[0], "metadata": {"name": key[1]}}
        found.append(
            violation(NAME, subject, f"the fleet file asks for backups: no {key[0]} {key[1]}")
        )
    for key in sorted(set(present) - wanted):
        found.append(
            violation(NAME, present[key], "the fleet file asks for no backups of this environment")
        )
    cronjob = present.get(("CronJob", CRONJOB))
    if cronjob is not None and ("CronJob", CRONJOB) in wanted:
        server = mysql_password_reference(objects)
        if server is not None and password_reference(cronjob) != server:
            found.append(
                violation(
                    NAME,
                    cronjob,
                    "its MySQL dump reads the root password from elsewhere than the MySQL "
                    f"server does ({server.get('secretKeyRef', server)})",
                )
            )
    return found


RULE = Rule(NAME, "Tutor backs nothing up", apply, check)
