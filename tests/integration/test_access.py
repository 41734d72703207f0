"""`campus access` on the sandbox: the deployer deploys and diffs the fleet's namespaces and
nothing else; a client's read-only identity sees its own namespaces only, and no Secret."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Pod, Secret

from campus.cli.main import cli
from campus.kube.connect import client_from_file
from campus.kube.errors import Forbidden, NotFound
from campus.plain_yaml import to_text
from campus.sandbox import cluster

pytestmark = pytest.mark.integration


def fleet_text(sandbox: str) -> str:
    """Two clients, alpha and beta, with one small environment each."""
    environments = {
        f"{client}-dev": {"hosts": {"lms": f"learn.dev.{client}.example.org"}}
        for client in ("alpha", "beta")
    }
    return to_text(
        {
            "cluster": {"sandbox": sandbox},
            "defaults": {"plugins": [], "size": "small", "ingress": {"mode": "ingress"}},
            "environments": environments,
        }
    )


def run(*arguments: str) -> Result:
    return CliRunner().invoke(cli, list(arguments))


@pytest.fixture(scope="module")
def fleet(
    sandbox: cluster.SandboxInfo, kube: Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Two clients' environments, their identities applied by the administrator."""
    path = tmp_path_factory.mktemp("access") / "fleet.yml"
    path.write_text(fleet_text(sandbox.name))
    applied = run("access", "apply", "-f", str(path))
    assert applied.exit_code == 0, applied.output
    yield path
    for namespace in ("alpha-dev", "beta-dev"):
        with contextlib.suppress(NotFound):
            kube.delete(Namespace, namespace)


def identity(fleet: Path, name: str) -> Path:
    config = fleet.parent / f"{name}.kubeconfig"
    result = run("access", "kubeconfig", name, "-f", str(fleet), "-o", str(config))
    assert result.exit_code == 0, result.output
    assert "token expires" in result.output
    return config


def test_a_clients_reader_sees_its_namespaces_only_and_no_secret(fleet: Path) -> None:
    reader = client_from_file(identity(fleet, "alpha-readonly"))
    assert list(reader.list(Pod, namespace="alpha-dev")) == []
    with pytest.raises(Forbidden):
        list(reader.list(Pod, namespace="beta-dev"))
    with pytest.raises(Forbidden):
        list(reader.list(Secret, namespace="alpha-dev"))


def test_the_deployer_deploys_and_diffs_the_fleet_and_cannot_touch_kube_system(
    fleet: Path,
) -> None:
    config = identity(fleet, "campus-deployer")
    deployer = client_from_file(config)
    with pytest.raises(Forbidden):
        deployer.create(Secret(metadata=ObjectMeta(name="x", namespace="kube-system")))
    with pytest.raises(Forbidden):
        deployer.create(Namespace(metadata=ObjectMeta(name="not-in-the-fleet")))
    where = ["-f", str(fleet), "--kubeconfig", str(config)]
    deployed = run("deploy", "alpha-dev", "--timeout", "180", *where)
    assert deployed.exit_code == 0, deployed.output
    changes = run("diff", "alpha-dev", *where)
    assert changes.exit_code == 0, changes.output
    operator = ["-f", str(fleet), "--kubeconfig", str(identity(fleet, "alpha-operator"))]
    assert run("diff", "alpha-dev", *operator).exit_code == 0
    refused = run("diff", "beta-dev", *operator)
    assert refused.exit_code == 1 and "cannot read its Tutor state" in refused.output
    reader = ["-f", str(fleet), "--kubeconfig", str(identity(fleet, "alpha-readonly"))]
    status = run("status", "alpha-dev", *reader)
    assert status.exit_code == 0 and "alpha-dev" in status.output, status.output
