"""A sandbox for the integration tests: real kube-apiserver, etcd, controllers, scheduler
and metrics-server, with KWOK nodes. One per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client

from campus.cli.main import cli
from campus.kube.client import KubeClient
from campus.kube.connect import FIELD_MANAGER
from campus.sandbox import cluster

# Several test runs at once (e.g. one per working copy) each need a sandbox of their own.
TEST_SANDBOX = os.environ.get("CAMPUS_TEST_SANDBOX", "campus-test")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[cluster.SandboxInfo]:
    cluster.down(TEST_SANDBOX)  # a sandbox left behind by an interrupted run
    info = cluster.up(
        TEST_SANDBOX,
        nodes=3,
        node_cpu="16",
        node_memory="64Gi",
        zones=("a", "b", "c"),
        progress=lambda message: print(f"sandbox: {message}"),
    )
    try:
        yield info
    finally:
        cluster.down(TEST_SANDBOX)


@pytest.fixture(scope="session")
def kube(sandbox: cluster.SandboxInfo) -> Client:
    """The client campus hands out: it raises campus's errors (NotFound...), not lightkube's."""
    from lightkube import KubeConfig

    return KubeClient(KubeConfig.from_file(sandbox.kubeconfig), field_manager=FIELD_MANAGER)


# A small fleet on a sandbox of its own, for the operations commands (status, drill, logs):
# a production-like environment and a development one.
OPS_FLEET = """\
cluster:
  sandbox: {sandbox}
defaults:
  plugins: []
  size: small
  ingress: {{mode: ingress}}
environments:
  ops-prod:
    hosts: {{lms: learn.prod.ops.example.org}}
    production: true
  ops-dev:
    hosts: {{lms: learn.dev.ops.example.org}}
"""


@pytest.fixture(scope="session")
def ops_sandbox(sandbox: cluster.SandboxInfo) -> Iterator[str]:
    name = f"{sandbox.name}-ops"
    cluster.down(name)
    cluster.up(name, nodes=3, node_cpu="8", node_memory="32Gi", zones=("a", "b", "c"))
    try:
        yield name
    finally:
        cluster.down(name)


@pytest.fixture(scope="session")
def ops_fleet(ops_sandbox: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ops") / "fleet.yml"
    path.write_text(OPS_FLEET.format(sandbox=ops_sandbox))
    result = CliRunner().invoke(cli, ["deploy", "-f", str(path), "--timeout", "180"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def real_sandbox() -> Iterator[cluster.SandboxInfo]:
    """A sandbox with one real node (kubelet, containerd) beside two KWOK nodes."""
    name = f"{TEST_SANDBOX}-real"
    cluster.down(name)
    info = cluster.up(
        name,
        nodes=2,
        zones=("a", "b"),
        real_nodes=1,
        progress=lambda message: print(f"sandbox: {message}"),
    )
    try:
        yield info
    finally:
        cluster.down(name)
