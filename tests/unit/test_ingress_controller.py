"""The sandbox's ingress controller objects (`campus.sandbox.ingress_controller`): pure."""

from __future__ import annotations

from campus.sandbox import ingress_controller
from campus.sandbox.node_config import REAL_NODE


def _by_kind(kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in ingress_controller.objects("10.96.0.0/16") if o["kind"] == kind]


def test_the_address_is_fixed_inside_the_service_range() -> None:
    assert ingress_controller.address("10.96.0.0/16") == "10.96.0.12"
    assert ingress_controller.address("10.100.0.0/24") == "10.100.0.12"
    [service] = _by_kind("Service")
    assert service["spec"]["clusterIP"] == "10.96.0.12"
    [deployment] = _by_kind("Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    # Written into each Ingress's status: where `campus check` sends a browser's request.
    assert "--providers.kubernetesingress.ingressendpoint.ip=10.96.0.12" in args
    # Nothing leaves the machine.
    assert "--global.checkNewVersion=false" in args
    assert "--global.sendAnonymousUsage=false" in args


def test_it_runs_hardened_on_a_real_node() -> None:
    [deployment] = _by_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {REAL_NODE: "true"}
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert all(port["containerPort"] >= 1024 for port in container["ports"])
    assert container["imagePullPolicy"] == "Never"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ping"


def test_it_writes_nothing_but_ingress_status() -> None:
    [role] = _by_kind("ClusterRole")
    writes = [
        (rule["resources"], rule["verbs"])
        for rule in role["rules"]
        if set(rule["verbs"]) - {"get", "list", "watch"}
    ]
    assert writes == [(["ingresses/status"], ["update"])]
    [binding] = _by_kind("ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "traefik", "namespace": ingress_controller.NAMESPACE}
    ]
    [ingress_class] = _by_kind("IngressClass")
    assert ingress_class["metadata"]["name"] == ingress_controller.INGRESS_CLASS
    assert ingress_class["spec"]["controller"] == ingress_controller.CONTROLLER


def test_the_namespace_comes_first() -> None:
    kinds = [o["kind"] for o in ingress_controller.objects("10.96.0.0/16")]
    assert kinds[0] == "Namespace"
