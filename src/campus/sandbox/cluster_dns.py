"""The cluster DNS of the real nodes: CoreDNS, built from its pinned Go module, run on
the machine beside kube-proxy.

Pods ask the Service address the kubelet gives them (`kube-dns` in kube-system, the
tenth address of the Service range, as kubeadm has it); that Service has no selector,
and its EndpointSlice names the machine's address, where CoreDNS listens, so that
kube-proxy's rules carry the queries there as on any cluster. CoreDNS answers for
`cluster.local` from the API (as `system:campus-sandbox-dns`, allowed to read Services,
EndpointSlices, Namespaces and Pods, nothing more), and refuses every other name: pod
traffic has nowhere to go outside the machine.
"""

from __future__ import annotations

from pathlib import Path

from lightkube.codecs import from_dict

from campus.kube.client import KubeClient
from campus.kube.objects import KubeObject
from campus.sandbox.node_config import CLUSTER_DOMAIN

IDENTITY = "system:campus-sandbox-dns"
FIELD_MANAGER = "campus-sandbox"


def corefile(address: str, port: int, kubeconfig: Path) -> str:
    reverse = "in-addr.arpa ip6.arpa"
    return f"""\
{CLUSTER_DOMAIN}:{port} {reverse} {{
    bind {address}
    errors
    kubernetes {CLUSTER_DOMAIN} {reverse} {{
        kubeconfig {kubeconfig} sandbox
        pods insecure
        fallthrough {reverse}
    }}
    cache 5
}}
.:{port} {{
    bind {address}
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


def objects(cluster_dns: str, address: str, port: int) -> list[KubeObject]:
    labels = {"k8s-app": "kube-dns", "app.kubernetes.io/managed-by": "campus-sandbox"}
    ports = [{"name": "dns", "protocol": "UDP"}, {"name": "dns-tcp", "protocol": "TCP"}]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": IDENTITY, "labels": labels},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "namespaces", "pods"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": IDENTITY, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": IDENTITY,
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": IDENTITY}
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "clusterIP": cluster_dns,
                "ports": [{**p, "port": 53} for p in ports],
            },
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kube-dns-sandbox",
                "namespace": "kube-system",
                "labels": {**labels, "kubernetes.io/service-name": "kube-dns"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{**p, "port": port} for p in ports],
        },
    ]


def apply(client: KubeClient, manifests: list[KubeObject]) -> None:
    for manifest in manifests:
        client.apply(from_dict(manifest), field_manager=FIELD_MANAGER, force=True)
