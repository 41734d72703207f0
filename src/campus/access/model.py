"""Who may do what on the fleet's cluster, as RBAC objects rendered from the fleet. Pure.

Three kinds of identity, each a ServiceAccount in namespace `campus-system`:

- `campus-deployer`: changes what campus deploys, in the fleet's namespaces only (a
  RoleBinding in each), plus the cluster-scoped reads a deploy and `status` need (nodes,
  namespaces); it may patch the fleet's own Namespace objects and no other.
- `<client>-operator`: what the deployer may do, plus `exec`, in one client's namespaces
  (and patch those Namespace objects).
- `<client>-readonly`: reads workloads, pods, their logs and events in one client's
  namespaces; never Secrets (they hold passwords).

An identity that deploys (the deployer, an operator) may also read the backup store's
Secret of each environment it deploys (`backup.store.secret`, outside the environment's
namespace; a deploy copies it in): `get` on that Secret by name, in its namespace alone.

A client is the part of an environment's name before its first `-`: `acme-dev` and
`acme-prod` belong to client `acme`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from campus.fleet.model import Fleet
from campus.kube.objects import KubeObject
from campus.labels import ACCESS_LABEL, MANAGED_BY

ACCESS_NAMESPACE = "campus-system"
DEPLOYER = "campus-deployer"
_ALL = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]
GATEWAY_GROUP = "gateway.networking.k8s.io"
MONITORING_GROUP = "monitoring.coreos.com"  # the environments' PrometheusRules

# What a deploy applies, reads and prunes in an environment's namespace.
_CHANGE = [
    (
        "",
        [
            "configmaps",
            "secrets",
            "services",
            "persistentvolumeclaims",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
        _ALL,
    ),
    # create: RBAC lets the deployer grant a service's Role (api-access) only what it holds.
    ("", ["pods"], [*_READ, "create", "delete"]),
    ("", ["pods/log", "events"], _READ),
    ("rbac.authorization.k8s.io", ["roles", "rolebindings"], _ALL),
    ("apps", ["deployments", "statefulsets"], _ALL),
    ("apps", ["replicasets"], _READ),
    ("apps", ["deployments/scale"], ["get", "update", "patch"]),
    ("batch", ["jobs", "cronjobs"], _ALL),
    ("autoscaling", ["horizontalpodautoscalers"], _ALL),
    ("policy", ["poddisruptionbudgets"], _ALL),
    ("networking.k8s.io", ["ingresses", "networkpolicies"], _ALL),
    (GATEWAY_GROUP, ["httproutes"], _ALL),  # ingress mode `gateway`
    (MONITORING_GROUP, ["prometheusrules"], _ALL),  # where the cluster serves them
    ("coordination.k8s.io", ["leases"], _ALL),
]
_EXEC = [("", ["pods/exec"], ["get", "create"])]
# Everything `status` and `logs` read; no Secrets.
_READ_ONLY = [
    (
        "",
        [
            "pods",
            "pods/log",
            "events",
            "services",
            "configmaps",
            "persistentvolumeclaims",
            "resourcequotas",
            "limitranges",
        ],
        _READ,
    ),
    ("apps", ["deployments", "replicasets", "statefulsets"], _READ),
    ("batch", ["jobs", "cronjobs"], _READ),
    ("autoscaling", ["horizontalpodautoscalers"], _READ),
    ("policy", ["poddisruptionbudgets"], _READ),
    ("networking.k8s.io", ["ingresses", "networkpolicies"], _READ),
    (GATEWAY_GROUP, ["httproutes"], _READ),
    (MONITORING_GROUP, ["prometheusrules"], _READ),
]
ROLES = {
    "campus:deploy": _CHANGE,
    "campus:operate": _CHANGE + _EXEC,
    "campus:read": _READ_ONLY,
}


@dataclass(frozen=True)
class Identity:
    """A ServiceAccount in `ACCESS_NAMESPACE`, bound to `role` in `namespaces`."""

    name: str
    role: str
    namespaces: tuple[str, ...]


def client_of(environment: str) -> str:
    return environment.split("-", 1)[0]


def identities(fleet: Fleet) -> list[Identity]:
    """The deployer, then an operator and a read-only identity per client."""
    found = [Identity(DEPLOYER, "campus:deploy", tuple(e.namespace for e in fleet.environments))]
    clients: dict[str, list[str]] = {}
    for environment in fleet.environments:
        clients.setdefault(client_of(environment.name), []).append(environment.namespace)
    for client, namespaces in clients.items():
        found.append(Identity(f"{client}-operator", "campus:operate", tuple(namespaces)))
        found.append(Identity(f"{client}-readonly", "campus:read", tuple(namespaces)))
    return found


def _metadata(name: str, namespace: str | None = None) -> dict[str, object]:
    metadata: dict[str, object] = {
        "name": name,
        "labels": {MANAGED_BY: "campus", ACCESS_LABEL: "true"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return metadata


def _rules(rules: Iterable[tuple[str, list[str], list[str]]]) -> list[dict[str, object]]:
    return [
        {"apiGroups": [group], "resources": resources, "verbs": verbs}
        for group, resources, verbs in rules
    ]


def _cluster_role(name: str, rules: list[dict[str, object]]) -> KubeObject:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _metadata(name),
        "rules": rules,
    }


def _binding(kind: str, name: str, role: str, account: str, namespace: str | None) -> KubeObject:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _metadata(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ACCESS_NAMESPACE}],
    }


def _store_secrets(fleet: Fleet, identity: Identity) -> dict[str, list[str]]:
    """Store namespace -> the names of the store Secrets the identity's deploys copy."""
    found: dict[str, set[str]] = {}
    if identity.role == "campus:read":
        return {}
    for environment in fleet.environments:
        if environment.backup and environment.namespace in identity.namespaces:
            store = environment.backup.store
            found.setdefault(store.secret_namespace, set()).add(store.secret_name)
    return {namespace: sorted(names) for namespace, names in sorted(found.items())}


def _store_access(fleet: Fleet, identity: Identity) -> list[KubeObject]:
    objects: list[KubeObject] = []
    name = f"campus:{identity.name}:backup-store"
    for namespace, secrets in _store_secrets(fleet, identity).items():
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _metadata(name, namespace),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": secrets,
                    "verbs": ["get"],
                }
            ],
        }
        binding = _binding("RoleBinding", name, name, identity.name, namespace)
        binding["roleRef"]["kind"] = "Role"
        objects += [role, binding]
    return objects


def _namespace_rules(identity: Identity) -> KubeObject:
    """Cluster-scoped: the deployer reads nodes and namespaces; the deployer and operators
    may patch their own Namespace objects (a deploy applies them), readers only read them."""
    own: dict[str, object] = {
        "apiGroups": [""],
        "resources": ["namespaces"],
        "resourceNames": sorted(set(identity.namespaces)),
    }
    rules: list[dict[str, object]]
    if identity.role == "campus:read":
        rules = [{**own, "verbs": ["get"]}]
    else:
        rules = [{**own, "verbs": ["get", "update", "patch"]}]
    if identity.name == DEPLOYER:
        rules.insert(0, {"apiGroups": [""], "resources": ["namespaces", "nodes"], "verbs": _READ})
        # Gateway mode: a deploy reads the operator's shared Gateway (in a namespace of its
        # own) to check that it carries the routes; it never changes it.
        rules.insert(
            1,
            {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gateways"], "verbs": _READ},
        )
    return _cluster_role(f"campus:{identity.name}:cluster", rules)


def rbac_objects(fleet: Fleet) -> list[KubeObject]:
    """Every object `campus access apply` applies, in order (Namespaces it only creates)."""
    objects: list[KubeObject] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(ACCESS_NAMESPACE)}
    ]
    objects += [_cluster_role(name, _rules(rules)) for name, rules in ROLES.items()]
    for identity in identities(fleet):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": _metadata(identity.name, ACCESS_NAMESPACE),
            }
        )
        cluster_role = _namespace_rules(identity)
        objects.append(cluster_role)
        objects.append(
            _binding(
                "ClusterRoleBinding",
                cluster_role["metadata"]["name"],
                cluster_role["metadata"]["name"],
                identity.name,
                None,
            )
        )
        for namespace in identity.namespaces:
            objects.append(
                _binding(
                    "RoleBinding",
                    f"campus:{identity.name}",
                    identity.role,
                    identity.name,
                    namespace,
                )
            )
        objects += _store_access(fleet, identity)
    return objects
