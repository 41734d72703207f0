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

import re
from pathlib import Path

from campus.kube.objects import KubeObject
from campus.sandbox import sandbox_objects
from campus.sandbox.node_config import CLUSTER_DOMAIN

IDENTITY = "system:campus-sandbox-dns"


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


def endpoint(corefile_text: str) -> tuple[str, int] | None:
    """The address and port CoreDNS listens on, in a Corefile `corefile` wrote."""
    bound = re.search(r"^\s*bind (\S+)$", corefile_text, re.MULTILINE)
    port = re.search(rf"^{re.escape(CLUSTER_DOMAIN)}:(\d+) ", corefile_text, re.MULTILINE)
    return (bound.group(1), int(port.group(1))) if bound and port else None


def objects(cluster_dns: str, address: str, port: int) -> list[KubeObject]:
    labels = {"k8s-app": "kube-dns", **sandbox_objects.LABELS}
    ports = [{"name": "dns", "protocol": "UDP"}, {"name": "dns-tcp", "protocol": "TCP"}]
    watch = ["list", "watch"]
    read = [
        {"apiGroups": [""], "resources": ["services", "namespaces", "pods"], "verbs": watch},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": watch},
    ]
    return [
        *sandbox_objects.cluster_role(IDENTITY, read, sandbox_objects.user(IDENTITY), labels),
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
