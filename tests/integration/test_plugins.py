"""Community plugins on the sandbox: a production environment in ingress mode and a
development one in gateway mode, deployed; every public site Tutor serves is routed by the
objects the API server holds; a lost node leaves every stateless service of production
serving. On the operations sandbox, since the drill fails a node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import Client, KubeConfig, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.resources.networking_v1 import Ingress

from campus.cli.main import cli
from campus.kube.apply import resource_type
from campus.kube.connect import FIELD_MANAGER
from campus.pipeline import build, load
from campus.sandbox import cluster
from campus.services import catalogue_for, public_sites

pytestmark = pytest.mark.integration

PLUGIN_FLEET = Path(__file__).parents[1] / "fleets" / "plugins.yml"


# The shared Gateway, as a cluster operator would create it: one HTTP listener taking
# routes from namespaces labelled for it (no Gateway controller runs on a sandbox).
EDGE_GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "edge"},
    "spec": {
        "gatewayClassName": "example",
        "listeners": [
            {
                "name": "http",
                "port": 80,
                "protocol": "HTTP",
                "hostname": "*.gw.plug.example.org",
                "allowedRoutes": {
                    "namespaces": {
                        "from": "Selector",
                        "selector": {"matchLabels": {"kubernetes.io/metadata.name": "plug-gw"}},
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def plugin_fleet(ops_sandbox: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("plugins") / "fleet.yml"
    path.write_text(PLUGIN_FLEET.read_text().replace("sandbox: campus", f"sandbox: {ops_sandbox}"))
    linted = CliRunner().invoke(cli, ["lint", "-f", str(path)])
    assert linted.exit_code == 0, linted.output
    kube = Client(
        KubeConfig.from_file(cluster.kubeconfig_path(ops_sandbox)), field_manager=FIELD_MANAGER
    )
    # Without the operator's Gateway the routes would attach to nothing: refused, saying
    # what to create, before anything but the namespace is applied.
    refused = CliRunner().invoke(cli, ["deploy", "plug-gw", "-f", str(path), "--timeout", "60"])
    assert refused.exit_code != 0
    assert "Gateway edge/public does not exist" in refused.output, refused.output
    assert "hostname: learn.gw.plug.example.org" in refused.output
    kube.apply(Namespace(metadata=ObjectMeta(name="edge")))
    gateway = resource_type("gateway.networking.k8s.io/v1", "Gateway")
    kube.apply(codecs.from_dict(EDGE_GATEWAY), force=True)
    deployed = CliRunner().invoke(cli, ["deploy", "-f", str(path), "--timeout", "240"])
    assert deployed.exit_code == 0, deployed.output
    yield path
    for environment in ("plug-prod", "plug-gw"):
        CliRunner().invoke(cli, ["destroy", environment, "-f", str(path), "--yes"])
    kube.delete(gateway, "public", namespace="edge")


def test_every_public_site_is_routed_in_ingress_and_gateway_modes(
    plugin_fleet: Path, ops_sandbox: str
) -> None:
    kube = Client(
        KubeConfig.from_file(cluster.kubeconfig_path(ops_sandbox)), field_manager=FIELD_MANAGER
    )
    route_type = resource_type("gateway.networking.k8s.io/v1", "HTTPRoute")
    for built in build(load(plugin_fleet)):
        served = {site.host for site in public_sites(built.rendered.objects)}
        assert f"notes.{built.environment.hosts.lms}" in served
        namespace = built.environment.namespace
        if built.environment.ingress_mode == "ingress":
            ingress = kube.get(Ingress, "openedx", namespace=namespace)
            assert ingress.spec and ingress.spec.rules
            routed = {rule.host for rule in ingress.spec.rules}
        else:
            route = kube.get(route_type, "openedx", namespace=namespace).to_dict()
            [rendered] = [o for o in built.objects if o["kind"] == "HTTPRoute"]
            # The API server validated it against the CRD and defaulted nothing campus omits.
            assert route["spec"] == rendered["spec"]
            routed = set(route["spec"]["hostnames"])
        assert routed == served, built.environment.name


def test_a_lost_node_leaves_every_stateless_production_service_serving(
    plugin_fleet: Path,
) -> None:
    result = CliRunner().invoke(
        cli, ["drill", "node-failure", "-f", str(plugin_fleet), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True
    outcomes = {s["service"]: s for s in report["services"] if s["environment"] == "plug-prod"}
    [production] = [b for b in build(load(plugin_fleet)) if b.environment.name == "plug-prod"]
    services = catalogue_for(production.rendered.objects)
    stateless = {name for name in outcomes if services.replicable(name) and name != "jupyterhub"}
    assert {"notes", "xqueue", "credentials", "discovery", "smtp", "mfe", "lms"} <= stateless
    for name in stateless:
        assert outcomes[name]["desired"] >= 2, outcomes[name]
        assert outcomes[name]["secondsWithoutReady"] == 0, outcomes[name]
