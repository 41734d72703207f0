"""Server-side apply of plain objects, and the inventory of what a namespace holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import CascadeType

from campus.kube.connect import FIELD_MANAGER
from campus.kube.errors import ApiFailure, NotFound, Unreachable
from campus.kube.objects import KubeObject, ObjectKey, key_of, without_server_fields


@dataclass(frozen=True)
class Applied:
    key: ObjectKey
    created: bool
    changed: bool
    result: KubeObject


# Kinds from CRDs that campus renders (`ingress.mode: gateway`; a PrometheusRule where the
# cluster serves it): lightkube decodes, applies and lists them once they are registered.
CUSTOM_KINDS = (
    ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    ("gateway.networking.k8s.io", "v1", "Gateway", "gateways"),
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
)
for _group, _version, _kind, _plural in CUSTOM_KINDS:
    create_namespaced_resource(_group, _version, _kind, _plural)


def resource_type(api_version: str, kind: str) -> Any:
    return resource_registry.load(api_version, kind)


def apply_object(
    client: Client, obj: KubeObject, *, dry_run: bool = False, before: KubeObject | None = None
) -> Applied:
    """Server-side apply as field manager `campus`, forcing ownership of the fields campus
    renders (campus is the source of truth for them; other managers keep their own fields).

    `before` is the object as last listed, to tell created/changed/unchanged from the
    resourceVersion without another request.
    """
    key = key_of(obj)
    try:
        result = client.apply(
            from_dict(obj), field_manager=FIELD_MANAGER, force=True, dry_run=dry_run
        )
    except ApiFailure as error:
        raise error.saying(f"{key}: the API server refused it: {error.reason}") from None
    result_dict: KubeObject = result.to_dict()  # type: ignore[no-untyped-call]
    old_version = (before or {}).get("metadata", {}).get("resourceVersion")
    new_version = result_dict.get("metadata", {}).get("resourceVersion")
    if dry_run:
        changed = before is None or without_server_fields(before) != without_server_fields(
            result_dict
        )
    else:
        changed = old_version != new_version
    return Applied(key, before is None, changed, result_dict)


def namespace_exists(client: Client, namespace: str) -> bool:
    from lightkube.resources.core_v1 import Namespace

    try:
        client.get(Namespace, namespace)
    except Unreachable:
        raise
    except ApiFailure:  # not found, or not these credentials' to read
        return False
    return True


def list_namespace(
    client: Client, namespace: str, kinds: Iterable[tuple[str, str]], labels: Mapping[str, str]
) -> dict[ObjectKey, KubeObject]:
    """Every object of the given (apiVersion, kind)s in a namespace carrying `labels`:
    one LIST per kind, which is also how campus learns resourceVersions before applying."""
    found: dict[ObjectKey, KubeObject] = {}
    for api_version, kind in kinds:
        resource = resource_type(api_version, kind)
        try:
            for item in client.list(resource, namespace=namespace, labels=dict(labels)):
                obj: KubeObject = item.to_dict()
                obj.setdefault("apiVersion", api_version)
                obj.setdefault("kind", kind)
                found[key_of(obj)] = obj
        except NotFound:
            continue  # the namespace (or the kind) does not exist yet
        except ApiFailure as error:
            raise error.saying(f"cannot list {kind} in {namespace}: {error.reason}") from None
    return found


def delete_object(client: Client, key: ObjectKey) -> bool:
    """Delete, letting dependents go in the background; False when already gone."""
    try:
        client.delete(
            resource_type(key.api_version, key.kind),
            key.name,
            namespace=key.namespace or None,
            cascade=CascadeType.BACKGROUND,
        )
    except NotFound:
        return False
    except ApiFailure as error:
        raise error.saying(f"{key}: cannot delete: {error.reason}") from None
    return True
