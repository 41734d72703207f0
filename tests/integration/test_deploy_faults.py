"""Faults a deploy meets on real clusters, against the sandbox's real API server: expired
credentials and missing permissions give one clear line each, and leave nothing the next
deploy cannot finish; a deploy that fails part-way leaves nothing the next one cannot
prune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lightkube import Client
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Namespace, PersistentVolumeClaim, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding
from test_deploy import failing_job  # a migration the Job controller gives up on

from campus.cli.main import cli
from campus.deploy.engine import deploy_environment
from campus.deploy.lock import LEASE_NAME
from campus.deploy.model import DeployOptions, DeployRequest, DeployResult
from campus.kube.errors import NotFound
from campus.labels import UNRECORDED
from campus.output.progress import QuietProgress
from campus.sandbox import cluster

pytestmark = pytest.mark.integration

FLEET = """\
cluster: {context: limited}
defaults: {plugins: [], size: small}
environments:
  faulty:
    hosts: {lms: learn.faulty.example.org}
"""


def kubeconfig_with_token(tmp_path: Path, server: str, token: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: limited\n"
        "clusters: [{name: sb, cluster: "
        f"{{server: '{server}', insecure-skip-tls-verify: true}}}}]\n"
        "contexts: [{name: limited, context: {cluster: sb, user: limited}}]\n"
        f"users: [{{name: limited, user: {{token: '{token}'}}}}]\n"
    )
    return path


def deploy(tmp_path: Path, kubeconfig: Path) -> tuple[int, str]:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(FLEET)
    result = CliRunner().invoke(cli, ["deploy", "-f", str(fleet), "--kubeconfig", str(kubeconfig)])
    return result.exit_code, result.output


def test_expired_credentials_are_named_as_such(
    sandbox: cluster.SandboxInfo, tmp_path: Path
) -> None:
    code, output = deploy(tmp_path, kubeconfig_with_token(tmp_path, sandbox.server, "expired"))
    assert code != 0
    assert "refused the credentials" in output and "refresh them" in output


def test_missing_permissions_name_the_refused_action_and_change_nothing(
    sandbox: cluster.SandboxInfo, kube: Client, tmp_path: Path
) -> None:
    kube.create(ServiceAccount(metadata=ObjectMeta(name="no-rights", namespace="default")))
    granted = kube.create(
        ServiceAccount.Token(
            metadata=ObjectMeta(namespace="default"), spec=TokenRequestSpec(audiences=[])
        ),
        "no-rights",
        namespace="default",
    )
    assert granted.status is not None
    # It may read the environment's Tutor state (a Secret) and nothing else, so the deploy
    # gets as far as its first change.
    reader = ObjectMeta(name="campus-test-read-secrets")
    kube.create(
        ClusterRole(
            metadata=reader,
            rules=[PolicyRule(apiGroups=[""], resources=["secrets"], verbs=["get"])],
        )
    )
    kube.create(
        ClusterRoleBinding(
            metadata=reader,
            roleRef=RoleRef(
                apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name=reader.name
            ),
            subjects=[Subject(kind="ServiceAccount", name="no-rights", namespace="default")],
        )
    )
    try:
        code, output = deploy(
            tmp_path, kubeconfig_with_token(tmp_path, sandbox.server, granted.status.token)
        )
        assert code != 0
        assert 'namespaces "faulty" is forbidden' in output
        assert "cannot patch" in output and "system:serviceaccount:default:no-rights" in output
        assert "changed nothing" in output
        assert not [n for n in kube.list(Namespace) if n.metadata and n.metadata.name == "faulty"]
    finally:
        kube.delete(ServiceAccount, "no-rights", namespace="default")
        kube.delete(ClusterRoleBinding, reader.name)
        kube.delete(ClusterRole, reader.name)


def test_objects_a_failed_deploy_created_are_pruned_by_the_next(kube: Client) -> None:
    """A deploy that fails after creating objects records none of them in a revision; the
    keys it noted on the Lease before applying let the next deploy prune them (data kept)."""
    namespace = "faults-unrecorded"

    def config_map(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}

    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "left-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    namespace_object = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}

    def deploy(objects: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> DeployResult:
        request = DeployRequest(namespace, namespace, [namespace_object, *objects], jobs)
        options = DeployOptions(phase_timeout=60, lock_timeout=10)
        return deploy_environment(kube, request, options, QuietProgress())

    try:
        # The configuration phase creates both, then the init Job fails: no revision at all.
        failed = deploy(
            [config_map("kept"), config_map("left-behind"), volume], [failing_job(namespace)]
        )
        assert failed.outcome == "failed" and "DeadlineExceeded" in failed.message
        kube.get(ConfigMap, "left-behind", namespace=namespace)
        lease = kube.get(Lease, LEASE_NAME, namespace=namespace)
        assert "left-behind" in (lease.metadata.annotations or {})[UNRECORDED]
        done = deploy([config_map("kept")], [])
        assert done.outcome == "deployed", done.message
        assert "ConfigMap faults-unrecorded/left-behind" in done.pruned
        assert any("lms-broken-migration" in pruned for pruned in done.pruned)
        with pytest.raises(NotFound):
            kube.get(ConfigMap, "left-behind", namespace=namespace)
        kube.get(ConfigMap, "kept", namespace=namespace)
        kube.get(PersistentVolumeClaim, "left-data", namespace=namespace)  # data stays
        # That deploy finished: the Lease forgets them.
        lease = kube.get(Lease, LEASE_NAME, namespace=namespace)
        assert UNRECORDED not in (lease.metadata.annotations or {})
    finally:
        kube.delete(Namespace, namespace)
