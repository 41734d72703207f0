"""NetworkPolicy enforced on the real nodes: kube-router's firewall rejects what a policy
does not allow, and lets it in again once the policy is gone.

Uses the `real_sandbox` fixture, whose sandbox starts the engine itself. To run against
a sandbox that is already up (one machine holds one sandbox with real nodes), name it in
CAMPUS_TEST_REAL_SANDBOX; if its engine does not run, the test starts one of its own
through `campus.sandbox.policy_engine` and removes it, and its rules, afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Namespace, Pod
from lightkube.resources.networking_v1 import NetworkPolicy

from campus.kube.client import KubeClient
from campus.kube.errors import NotFound
from campus.sandbox import build, cluster, node_config, node_pki, policy_engine
from campus.sandbox.node_config import REAL_NODE
from campus.sandbox.paths import state_root

pytestmark = pytest.mark.integration

STANDIN = "campus.local/sandbox/openedx-standin:bookworm"
PORT = 8000
RESTRICTED = {
    "runAsUser": 1000,
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()\n"
    "except ConnectionRefusedError:\n"
    "    sys.exit(3)\n"
    "except OSError:\n"
    "    sys.exit(4)\n"
)


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> cluster.SandboxInfo:
    name = os.environ.get("CAMPUS_TEST_REAL_SANDBOX")
    if not name:
        info: cluster.SandboxInfo = request.getfixturevalue("real_sandbox")
        return info
    kubeconfig = state_root() / name / "kubeconfig"
    if not kubeconfig.exists():
        pytest.skip(f"sandbox {name} (CAMPUS_TEST_REAL_SANDBOX) is not up")
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return cluster.SandboxInfo(name, kubeconfig, server, [], real_nodes=("real-0",))


def client_of(info: cluster.SandboxInfo) -> KubeClient:
    return KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="campus-test")


def _filter_chains() -> set[str]:
    save = subprocess.run(
        ["iptables-save", "-t", "filter"], capture_output=True, text=True, check=True
    ).stdout
    return {line[1:].split()[0] for line in save.splitlines() if line.startswith(":")}


@pytest.fixture(scope="module")
def engine(
    sandbox: cluster.SandboxInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The sandbox's engine; one of the test's own when the sandbox has none running."""
    if policy_engine.pid(sandbox.kubeconfig.parent / "real-nodes") is not None:
        yield
        return
    binary = Path(os.environ.get("CAMPUS_KUBE_ROUTER", "/tmp/kube-router-bin/kube-router"))
    if not binary.exists():
        pytest.skip(f"the sandbox runs no policy engine and {binary} is not built")
    directory = tmp_path_factory.mktemp("policy-engine")
    pki = sandbox.kubeconfig.parent / "kwok" / "clusters" / sandbox.name / "pki"
    ca = node_pki.KeyPair(pki / "ca.crt", pki / "ca.key")
    identity = node_pki.issue(
        ca,
        node_pki.KeyPair(directory / "policy.crt", directory / "policy.key"),
        policy_engine.IDENTITY,
    )
    kubeconfig = directory / "policy.kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            node_config.kubeconfig(
                sandbox.server,
                ca.certificate,
                identity.certificate,
                identity.key,
                policy_engine.IDENTITY,
            )
        )
    )
    policy_engine.apply_rbac(client_of(sandbox))
    before = _filter_chains()
    policy_engine.start(
        directory, kubeconfig, sandbox.real_nodes[0], "10.128.0.0/12", binary, print
    )
    try:
        yield
    finally:
        policy_engine.stop(directory, binary)
        assert not policy_engine.leftovers()
        assert policy_engine.pid(directory) is None
        # The filter table has the chains it had before, no more, no fewer.
        assert _filter_chains() == before


def _pod(namespace: str, name: str) -> Pod:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {
                "nodeSelector": {REAL_NODE: "true"},
                "tolerations": [{"key": REAL_NODE, "operator": "Exists"}],
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {
                        "name": "main",
                        "image": STANDIN,
                        "imagePullPolicy": "Never",
                        "env": [{"name": "PORT", "value": str(PORT)}],
                        "securityContext": RESTRICTED,
                    }
                ],
            },
        }
    )


def _policy(namespace: str, name: str, spec: dict[str, Any]) -> NetworkPolicy:
    return from_dict(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def _wait_running(client: KubeClient, namespace: str, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        pod = client.get(Pod, name, namespace=namespace)
        if pod.status and pod.status.phase == "Running" and pod.status.podIP:
            return str(pod.status.podIP)
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {namespace}/{name} not Running: {pod.status}")
        time.sleep(0.5)


class Namespaces:
    """Three namespaces of the test's own (np-<word>-a/b/c), each with a server pod and a
    client pod of the stand-in image."""

    def __init__(self, sandbox: cluster.SandboxInfo) -> None:
        self.sandbox = sandbox
        self.client = client_of(sandbox)
        self.kubectl = build.ensure_binaries().path("kubectl")
        word = secrets.token_hex(3)
        self.names = {key: f"np-{word}-{key}" for key in ("a", "b", "c")}
        self.servers: dict[str, str] = {}

    def create(self) -> None:
        for name in self.names.values():
            self.client.create(
                from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            )
        for name in self.names.values():
            for pod in ("server", "client"):
                self.client.create(_pod(name, pod))
        for key, name in self.names.items():
            self.servers[key] = _wait_running(self.client, name, "server")
            _wait_running(self.client, name, "client")

    def delete(self) -> None:
        for name in self.names.values():
            with contextlib.suppress(NotFound):
                self.client.delete(Namespace, name)

    def connect(self, source: str, target: str) -> str:
        """'open', 'refused' or 'timeout', from `source`'s client to `target`'s server."""
        result = subprocess.run(
            [
                str(self.kubectl),
                f"--kubeconfig={self.sandbox.kubeconfig}",
                "exec",
                "-n",
                self.names[source],
                "client",
                "--",
                "python3",
                "-c",
                CONNECT,
                self.servers[target],
                str(PORT),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        outcome = {0: "open", 3: "refused", 4: "timeout"}.get(result.returncode)
        if outcome is None:
            raise AssertionError(f"kubectl exec failed ({result.returncode}): {result.stderr}")
        return outcome

    def until(self, source: str, target: str, allowed: bool, timeout: float = 60) -> float:
        """Seconds until the connection from `source` to `target` is allowed (or not)."""
        started = time.monotonic()
        while True:
            outcome = self.connect(source, target)
            if (outcome == "open") == allowed:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{source} -> {target} still {outcome} after {timeout:.0f}s")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def namespaces(sandbox: cluster.SandboxInfo, engine: None) -> Iterator[Namespaces]:
    found = Namespaces(sandbox)
    try:
        found.create()
        yield found
    finally:
        found.delete()


def test_same_namespace_only_policy_keeps_other_namespaces_out(namespaces: Namespaces) -> None:
    """Like campus's own: default-deny ingress, and allow from the same namespace."""
    a = namespaces.names["a"]
    assert namespaces.connect("b", "a") == "open"  # no policy yet
    namespaces.client.create(
        _policy(a, "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    )
    namespaces.client.create(
        _policy(
            a,
            "allow-same-namespace",
            {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
        )
    )
    enforced = namespaces.until("b", "a", allowed=False)
    print(f"policy enforced {enforced:.1f}s after it was created")
    assert namespaces.connect("b", "a") == "refused"  # kube-router REJECTs
    assert namespaces.connect("a", "a") == "open"
    assert namespaces.connect("a", "b") == "open"  # b has no policy

    namespaces.client.delete(NetworkPolicy, "allow-same-namespace", namespace=a)
    namespaces.client.delete(NetworkPolicy, "default-deny-ingress", namespace=a)
    lifted = namespaces.until("b", "a", allowed=True)
    print(f"policy lifted {lifted:.1f}s after it was deleted")
    assert namespaces.connect("c", "a") == "open"


def test_a_namespace_selector_lets_that_namespace_in(namespaces: Namespaces) -> None:
    a, b = namespaces.names["a"], namespaces.names["b"]
    namespaces.client.create(
        _policy(
            a,
            "allow-from-b",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": b}
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": PORT}],
                    }
                ],
            },
        )
    )
    try:
        namespaces.until("c", "a", allowed=False)
        assert namespaces.connect("b", "a") == "open"
        assert namespaces.connect("a", "a") == "refused"  # not even its own namespace
    finally:
        namespaces.client.delete(NetworkPolicy, "allow-from-b", namespace=a)
    namespaces.until("c", "a", allowed=True)
