"""Rule: only a service that talks to the Kubernetes API gets a token, and only for what
it asks.

Kubernetes mounts a service account token into every pod unless told otherwise: anyone
who runs code in a pod may then call the API as its account. No campus pod mounts one
(Checkov's CKV_K8S_38, fixed), but for the services that cannot work without the API:
tutor-jupyter's hub starts every learner's notebook server as a pod through KubeSpawner.
The catalogue says which (`needs_api` on the service, the verbs on the resources it
needs); each gets its own ServiceAccount (`<service>-api`), its token mounted, and a
Role in its namespace of exactly those rules, bound to that account alone. Its pods are
labelled `campus.openedx.org/api-access`, by which NetworkPolicy lets them, and no other
pod, reach the API server (`campus.harden.egress`).

Every Role and RoleBinding Tutor renders is left out: API access comes from the catalogue
or not at all. tutor-jupyter's own Role grants every Secret of the namespace, and its
ServiceAccount (`jupyterhub`) is also the one KubeSpawner gives each notebook pod, which
runs a learner's code: that account stays, bound to nothing, so a notebook's token can do
nothing.
"""

from __future__ import annotations

from campus.harden.rule import (
    Rule,
    Violation,
    catalogue,
    pod_labels,
    pod_spec,
    service_of,
    violation,
)
from campus.kube.objects import KubeObject
from campus.labels import API_ACCESS
from campus.labels import NAME as NAME_LABEL
from campus.render.model import RenderedEnvironment
from campus.services import Service

NAME = "api-access"
RBAC = "rbac.authorization.k8s.io"
_RBAC_KINDS = ("Role", "RoleBinding")


def account(service: Service) -> str:
    return f"{service.name}-api"


def talks_to_api(rendered: RenderedEnvironment, obj: KubeObject) -> Service | None:
    """The catalogue entry of a workload's service when it needs the API."""
    if obj["kind"] not in ("Deployment", "StatefulSet"):
        return None
    service = catalogue(rendered).get(service_of(obj))
    return service if service.needs_api else None


def identity(service: Service, namespace: str) -> list[KubeObject]:
    """The ServiceAccount, Role and RoleBinding that give `service` what it asks."""
    name = account(service)

    def metadata() -> dict[str, object]:
        return {"name": name, "namespace": namespace, "labels": {NAME_LABEL: service.name}}

    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(),
            "automountServiceAccountToken": False,  # the service's pods ask for it
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": metadata(),
            "rules": [access.rule() for access in service.needs_api],
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": metadata(),
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name},
        },
    ]


def apply(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[KubeObject]:
    kept = [obj for obj in objects if obj["kind"] not in _RBAC_KINDS]
    added: list[KubeObject] = []
    for obj in kept:
        if obj["kind"] == "ServiceAccount":
            # Tokens only where a pod asks for one (KubeSpawner's notebooks use this one).
            obj["automountServiceAccountToken"] = False
        service = talks_to_api(rendered, obj)
        spec = pod_spec(obj)
        if spec is None:
            continue
        if service is None:
            spec["automountServiceAccountToken"] = False
            continue
        spec["serviceAccountName"] = account(service)
        spec.pop("serviceAccount", None)  # the deprecated alias would contradict it
        spec["automountServiceAccountToken"] = True
        template = obj["spec"]["template"].setdefault("metadata", {})
        template["labels"] = {**(template.get("labels") or {}), API_ACCESS: "true"}
        namespace = obj["metadata"].get("namespace") or rendered.environment.namespace
        added += identity(service, namespace)
    return kept + added


def _key(obj: KubeObject) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def check(rendered: RenderedEnvironment, objects: list[KubeObject]) -> list[Violation]:
    found = []
    wanted: dict[tuple[str, str, str], KubeObject] = {}
    for obj in objects:
        service = talks_to_api(rendered, obj)
        spec = pod_spec(obj)
        if spec is None:
            continue
        labelled = pod_labels(obj).get(API_ACCESS) == "true"
        if service is None:
            if spec.get("automountServiceAccountToken") is not False:
                found.append(violation(NAME, obj, "mounts a service account token it never uses"))
            if labelled:
                found.append(
                    violation(
                        NAME,
                        obj,
                        f"its pods carry {API_ACCESS}, which admits them to the API server, "
                        "but its service does not talk to the API (needs_api)",
                        "label",
                    )
                )
            continue
        if not labelled:
            found.append(
                violation(
                    NAME,
                    obj,
                    f"its pods need the label {API_ACCESS}: true, by which NetworkPolicy lets "
                    "them reach the API server",
                    "label",
                )
            )
        namespace = obj["metadata"].get("namespace") or rendered.environment.namespace
        wanted |= {_key(o): o for o in identity(service, namespace) if o["kind"] in _RBAC_KINDS}
        if spec.get("serviceAccountName") != account(service) or not spec.get(
            "automountServiceAccountToken"
        ):
            found.append(
                violation(
                    NAME,
                    obj,
                    f"its service talks to the Kubernetes API: it needs the token of "
                    f"ServiceAccount {account(service)} mounted",
                )
            )
    for obj in objects:
        if obj["kind"] not in _RBAC_KINDS:
            continue
        expected = wanted.get(_key(obj))
        if expected is None or any(
            obj.get(field) != expected.get(field) for field in ("rules", "subjects", "roleRef")
        ):
            found.append(
                violation(
                    NAME,
                    obj,
                    "grants API access the service catalogue does not name (needs_api)",
                )
            )
    return found


RULE = Rule(
    NAME,
    "Tutor mounts no token for the hub that needs one and grants it every Secret",
    apply,
    check,
)
