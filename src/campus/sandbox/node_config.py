"""What a real node's processes are told: containerd's configuration, the kubelet's and
kube-proxy's, their kubeconfigs and the pod network's CNI configuration. Pure.

Every path is under the node's own directory, so that several real nodes (and several
sandboxes) share one machine without sharing state, and removing that directory leaves
nothing behind: containerd's root, state, socket and pod network namespaces, the
kubelet's root and pod logs, and the pods' cgroups under a cgroup of the node's own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from campus.kube.objects import KubeObject

# Taint and label of every real node: only what campus places there on purpose runs there
# (a KWOK node's pod never runs a process, and most of a fleet stays on those).
REAL_NODE = "campus.openedx.org/real-node"
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
RUNC = Path("/usr/sbin/runc")  # Debian's runc
PAUSE_IMAGE = "campus.local/sandbox/pause:v1"
CLUSTER_DOMAIN = "cluster.local"
RUN_ROOT = Path("/run/campus")


@dataclass(frozen=True)
class RealNode:
    sandbox: str
    name: str
    directory: Path
    address: str  # the machine's own address: the API server reaches the kubelet there
    kubelet_port: int
    healthz_port: int
    zone: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.sandbox}/{self.name}".encode()).hexdigest()[:8]

    @property
    def run_dir(self) -> Path:
        """containerd's sockets: a Unix socket's path holds at most 104 bytes, which a
        state directory under a long home directory would pass."""
        return RUN_ROOT / self.digest

    @property
    def socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def bridge(self) -> str:
        # Interface names hold at most 15 characters: a digest keeps them apart.
        return f"campus{self.digest}"

    @property
    def cgroup_root(self) -> str:
        return f"/campus-{self.sandbox}-{self.name}"

    @property
    def cni_conf_dir(self) -> Path:
        return self.directory / "cni"


def containerd_config(node: RealNode, runc: Path = RUNC) -> str:
    """containerd 2.x's configuration (version 3), as TOML."""
    base = node.directory / "containerd"
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return "\n".join(
        [
            "version = 3",
            f"root = {json.dumps(str(base / 'root'))}",
            f"state = {json.dumps(str(base / 'state'))}",
            "[grpc]",
            f"  address = {json.dumps(str(node.socket))}",
            "[ttrpc]",
            f"  address = {json.dumps(str(node.socket) + '.ttrpc')}",
            "[plugins.'io.containerd.internal.v1.opt']",
            f"  path = {json.dumps(str(base / 'opt'))}",
            "[plugins.'io.containerd.cri.v1.images']",
            "  snapshotter = 'overlayfs'",
            "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
            f"    sandbox = {json.dumps(PAUSE_IMAGE)}",
            f"[{cri_runtime}]",
            # Pod network namespaces under the node's own state, not /var/run/netns.
            "  netns_mounts_under_state_dir = true",
            # The kubelet asks for negative OOM scores (-998 for a pod's sandbox), which
            # take CAP_SYS_RESOURCE; a machine like this one, whose root lacks it, would
            # fail every pod. Clamped to containerd's own score, they start everywhere.
            "  restrict_oom_score_adj = true",
            f"  [{cri_runtime}.containerd]",
            "    default_runtime_name = 'runc'",
            f"    [{cri_runtime}.containerd.runtimes.runc]",
            "      runtime_type = 'io.containerd.runc.v2'",
            f"      [{cri_runtime}.containerd.runtimes.runc.options]",
            f"        BinaryName = {json.dumps(str(runc))}",
            f"        Root = {json.dumps(str(base / 'runc'))}",
            "        SystemdCgroup = false",
            f"  [{cri_runtime}.cni]",
            f"    bin_dirs = [{json.dumps(str(CNI_BIN_DIR))}]",
            f"    conf_dir = {json.dumps(str(node.cni_conf_dir))}",
            "",
        ]
    )


def cni_config(node: RealNode, pod_range: str, routed: tuple[str, ...]) -> KubeObject:
    """The pod network: one Linux bridge per node, addresses from the node's pod range.
    Pods get routes to `routed` (the Service range, the other nodes' pods, the API
    server's address) and no default route or masquerade: their traffic stays inside the
    machine."""
    return {
        "cniVersion": "1.0.0",
        "name": f"campus-{node.name}",
        "plugins": [
            {
                "type": "bridge",
                "bridge": node.bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(node.directory / "ipam"),
                    "ranges": [[{"subnet": pod_range}]],
                    "routes": [{"dst": destination} for destination in routed],
                },
            }
        ],
    }


def kubeconfig(server: str, ca: Path, certificate: Path, key: Path, user: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "sandbox", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {"name": user, "user": {"client-certificate": str(certificate), "client-key": str(key)}}
        ],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": user}}],
        "current-context": "sandbox",
    }


def kubelet_config(
    node: RealNode,
    ca: Path,
    serving: tuple[Path, Path],
    cluster_dns: str,
    lease_seconds: int,
    status_update_ms: int,
) -> KubeObject:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.address,
        "port": node.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": node.healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(serving[0]),
        "tlsPrivateKeyFile": str(serving[1]),
        # This machine's cgroups are v1 (docs/sandbox.md, "Real nodes"): the kubelet of
        # this release refuses them unless told otherwise.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "containerRuntimeEndpoint": f"unix://{node.socket}",
        "podLogsDir": str(node.directory / "pod-logs"),
        "clusterDNS": [cluster_dns],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(node.directory / "resolv.conf"),
        "failSwapOn": False,
        # No iptables chains of the kubelet's own: the machine's rules are kube-proxy's,
        # which removes its own when the sandbox stops.
        "makeIPTablesUtilChains": False,
        "registerWithTaints": [{"key": REAL_NODE, "value": "true", "effect": "NoSchedule"}],
        "nodeLeaseDurationSeconds": lease_seconds,
        "nodeStatusUpdateFrequency": f"{status_update_ms}ms",
        "nodeStatusReportFrequency": f"{status_update_ms}ms",
        # A shared machine's disk is not this node's alone: evict only when it is nearly
        # full, not at the default 10-15 % free.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%"},
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
    }


def kube_proxy_config(
    kubeconfig_file: Path, node_name: str, cluster_cidr: str, metrics_port: int, healthz_port: int
) -> KubeObject:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig_file)},
        "hostnameOverride": node_name,
        "mode": "iptables",
        "clusterCIDR": cluster_cidr,
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        # Leave the machine's conntrack table size alone: it is not this sandbox's.
        "conntrack": {"maxPerCore": 0},
    }
