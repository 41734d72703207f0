"""Rolling back: which recorded revision to re-apply, and the deploy request that does it."""

from __future__ import annotations

from lightkube import Client

from campus.deploy.history import list_revisions
from campus.deploy.model import DeployRequest
from campus.deploy.revisions import Revision
from campus.errors import CampusError
from campus.fleet.model import Environment


def pick_revision(environment: str, revisions: list[Revision], number: int | None) -> Revision:
    """Revision `number`, or the one before the newest. Pure."""
    if not revisions:
        raise CampusError(f"{environment} has no recorded revision yet: deploy it first")
    if number is None:
        if len(revisions) < 2:
            raise CampusError(
                f"{environment} has only revision {revisions[0].number}: nothing to roll back to"
            )
        return revisions[-2]
    for candidate in revisions:
        if candidate.number == number:
            return candidate
    known = ", ".join(str(r.number) for r in revisions)
    raise CampusError(f"{environment} has no revision {number}; recorded: {known}")


def revision_request(revision: Revision, environment: Environment) -> DeployRequest:
    """A deploy of exactly what `revision` recorded, as recorded. Pure."""
    return DeployRequest(
        environment=environment.name,
        namespace=environment.namespace,
        objects=list(revision.objects),
        init_jobs=list(revision.init_jobs),
        tutor_version=revision.tutor_version,
        plugin_versions=dict(revision.plugin_versions),
        fleet_hash=revision.fleet_hash,
        # The store's keys as the fleet names them now, for a revision with backups.
        backup_store=environment.backup.store.secret if environment.backup else "",
    )


def rollback_request(
    client: Client, environment: Environment, number: int | None
) -> tuple[Revision, DeployRequest]:
    """The revision to go back to (default: the one before the newest) and its request."""
    revisions = list_revisions(client, environment.namespace, environment.name)
    target = pick_revision(environment.name, revisions, number)
    return target, revision_request(target, environment)
