"""A sandbox for the integration tests: real kube-apiserver, etcd, controllers, scheduler
and metrics-server, with KWOK nodes. One per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from lightkube import Client

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
    from lightkube import KubeConfig

    return Client(KubeConfig.from_file(sandbox.kubeconfig), field_manager=FIELD_MANAGER)
