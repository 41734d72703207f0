"""The path from a fleet file to the API server, shared by the deploy-family commands:
load -> render (Tutor) -> harden -> deploy requests; plus diff and destroy."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from lightkube import Client
from ruamel.yaml import YAML

from campus.deploy.engine import DeployRequest
from campus.deploy.history import list_revisions
from campus.deploy.prepare import is_data, prepare
from campus.errors import CampusError
from campus.fleet.model import Environment, Fleet
from campus.kube.apply import apply_object, delete_object, list_namespace, namespace_exists
from campus.kube.connect import connect
from campus.kube.objects import KubeObject, ObjectKey, key_of, without_server_fields
from campus.labels import ENVIRONMENT as ENVIRONMENT_LABEL


def load(fleet_file: Path) -> Fleet:
    from campus.fleet.load import load_fleet

    return load_fleet(fleet_file)


def connect_fleet(fleet_file: Path, kubeconfig: str | None) -> tuple[Fleet, Client]:
    fleet = load(fleet_file)
    return fleet, connect(fleet.cluster, kubeconfig)


def fleet_hash(fleet_file: Path) -> str:
    return hashlib.sha256(fleet_file.read_bytes()).hexdigest()


def select(fleet: Fleet, fleet_file: Path, names: Sequence[str]) -> list[Environment]:
    """The named environments in fleet order (all when none are named)."""
    known = {e.name for e in fleet.environments}
    unknown = sorted(set(names) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise CampusError(f"no environment {', '.join(unknown)} in {fleet_file}; known: {listed}")
    return [e for e in fleet.environments if not names or e.name in names]


def deploy_requests(fleet: Fleet, fleet_file: Path, names: list[str]) -> list[DeployRequest]:
    """Render and harden the named environments (all when none are named)."""
    from campus.harden import harden_all
    from campus.render import render_fleet

    selected = select(fleet, fleet_file, names)
    rendered = render_fleet(fleet, environments=[e.name for e in selected])
    digest = fleet_hash(fleet_file)
    requests = []
    for r in rendered:
        objects, init_jobs = harden_all(r)
        requests.append(
            DeployRequest(
                environment=r.environment.name,
                namespace=r.environment.namespace,
                objects=objects,
                init_jobs=init_jobs,
                tutor_version=r.tutor_version,
                fleet_hash=digest,
            )
        )
    return requests


_MASK = "<secret value hidden>"
_MASK_CHANGED = "<secret value hidden, changed>"


def _masked(obj: KubeObject, other: KubeObject | None = None) -> KubeObject:
    """Never print a Secret's values, not even in a diff. A value that differs from the
    one in `other` is masked differently, so that a changed value still shows as a change."""
    if obj.get("kind") != "Secret":
        return obj
    result = dict(obj)
    for field in ("data", "stringData"):
        if field in result:
            theirs = (other or {}).get(field) or {}
            result[field] = {
                key: _MASK if other is None or theirs.get(key) == value else _MASK_CHANGED
                for key, value in result[field].items()
            }
    return result


def _yaml_lines(obj: KubeObject) -> list[str]:
    import io

    yaml = YAML()
    stream = io.StringIO()
    yaml.dump(without_server_fields(obj), stream)
    return stream.getvalue().splitlines(keepends=True)


def object_diff(live: KubeObject, after: KubeObject) -> str:
    """A unified diff of two versions of an object as YAML, Secret values masked; empty
    when they are the same."""
    old, new = _yaml_lines(_masked(live)), _yaml_lines(_masked(after, live))
    return "".join(difflib.unified_diff(old, new, "live", "after deploy", n=2))


_CONTENT_SUFFIX = re.compile(r"-[0-9a-f]{8,}$")


def predecessor(key: ObjectKey, candidates: Sequence[ObjectKey]) -> ObjectKey | None:
    """The object `key` replaces, when both are named after their content (kustomize's
    ConfigMap/Secret hashes, campus's Secrets and Jobs): same kind and namespace, same name
    but for the trailing hash."""
    stem = _CONTENT_SUFFIX.sub("", key.name)
    if stem == key.name:
        return None
    for candidate in candidates:
        if (
            candidate[:3] == key[:3]
            and candidate.name != key.name
            and _CONTENT_SUFFIX.sub("", candidate.name) == stem
        ):
            return candidate
    return None


def diff_environment(client: Client, request: DeployRequest) -> list[tuple[str, str, str]]:
    """What a deploy would do, object by object, from a server-side dry run: the server
    fills in defaults, so only real changes show. An object renamed after its new content
    shows as a replacement of the old one, with the diff between them."""
    objects, jobs = prepare(
        request.objects, request.init_jobs, request.environment, request.namespace
    )
    kinds = sorted(
        {(o["apiVersion"], o["kind"]) for o in (*objects, *jobs) if o["kind"] != "Namespace"}
    )
    existing = list_namespace(
        client, request.namespace, kinds, {ENVIRONMENT_LABEL: request.environment}
    )
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
    changes: list[tuple[str, str, str]] = []
    for obj in (*objects, *jobs):
        key = key_of(obj)
        if key.kind == "Namespace":
            if not has_namespace:
                changes.append(("create", str(key), ""))
            continue
        before = existing.get(key)
        replaced = predecessor(key, deleted) if before is None and key.kind != "Job" else None
        if replaced is not None:
            deleted.remove(replaced)
            after = apply_object(client, obj, dry_run=True).result
            text = object_diff(existing[replaced], after)
            changes.append(("replace", f"{replaced} with {key.name}", text))
        elif before is None:
            changes.append(("create", str(key), ""))
        elif key.kind != "Job":  # a Job of the same name has the same content: it ran
            text = object_diff(
                before, apply_object(client, obj, dry_run=True, before=before).result
            )
            if text:
                changes.append(("change", str(key), text))
    changes += [("delete", str(key), "") for key in deleted]
    return changes


_DESTROY_KINDS = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("v1", "PersistentVolumeClaim"),
)


def destroy_environment(
    client: Client, environment: Environment, delete_data: bool
) -> tuple[list[ObjectKey], list[ObjectKey]]:
    """Delete everything campus created for the environment; data (volumes, data Secrets)
    and the namespace that holds it stay unless `delete_data`."""
    live = list_namespace(
        client, environment.namespace, _DESTROY_KINDS, {ENVIRONMENT_LABEL: environment.name}
    )
    removed: list[ObjectKey] = []
    kept: list[ObjectKey] = []
    for key, obj in live.items():
        if is_data(obj) and not delete_data:
            kept.append(key)
        elif delete_object(client, key):
            removed.append(key)
    if delete_data:
        namespace_key = ObjectKey("v1", "Namespace", "", environment.namespace)
        if delete_object(client, namespace_key):
            removed.append(namespace_key)
    return removed, kept
