"""The fleet's identities and their RBAC, rendered from the example fleet."""

from __future__ import annotations

from typing import Any

from campus.access.model import (
    ACCESS_NAMESPACE,
    DEPLOYER,
    GATEWAY_GROUP,
    client_of,
    identities,
    rbac_objects,
)
from campus.fleet.model import Fleet


def rules_of(objects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    [role] = [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"] == name]
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def test_clients_are_the_name_before_the_first_dash(example_fleet: Fleet) -> None:
    assert client_of("acme-prod") == "acme" and client_of("globex-staging") == "globex"
    found = {i.name: set(i.namespaces) for i in identities(example_fleet)}
    assert found["acme-readonly"] == {"acme-dev", "acme-test", "acme-staging", "acme-prod"}
    assert found["globex-operator"] == {"globex-stage", "globex-prod"}  # its own namespace
    assert found[DEPLOYER] == {e.namespace for e in example_fleet.environments}


def test_each_identity_is_bound_in_its_namespaces_only(example_fleet: Fleet) -> None:
    objects = rbac_objects(example_fleet)
    bindings = [o for o in objects if o["kind"] == "RoleBinding"]
    readers = {
        b["metadata"]["namespace"]
        for b in bindings
        if b["metadata"]["name"].endswith("acme-readonly")
    }
    assert readers == {"acme-dev", "acme-test", "acme-staging", "acme-prod"}
    for binding in bindings:
        assert binding["subjects"][0]["namespace"] == ACCESS_NAMESPACE


def test_the_reader_reads_no_secret_and_changes_nothing(example_fleet: Fleet) -> None:
    rules = rules_of(rbac_objects(example_fleet), "campus:read")
    assert not any("secrets" in rule["resources"] for rule in rules)
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list", "watch"}


def test_the_deployer_patches_only_the_fleets_namespaces(example_fleet: Fleet) -> None:
    rules = rules_of(rbac_objects(example_fleet), f"campus:{DEPLOYER}:cluster")
    writes = [r for r in rules if set(r["verbs"]) - {"get", "list", "watch"}]
    assert writes == [
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": sorted(e.namespace for e in example_fleet.environments),
            "verbs": ["get", "update", "patch"],
        }
    ]


def test_gateway_mode_routes_are_the_deployers_and_the_gateway_only_read(
    example_fleet: Fleet,
) -> None:
    """A deploy in `gateway` mode applies HTTPRoutes and reads the operator's Gateway to
    check it carries them; it may never change the Gateway."""
    objects = rbac_objects(example_fleet)
    deploy = rules_of(objects, "campus:deploy")
    assert any(
        r["apiGroups"] == [GATEWAY_GROUP]
        and r["resources"] == ["httproutes"]
        and "patch" in r["verbs"]
        for r in deploy
    )
    cluster = rules_of(objects, f"campus:{DEPLOYER}:cluster")
    gateways = [r for r in cluster if "gateways" in r["resources"]]
    assert gateways == [
        {"apiGroups": [GATEWAY_GROUP], "resources": ["gateways"], "verbs": ["get", "list", "watch"]}
    ]
    reader = rules_of(objects, "campus:read")
    assert any(r["resources"] == ["httproutes"] for r in reader)
