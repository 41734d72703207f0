"""Egress, cyclonus-style: the hardened NetworkPolicies of two environments (of the example
fleet, then of the plugin matrix), with the cluster DNS in kube-system, the ingress
controller's namespace and addresses outside the cluster, evaluated for every connection
of a matrix (`campus.harden.flows`), and the whole matrix compared with what campus means
to allow: a failure lists every connection that differs."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from campus.deploy import maintenance
from campus.fleet.errors import FleetFileError
from campus.fleet.load import load_fleet
from campus.fleet.model import Egress
from campus.harden import egress, harden_all
from campus.harden.flows import Endpoint, Network, address, pod
from campus.harden.isolation import HTTP01_SOLVER
from campus.labels import API_ACCESS, EGRESS_REASON
from campus.labels import NAME as SERVICE
from campus.lint import lint
from campus.render.model import RenderedEnvironment
from campus.state.model import ClusterCopies

PLUGINS = Path(__file__).parents[1] / "fleets" / "plugins.yml"

DATABASE = Egress(cidr="10.0.5.0/24", ports=[3306], reason="Acme's managed MySQL")
API_SERVER = "192.0.2.10"
OUTSIDE = {
    "metadata": address("169.254.169.254"),
    "metadata v6": address("fd00:ec2::254"),
    "database": address("10.0.5.7"),
    "database's neighbour": address("10.0.6.7"),
    "internet": address("198.51.100.7"),
    "api server": address(API_SERVER),
    "node": address("10.0.0.5"),
}

Flow = tuple[str, str, int, str]


def with_environment(rendered: RenderedEnvironment, **update: Any) -> RenderedEnvironment:
    return dataclasses.replace(rendered, environment=rendered.environment.model_copy(update=update))


def hardened(rendered: RenderedEnvironment) -> list[dict[str, Any]]:
    objects, jobs = harden_all(rendered)
    return objects + jobs


def pods_of(prefix: str, objects: list[dict[str, Any]], namespace: str, subnet: int) -> dict:
    """`<prefix> <service>` -> a pod of each Deployment (and `<prefix> job`, an init Job's),
    with an address of its own in the pod range."""
    found: dict[str, Endpoint] = {}
    workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]
    for index, obj in enumerate(workloads, start=1):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        name = "job" if obj["kind"] == "Job" else obj["metadata"]["name"]
        found.setdefault(f"{prefix} {name}", pod(namespace, labels, f"10.244.{subnet}.{index}"))
    return found


def verdicts(network: Network, endpoints: dict[str, Endpoint], flows: dict[Flow, bool]) -> dict:
    return {
        flow: network.allows(endpoints[flow[0]], endpoints[flow[1]], flow[2], flow[3])
        for flow in flows
    }


def allowed(*flows: Flow) -> dict[Flow, bool]:
    return dict.fromkeys(flows, True)


def denied(*flows: Flow) -> dict[Flow, bool]:
    return dict.fromkeys(flows, False)


@pytest.fixture(scope="module")
def example_network(
    rendered_example: dict[str, RenderedEnvironment],
) -> tuple[Network, dict[str, Endpoint]]:
    """acme-dev (A) with an external database declared and the API server located;
    acme-test (B) as the example has it. Both behind Traefik, with TLS."""
    a = with_environment(
        rendered_example["acme-dev"],
        egress={"database": DATABASE},
        api_server_cidrs=(f"{API_SERVER}/32",),
    )
    b = rendered_example["acme-test"]
    objects_a, objects_b = hardened(a), hardened(b)
    page = maintenance.objects(a.environment.namespace, objects_a)
    network = Network.of([*objects_a, *objects_b, *page], ["kube-system", "traefik"])
    endpoints = {
        **pods_of("A", [*objects_a, *page], "acme-dev", 1),
        **pods_of("B", objects_b, "acme-test", 2),
        "A solver": pod("acme-dev", {HTTP01_SOLVER: "true"}, "10.244.1.200"),
        "dns": pod("kube-system", {"k8s-app": "kube-dns"}, "10.244.9.10"),
        "kube-system's metrics-server": pod("kube-system", {"k8s-app": "metrics"}, "10.244.9.11"),
        "controller": pod("traefik", {SERVICE: "traefik"}, "10.244.8.10"),
        **OUTSIDE,
    }
    return network, endpoints


EXAMPLE_MATRIX: dict[Flow, bool] = {
    # Within the environment: the init Jobs reach mysql, Caddy its upstreams.
    **allowed(
        ("A lms", "A mysql", 3306, "TCP"),
        ("A job", "A mysql", 3306, "TCP"),
        ("A caddy", "A lms", 8000, "TCP"),
        ("A lms-worker", "A redis", 6379, "TCP"),
        ("A lms", "A smtp", 8025, "TCP"),
    ),
    # Another environment, either way.
    **denied(
        ("A lms", "B mysql", 3306, "TCP"),
        ("B lms", "A mysql", 3306, "TCP"),
        ("A job", "B mysql", 3306, "TCP"),
        ("A caddy", "B caddy", 80, "TCP"),
        ("B lms", "A caddy", 80, "TCP"),
    ),
    # The cluster DNS, and nothing else of kube-system.
    **allowed(
        ("A lms", "dns", 53, "UDP"),
        ("A lms", "dns", 53, "TCP"),
        ("A job", "dns", 53, "UDP"),
        ("A campus-maintenance", "dns", 53, "UDP"),
        ("B lms", "dns", 53, "UDP"),
    ),
    **denied(
        ("A lms", "dns", 8080, "TCP"),
        ("A lms", "kube-system's metrics-server", 443, "TCP"),
        ("A lms", "kube-system's metrics-server", 53, "UDP"),
    ),
    # The cloud metadata endpoint, from anything, on any port.
    **denied(
        ("A lms", "metadata", 80, "TCP"),
        ("A lms", "metadata v6", 80, "TCP"),
        ("A smtp", "metadata", 80, "TCP"),
        ("A caddy", "metadata", 80, "TCP"),
        ("A job", "metadata", 80, "TCP"),
        ("A lms", "metadata", 53, "UDP"),
    ),
    # The external database A declares: from A only, on its port only.
    **allowed(("A lms", "database", 3306, "TCP"), ("A job", "database", 3306, "TCP")),
    **denied(
        ("A lms", "database", 22, "TCP"),
        ("A lms", "database", 3306, "UDP"),
        ("A lms", "database's neighbour", 3306, "TCP"),
        ("B lms", "database", 3306, "TCP"),
    ),
    # The internet: smtp delivers mail on 25 (a public address only); nothing else.
    **allowed(("A smtp", "internet", 25, "TCP"), ("B smtp", "internet", 25, "TCP")),
    **denied(
        ("A smtp", "internet", 443, "TCP"),
        ("A smtp", "database's neighbour", 25, "TCP"),
        ("A lms", "internet", 443, "TCP"),
        ("A lms", "internet", 25, "TCP"),
        ("A caddy", "internet", 443, "TCP"),  # behind the controller, Caddy needs no ACME
    ),
    # The API server: no service of the example talks to it.
    **denied(("A lms", "api server", 6443, "TCP"), ("A lms", "api server", 443, "TCP")),
    # The ingress controller: in to the entry pods, the HTTP-01 solver and the maintenance
    # page; out, the environment's calls to its own public hosts, on the public ports only.
    **allowed(
        ("controller", "A caddy", 80, "TCP"),
        ("controller", "A solver", 8089, "TCP"),
        ("controller", "A campus-maintenance", 8080, "TCP"),
        ("A lms", "controller", 443, "TCP"),
        ("A lms", "controller", 80, "TCP"),
    ),
    **denied(
        ("controller", "A lms", 8000, "TCP"),
        ("controller", "A mysql", 3306, "TCP"),
        ("A lms", "controller", 8443, "TCP"),  # an admission webhook's port
        ("A lms", "controller", 10254, "TCP"),  # its metrics
        ("internet", "A caddy", 80, "TCP"),  # the world comes through the controller
        ("A lms", "node", 10250, "TCP"),  # a kubelet
    ),
}


def test_the_example_fleets_matrix(example_network: tuple[Network, dict[str, Endpoint]]) -> None:
    network, endpoints = example_network
    assert verdicts(network, endpoints, EXAMPLE_MATRIX) == EXAMPLE_MATRIX


@pytest.fixture(scope="module")
def plugins_network(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> tuple[Network, dict[str, Endpoint]]:
    """plug-prod (P, behind ingress-nginx) on a cluster whose API server is located, and
    plug-gw (G, behind the Gateway edge/public); JupyterHub in both."""
    p = with_environment(rendered_plugins["plug-prod"], api_server_cidrs=(f"{API_SERVER}/32",))
    g = rendered_plugins["plug-gw"]
    objects_p, objects_g = hardened(p), hardened(g)
    # What KubeSpawner labels a learner's notebook with (7.x adds the recommended labels).
    notebook = {SERVICE: "jupyterhub", "component": "singleuser-server", "app": "jupyterhub"}
    endpoints = {
        **pods_of("P", objects_p, "plug-prod", 3),
        **pods_of("G", objects_g, "plug-gw", 4),
        "P notebook": pod("plug-prod", notebook, "10.244.3.200"),
        "ingress-nginx": pod("ingress-nginx", {SERVICE: "ingress-nginx"}, "10.244.8.20"),
        "edge": pod("edge", {SERVICE: "envoy"}, "10.244.8.30"),
        **OUTSIDE,
    }
    network = Network.of([*objects_p, *objects_g], ["kube-system", "ingress-nginx", "edge"])
    return network, endpoints


PLUGINS_MATRIX: dict[Flow, bool] = {
    # The hub, alone, reaches the API server, on its ports.
    **allowed(
        ("P jupyterhub", "api server", 6443, "TCP"), ("P jupyterhub", "api server", 443, "TCP")
    ),
    **denied(
        ("P jupyterhub", "api server", 22, "TCP"),
        ("P lms", "api server", 6443, "TCP"),
        ("P notebook", "api server", 6443, "TCP"),
        ("P job", "api server", 6443, "TCP"),
        # plug-gw's cluster facts name no API server: nothing is admitted there.
        ("G jupyterhub", "api server", 6443, "TCP"),
    ),
    # A learner's notebook: its hub, and nothing outside. (It reaches the environment's
    # services, as every pod of the namespace does.)
    **allowed(
        ("P jupyterhub", "P notebook", 8888, "TCP"),
        ("P notebook", "P jupyterhub", 8081, "TCP"),
        ("P notebook", "P mysql", 3306, "TCP"),
    ),
    **denied(
        ("P notebook", "internet", 443, "TCP"),
        ("P notebook", "metadata", 80, "TCP"),
        ("P notebook", "G mysql", 3306, "TCP"),
    ),
    # tutor-minio's S3 endpoint and tutor-discovery's course refresh are public hosts of
    # the environment: through its ingress controller (or Gateway), not another one.
    **allowed(
        ("P lms", "P minio", 9000, "TCP"),
        ("P lms", "ingress-nginx", 443, "TCP"),
        ("P discovery", "ingress-nginx", 443, "TCP"),
        ("G lms", "edge", 443, "TCP"),
    ),
    **denied(
        ("P lms", "edge", 443, "TCP"),
        ("G lms", "ingress-nginx", 443, "TCP"),
        ("P lms", "G minio", 9000, "TCP"),
        ("G discovery", "P lms", 8000, "TCP"),
    ),
}


def test_the_plugin_matrix(plugins_network: tuple[Network, dict[str, Endpoint]]) -> None:
    network, endpoints = plugins_network
    assert verdicts(network, endpoints, PLUGINS_MATRIX) == PLUGINS_MATRIX


def policies_of(rendered: RenderedEnvironment) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in hardened(rendered) if o["kind"] == "NetworkPolicy"}


def test_a_wide_destination_allowed_on_purpose_still_excepts_the_metadata_endpoints(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    s3 = Egress(cidr="0.0.0.0/0", ports=[443], allow_any=True, reason="S3 has no fixed range")
    v6 = Egress(cidr="::/0", ports=[443], allow_any=True, reason="S3 over IPv6")
    rendered = with_environment(rendered_example["acme-dev"], egress={"s3": s3, "s3-v6": v6})
    policies = policies_of(rendered)
    rule = policies["allow-egress-to-s3"]["spec"]["egress"][0]
    assert rule["to"] == [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "100.100.100.200/32"]}}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    assert policies["allow-egress-to-s3"]["metadata"]["annotations"] == {
        EGRESS_REASON: "S3 has no fixed range"
    }
    [block] = policies["allow-egress-to-s3-v6"]["spec"]["egress"][0]["to"]
    assert block["ipBlock"]["except"] == ["fd00:ec2::254/128"]
    network = Network.of(policies.values())
    lms = pod("acme-dev", {SERVICE: "lms"})
    assert network.allows(lms, address("198.51.100.7"), 443)
    assert network.allows(lms, address("2001:db8::1"), 443)
    for metadata in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"):
        assert not network.allows(lms, address(metadata), 443)
    assert lint(rendered, hardened(rendered)) == []


def test_a_dns_cache_on_the_nodes_is_admitted_on_port_53_alone(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = with_environment(rendered_example["acme-dev"], dns_cidrs=("169.254.20.10/32",))
    network = Network.of(policies_of(rendered).values())
    lms = pod("acme-dev", {SERVICE: "lms"})
    cache = address("169.254.20.10")
    assert network.allows(lms, cache, 53, "UDP") and network.allows(lms, cache, 53, "TCP")
    assert not network.allows(lms, cache, 80)


def test_caddy_terminating_tls_reaches_its_acme_ca_and_nothing_else_does(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    config = {**rendered.tutor_config, "ENABLE_WEB_PROXY": True, "ENABLE_HTTPS": True}
    caddy_mode = dataclasses.replace(
        with_environment(rendered, ingress_mode="caddy"), tutor_config=config
    )
    policies = policies_of(caddy_mode)
    assert "allow-egress-ingress-controller" not in policies  # the world comes to Caddy
    acme = policies["allow-egress-internet-caddy"]["spec"]
    assert acme["podSelector"] == {"matchLabels": {SERVICE: "caddy"}}
    assert acme["egress"][0]["ports"] == [
        {"protocol": "TCP", "port": 80},
        {"protocol": "TCP", "port": 443},
    ]
    network = Network.of(policies.values())
    internet = address("198.51.100.7")
    assert network.allows(pod("acme-dev", {SERVICE: "caddy"}), internet, 443)
    assert not network.allows(pod("acme-dev", {SERVICE: "lms"}), internet, 443)
    assert "allow-egress-internet-caddy" not in policies_of(rendered)  # behind a controller
    assert lint(caddy_mode, hardened(caddy_mode)) == []


def test_the_ingress_controller_on_host_network_or_a_gateway_beside_it(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    host_network = with_environment(
        rendered, ingress_from_cidrs=("10.0.0.0/16",), ingress_controller_ports=(8000,)
    )
    network = Network.of(policies_of(host_network).values())
    lms = pod("acme-dev", {SERVICE: "lms"})
    assert network.allows(lms, address("10.0.0.5"), 8000)
    assert not network.allows(lms, address("10.0.0.5"), 10250)  # the node's kubelet
    assert not network.allows(lms, address("10.0.0.5"), 443)  # not a port it serves on
    beside = with_environment(
        rendered, ingress_mode="gateway", ingress_controller_namespace="acme-dev"
    )
    assert "allow-egress-ingress-controller" not in policies_of(beside)


def test_the_api_server_is_admitted_only_where_the_cluster_locates_it(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_plugins["plug-prod"]
    assert "allow-egress-kubernetes-api" not in policies_of(rendered)  # the sandbox: unknown
    located = with_environment(
        rendered, api_server_cidrs=("192.0.2.10/32", "192.0.2.11/32"), api_server_ports=(443,)
    )
    spec = policies_of(located)["allow-egress-kubernetes-api"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {API_ACCESS: "true"}}
    assert spec["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}, {"ipBlock": {"cidr": "192.0.2.11/32"}}],
            "ports": [{"protocol": "TCP", "port": 443}],
        }
    ]
    objects = hardened(located)
    [hub] = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "jupyterhub"
    ]
    assert hub["spec"]["template"]["metadata"]["labels"][API_ACCESS] == "true"
    assert [
        o["metadata"]["name"]
        for o in objects
        if API_ACCESS
        in (o.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})
    ] == ["jupyterhub"]
    assert lint(located, objects) == []


def _checks(rendered: RenderedEnvironment, objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(v.name, v.check) for v in egress.check(rendered, objects)}


def test_lint_proves_the_flows_and_names_what_breaks(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = with_environment(rendered_example["acme-dev"], egress={"database": DATABASE})
    objects = hardened(rendered)
    assert egress.check(rendered, objects) == []
    raw = copy.deepcopy(rendered.objects)
    assert ("lms", "metadata") in _checks(rendered, raw)  # Tutor's pods go anywhere

    def without(name: str) -> list[dict[str, Any]]:
        return [
            o
            for o in objects
            if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == name)
        ]

    # Each allow policy isolates the pods it selects too; without any, they go anywhere.
    ingress_only = [
        o for o in objects if "Egress" not in (o.get("spec") or {}).get("policyTypes", [])
    ]
    assert {("lms", "metadata"), ("lms", "others")} <= _checks(rendered, ingress_only)
    assert ("lms", "dns") in _checks(rendered, without("allow-egress-dns"))
    assert ("lms", "namespace") in _checks(rendered, without("allow-egress-within-namespace"))
    assert ("lms", "declared") in _checks(rendered, without("allow-egress-to-database"))
    assert ("smtp", "internet") in _checks(rendered, without("allow-egress-internet-smtp"))
    # A rule that forgot the namespace admits every other environment's pods.
    widened = copy.deepcopy(objects)
    for obj in widened:
        if (
            obj["kind"] == "NetworkPolicy"
            and obj["metadata"]["name"] == "allow-egress-within-namespace"
        ):
            obj["spec"]["egress"] = [{"to": [{"namespaceSelector": {}}]}]
    assert ("lms", "others") in _checks(rendered, widened)
    # An ipBlock that lost its exception lets the metadata endpoint in.
    anywhere = with_environment(
        rendered, egress={"any": Egress(cidr="0.0.0.0/0", ports=[80], allow_any=True, reason="x")}
    )
    opened = hardened(anywhere)
    for obj in opened:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "allow-egress-to-any":
            del obj["spec"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert ("lms", "metadata") in _checks(anywhere, opened)


def test_build_refuses_a_hub_whose_api_server_the_fleet_does_not_locate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rendered_plugins: dict[str, Any]
) -> None:
    """On a real cluster: the hub would deploy and never start a notebook."""
    from campus import pipeline

    text = PLUGINS.read_text().replace("  sandbox: campus\n", "  context: prod\n")
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    fleet = load_fleet(path)
    monkeypatch.setattr(
        "campus.render.render_fleet", lambda *given, **named: list(rendered_plugins.values())
    )
    with pytest.raises(FleetFileError) as raised:
        pipeline._build(fleet, fleet.environments, ClusterCopies())
    assert str(raised.value) == (
        f"{path}:4:1: cluster.api_server_cidrs: jupyterhub of plug-prod; jupyterhub of plug-gw "
        "talk to the Kubernetes API (their catalogue entry's needs_api), and NetworkPolicy "
        "admits them only to the API server's addresses: set cluster.api_server_cidrs to its "
        "endpoints (kubectl get endpointslices -n default -l "
        "kubernetes.io/service-name=kubernetes)"
    )
    located = text.replace(
        "  context: prod\n", "  context: prod\n  api_server_cidrs: [10.0.0.10/32]\n"
    )
    path.write_text(located)
    fleet = load_fleet(path)
    assert len(pipeline._build(fleet, fleet.environments, ClusterCopies())) == 2


def test_a_real_node_environment_is_given_the_machines_dns_and_api_server(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    from campus.pipeline import Built
    from campus.sandbox.placement import MachineServices

    rendered = rendered_example["acme-prod"]
    objects, jobs = harden_all(rendered)
    machine = MachineServices("192.168.1.20", 41053, 38443)
    placed = Built(rendered, objects, jobs, on_real_nodes=True, machine=machine).request("x")
    names = {o["metadata"]["name"] for o in placed.objects if o["kind"] == "NetworkPolicy"}
    assert {"sandbox-egress-dns", "sandbox-egress-kubernetes-api"} <= names
    network = Network.of(placed.objects)
    lms = pod("acme-prod", placed_labels(placed.objects, "lms"))
    assert network.allows(lms, address("192.168.1.20"), 41053, "UDP")
    assert not network.allows(lms, address("192.168.1.20"), 38443)
    elsewhere = Built(rendered, objects, jobs).request("x")  # a real cluster: none of it
    assert not [o for o in elsewhere.objects if o["metadata"]["name"].startswith("sandbox-")]


def placed_labels(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    [found] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    labels: dict[str, str] = found["spec"]["template"]["metadata"]["labels"]
    return labels
