"""What a deploy of one environment would change, from a server-side dry run: the one
answer behind both `campus diff` and `campus deploy --dry-run`."""

from __future__ import annotations

from lightkube import Client

from campus.deploy.changes import Change, object_diff, predecessor
from campus.deploy.history import list_revisions
from campus.deploy.model import DeployRequest
from campus.deploy.prepare import is_data, prepare
from campus.deploy.upgrade import UpgradePlan, plan_upgrade
from campus.kube.apply import apply_object, list_namespace, namespace_exists
from campus.kube.objects import key_of
from campus.labels import ENVIRONMENT


def planned_upgrade(
    client: Client, request: DeployRequest, force: bool = False
) -> UpgradePlan | None:
    """The release change a deploy of the request would make, from the Tutor version its
    last revision ran; refused (raised) as the deploy would refuse it."""
    previous = list_revisions(client, request.namespace, request.environment)
    return plan_upgrade(
        request.environment,
        previous[-1].tutor_version if previous else "",
        request.tutor_version,
        plugins=frozenset(request.plugins),
        force=force,
    )


def what_would_change(client: Client, request: DeployRequest) -> list[Change]:
    """Object by object, from a server-side dry run: the server fills in defaults, so only
    real changes show. An object renamed after its new content shows as a replacement of
    the old one, with the diff between them; an object recorded in a kept revision and no
    longer rendered shows as deleted (never data, which a deploy does not prune). The
    server validates every object it can: a refusal raises, as the deploy would."""
    objects, jobs = prepare(
        request.objects, request.init_jobs, request.environment, request.namespace
    )
    kinds = sorted(
        {(o["apiVersion"], o["kind"]) for o in (*objects, *jobs) if o["kind"] != "Namespace"}
    )
    existing = list_namespace(client, request.namespace, kinds, {ENVIRONMENT: request.environment})
    has_namespace = bool(existing) or namespace_exists(client, request.namespace)
    current = {key_of(o) for o in (*objects, *jobs)}
    recorded = {
        key_of(o)
        for revision in list_revisions(client, request.namespace, request.environment)
        for o in revision.objects
    }
    deleted = [
        key for key in sorted(recorded - current) if key in existing and not is_data(existing[key])
    ]
    changes: list[Change] = []
    for obj in (*objects, *jobs):
        key = key_of(obj)
        if key.kind == "Namespace":
            if not has_namespace:
                changes.append(Change("create", str(key)))
            continue
        before = existing.get(key)
        replaced = predecessor(key, deleted) if before is None and key.kind != "Job" else None
        if replaced is not None:
            deleted.remove(replaced)
            after = apply_object(client, obj, dry_run=True).result
            text = object_diff(existing[replaced], after)
            changes.append(Change("replace", f"{replaced} with {key.name}", text))
        elif before is None:
            if has_namespace:  # validated by the server; without the namespace it cannot be
                apply_object(client, obj, dry_run=True)
            changes.append(Change("create", str(key)))
        elif key.kind != "Job":  # a Job of the same name has the same content: it ran
            text = object_diff(
                before, apply_object(client, obj, dry_run=True, before=before).result
            )
            if text:
                changes.append(Change("change", str(key), text))
    changes += [Change("delete", str(key)) for key in deleted]
    return changes
