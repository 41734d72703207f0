"""The api-access rule: a service the catalogue says talks to the Kubernetes API (the
JupyterHub of tutor-jupyter, whose KubeSpawner starts notebook pods) mounts the token of
its own ServiceAccount, bound to a Role of exactly what it asks; no other pod mounts one,
and no Role Tutor renders survives."""

from __future__ import annotations

from typing import Any

from campus.harden import RULES, harden_all
from campus.render.model import RenderedEnvironment

SPAWNER_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods", "persistentvolumeclaims"],
        "verbs": ["get", "list", "watch", "create", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_jupyterhub_mounts_its_own_token_with_a_least_privilege_role(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_plugins["plug-prod"]
    tutor_role = _named(rendered.objects, "Role", "jupyterhub")
    assert any("secrets" in rule["resources"] for rule in tutor_role["rules"])  # every Secret
    objects, jobs = harden_all(rendered)
    hub = _named(objects, "Deployment", "jupyterhub")["spec"]["template"]["spec"]
    assert hub["serviceAccountName"] == "jupyterhub-api"
    assert hub["automountServiceAccountToken"] is True
    role = _named(objects, "Role", "jupyterhub-api")
    assert role["rules"] == SPAWNER_RULES
    assert role["metadata"]["namespace"] == "plug-prod"
    binding = _named(objects, "RoleBinding", "jupyterhub-api")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "jupyterhub-api", "namespace": "plug-prod"}
    ]
    assert binding["roleRef"]["name"] == "jupyterhub-api"
    assert [o["metadata"]["name"] for o in objects if o["kind"] in ("Role", "RoleBinding")] == [
        "jupyterhub-api",
        "jupyterhub-api",
    ]
    # KubeSpawner gives each notebook (a learner's code) Tutor's account: bound to nothing.
    notebooks = _named(objects, "ServiceAccount", "jupyterhub")
    assert notebooks["automountServiceAccountToken"] is False
    for obj in objects + jobs:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job") and obj is not _named(
            objects, "Deployment", "jupyterhub"
        ):
            assert obj["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    for rule in RULES:
        assert rule.check(rendered, objects + jobs) == [], rule.name


def test_lint_refuses_a_role_the_catalogue_does_not_name(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    from campus.harden.api_access import check

    rendered = rendered_plugins["plug-gw"]
    objects, _ = harden_all(rendered)
    role = _named(objects, "Role", "jupyterhub-api")
    role["rules"] = [
        *role["rules"],
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    ]
    [found] = check(rendered, objects)
    assert (found.kind, found.name) == ("Role", "jupyterhub-api")
    assert {(v.kind, v.name) for v in check(rendered, rendered.objects)} >= {
        ("Deployment", "jupyterhub"),
        ("Role", "jupyterhub"),
        ("RoleBinding", "jupyterhub"),
    }


def test_only_the_pods_given_a_token_carry_the_label_the_api_server_admits(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    from campus.harden.api_access import check
    from campus.labels import API_ACCESS

    rendered = rendered_plugins["plug-prod"]
    objects, _ = harden_all(rendered)
    labelled = [
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "Deployment"
        and o["spec"]["template"]["metadata"]["labels"].get(API_ACCESS) == "true"
    ]
    assert labelled == ["jupyterhub"]
    lms = _named(objects, "Deployment", "lms")
    lms["spec"]["template"]["metadata"]["labels"][API_ACCESS] = "true"
    del _named(objects, "Deployment", "jupyterhub")["spec"]["template"]["metadata"]["labels"][
        API_ACCESS
    ]
    assert {(v.name, v.check) for v in check(rendered, objects)} == {
        ("lms", "label"),
        ("jupyterhub", "label"),
    }
