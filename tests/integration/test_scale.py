"""`campus scale` and `campus autoscale` on the sandbox: the fleet file and the cluster
change together, a later deploy keeps the change, and bad input changes nothing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Namespace

from campus.cli.main import cli
from campus.kube.connect import fresh_client
from campus.kube.errors import Unreachable
from campus.sandbox import cluster

pytestmark = pytest.mark.integration

FLEET = """\
# Two small environments for the scaling tests.
cluster: {{sandbox: {sandbox}}}
defaults:
  plugins: []
  size: small
environments:
  sc-dev:
    hosts: {{lms: learn.sc-dev.example.org}}   # one replica of everything

  sc-prod:
    hosts: {{lms: learn.sc-prod.example.org}}
    production: true
    ingress: {{mode: ingress}}  # caddy is then a web service that needs 2 replicas
"""


def campus(fleet: Path, *arguments: str) -> Result:
    return CliRunner().invoke(cli, [*arguments, "-f", str(fleet)], catch_exceptions=False)


@pytest.fixture(scope="module")
def fleet(
    sandbox: cluster.SandboxInfo, kube: Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("scale") / "fleet.yml"
    path.write_text(FLEET.format(sandbox=sandbox.name))
    result = campus(path, "deploy", "--parallel", "1")
    assert result.exit_code == 0, result.output
    yield path
    for name in ("sc-dev", "sc-prod"):
        kube.delete(Namespace, name)


def replicas(kube: Client, namespace: str, name: str) -> tuple[int, int]:
    deployment = kube.get(Deployment, name, namespace=namespace)
    assert deployment.spec is not None and deployment.status is not None
    return deployment.spec.replicas or 0, deployment.status.readyReplicas or 0


def test_scale_changes_the_deployment_and_the_fleet_file(kube: Client, fleet: Path) -> None:
    before = fleet.read_text()
    result = campus(fleet, "scale", "sc-dev", "cms=3", "lms-worker=2")
    assert result.exit_code == 0, result.output
    assert "cms: 1 replica (default) -> 3 replicas" in result.output
    after = fleet.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["    replicas:", "      cms: 3", "      lms-worker: 2"]
    assert all(line in after.splitlines() for line in before.splitlines())
    assert replicas(kube, "sc-dev", "cms") == (3, 3)  # deployed and health-gated
    assert replicas(kube, "sc-dev", "lms-worker") == (2, 2)

    # The next deploy keeps the count: it is in the fleet file, not only on the cluster.
    assert campus(fleet, "deploy", "sc-dev").exit_code == 0
    assert replicas(kube, "sc-dev", "cms") == (3, 3)

    # --no-deploy writes the file and leaves the cluster alone.
    result = campus(fleet, "scale", "sc-dev", "cms=2", "--no-deploy")
    assert result.exit_code == 0, result.output
    assert "      cms: 2" in fleet.read_text().splitlines()
    assert replicas(kube, "sc-dev", "cms") == (3, 3)
    assert campus(fleet, "deploy", "sc-dev").exit_code == 0
    assert replicas(kube, "sc-dev", "cms") == (2, 2)


def watch_replicas(kube: Client, namespace: str, name: str, seen: list[int]) -> threading.Event:
    """Every spec.replicas the API server reports for the Deployment, in order."""
    started = threading.Event()
    client = fresh_client(kube)

    def run() -> None:
        # The watch outlives the test; it ends when the sandbox stops and closes it.
        with contextlib.suppress(Unreachable):
            for _, deployment in client.watch(
                Deployment, namespace=namespace, fields={"metadata.name": name}
            ):
                started.set()
                if deployment.spec is not None:
                    seen.append(deployment.spec.replicas or 0)

    threading.Thread(target=run, daemon=True).start()
    started.wait(30)
    return started


def test_autoscale_creates_then_changes_the_hpa_without_dropping_pods(
    kube: Client, fleet: Path
) -> None:
    assert campus(fleet, "scale", "sc-dev", "lms=3").exit_code == 0
    assert replicas(kube, "sc-dev", "lms") == (3, 3)
    seen: list[int] = []
    assert watch_replicas(kube, "sc-dev", "lms", seen).is_set()

    result = campus(fleet, "autoscale", "sc-dev", "lms", "--min", "2", "--max", "4", "--cpu", "60")
    assert result.exit_code == 0, result.output
    assert "replicas.lms: 3 removed" in result.output
    text = fleet.read_text()
    assert "      lms: {min: 2, max: 4, cpu: 60}" in text.splitlines()
    assert "      lms: 3" not in text.splitlines()
    hpa = kube.get(HorizontalPodAutoscaler, "lms", namespace="sc-dev")
    assert hpa.spec is not None and (hpa.spec.minReplicas, hpa.spec.maxReplicas) == (2, 4)
    assert hpa.spec.metrics is not None
    target = hpa.spec.metrics[0].resource
    assert target is not None and target.target.averageUtilization == 60
    # Taking `replicas` out of the manifest did not reset the Deployment to 1 on the way.
    deployment = kube.get(Deployment, "lms", namespace="sc-dev")
    assert seen and min(seen) >= 2, seen
    assert deployment.spec is not None and deployment.spec.replicas is not None

    result = campus(fleet, "autoscale", "sc-dev", "lms", "--min", "3", "--max", "6")
    assert result.exit_code == 0, result.output
    assert "      lms: {min: 3, max: 6, cpu: 60}" in fleet.read_text().splitlines()
    hpa = kube.get(HorizontalPodAutoscaler, "lms", namespace="sc-dev")
    assert hpa.spec is not None and (hpa.spec.minReplicas, hpa.spec.maxReplicas) == (3, 6)

    result = campus(fleet, "autoscale", "sc-dev", "lms", "--off")
    assert result.exit_code == 0, result.output
    assert "autoscaling" not in fleet.read_text()
    assert not [h for h in kube.list(HorizontalPodAutoscaler, namespace="sc-dev")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["scale", "sc-nope", "lms=2"], "no environment sc-nope"),
        (["scale", "sc-dev", "lsm=2"], "sc-dev runs no service 'lsm'; its services: caddy, cms"),
        (["scale", "sc-dev", "lms=two"], "expected SERVICE=N"),
        (["scale", "sc-prod", "caddy=1"], "PodDisruptionBudget"),
        (["scale", "sc-prod", "lms=5"], "campus autoscale sc-prod lms --min 5 --max 5"),
        (["scale", "sc-dev", "mysql=2"], "ReadWriteOnce"),
        (["scale", "sc-dev", "lms=5000"], "the cluster has"),
        (["autoscale", "sc-prod", "lms", "--min", "1", "--max", "3"], "PodDisruptionBudget"),
        (["autoscale", "sc-dev", "lms", "--min", "4", "--max", "2"], "--min 4 is above --max 2"),
        (["autoscale", "sc-dev", "nginx", "--min", "1", "--max", "2"], "no service 'nginx'"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    kube: Client, fleet: Path, arguments: list[str], message: str
) -> None:
    before = fleet.read_bytes()
    caddy = replicas(kube, "sc-prod", "caddy")
    result = campus(fleet, *arguments)
    assert result.exit_code != 0
    assert message in result.output
    assert fleet.read_bytes() == before
    assert sorted(p.name for p in fleet.parent.iterdir() if not p.name.startswith(".campus")) == [
        "fleet.yml"
    ]
    assert replicas(kube, "sc-prod", "caddy") == caddy
