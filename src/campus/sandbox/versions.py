"""Every version the sandbox builds, in one place. The go.mod files under tools/ pin the
same versions (a unit test keeps them in step); bump both together."""

from __future__ import annotations

from dataclasses import dataclass

KUBERNETES = "v1.36.3"
ETCD = "v3.6.16"
KWOK = "v0.8.0"
METRICS_SERVER = "v0.8.0"
CONTAINERD = "v2.4.2"
COREDNS = "v1.15.0"
# Tutor's own Caddy release (DOCKER_IMAGE_CADDY); Debian's 2.6 cannot read its Caddyfile.
CADDY = "v2.11.7"
# The only release the Go proxy serves; its advisory (GHSA-phqm-jgc3-qf8g) is in the
# service proxy, which the sandbox does not run (docs/sandbox.md).
KUBE_ROUTER = "v2.1.0"
# The real nodes' ingress controller. The newest release the Go proxy serves whose
# dependencies it serves too (3.7's DNS providers for ACME are not all there).
TRAEFIK = "v3.6.12"
TRAEFIK_SUM = "h1:6pe4s7aaDTQs+AsF7KP3sM/xnq7zOVvibRQe5tw9eFo="
# The sandbox's S3-compatible store for backups (`campus.sandbox.object_store`): an S3
# gateway over a plain directory, one small binary.
VERSITYGW = "v1.8.0"
GO_MINIMUM = (1, 26)
# Gateway API: its CRDs (config/crd/standard) come from the Go module, checked against
# this go.sum hash (the checksum database vouches for it too).
GATEWAY_API = "v1.4.0"
GATEWAY_API_SUM = "h1:ZwlNM6zOHq0h3WUX2gfByPs2yAEsy/EenYJB78jpQfQ="


@dataclass(frozen=True)
class Component:
    """One Go tools module under tools/ and the binaries built from it."""

    module_dir: str
    version: str
    packages: dict[str, str]  # binary name -> Go package
    version_flags: tuple[str, ...] = ()
    # Built in this module's own source (its go.mod, go.sum and replace directives), checked
    # against this go.sum hash, instead of from a tools/ module that requires it.
    source_module: str = ""
    source_sum: str = ""


def _kubernetes_flags() -> tuple[str, ...]:
    # Without these the binaries call themselves v0.0.0-master, and kubectl and the
    # API server's /version would not say which release the sandbox runs.
    major, minor = KUBERNETES.removeprefix("v").split(".")[:2]
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return tuple(flags)


COMPONENTS = (
    Component(
        "kubernetes",
        KUBERNETES,
        {
            name: f"k8s.io/kubernetes/cmd/{name}"
            for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        },
        _kubernetes_flags(),
    ),
    Component("etcd", ETCD, {"etcd": "go.etcd.io/etcd/server/v3"}),
    Component(
        "kwok",
        KWOK,
        {"kwok": "sigs.k8s.io/kwok/cmd/kwok", "kwokctl": "sigs.k8s.io/kwok/cmd/kwokctl"},
    ),
    Component(
        "metrics-server",
        METRICS_SERVER,
        {"metrics-server": "sigs.k8s.io/metrics-server/cmd/metrics-server"},
    ),
)

# A real node's own binaries (`campus sandbox up --real-nodes`), built only when one is
# asked for, into a cache of their own so that the control plane's stays warm. The kubelet
# and kube-proxy are the control plane's release. containerd is 2.x: the kubelet of this
# release no longer talks to 1.x (Debian's is 1.6).
NODE_COMPONENTS = (
    Component(
        "kubelet",
        KUBERNETES,
        {name: f"k8s.io/kubernetes/cmd/{name}" for name in ("kubelet", "kube-proxy")},
        _kubernetes_flags(),
    ),
    Component(
        "containerd",
        CONTAINERD,
        {
            name: f"github.com/containerd/containerd/v2/cmd/{name}"
            for name in ("containerd", "containerd-shim-runc-v2", "ctr")
        },
        (
            f"-X github.com/containerd/containerd/v2/version.Version={CONTAINERD}",
            "-X github.com/containerd/containerd/v2/version.Package=campus.local/containerd",
        ),
    ),
    # The real nodes' cluster DNS (`campus.sandbox.cluster_dns`).
    Component("coredns", COREDNS, {"coredns": "github.com/coredns/coredns"}),
    # The real nodes' NetworkPolicy engine (`campus.sandbox.policy_engine`): kube-router's
    # firewall only.
    Component(
        "kube-router",
        KUBE_ROUTER,
        {"kube-router": "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"},
        (
            f"-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version={KUBE_ROUTER}",
            "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=campus",
        ),
    ),
    Component("caddy", CADDY, {"caddy": "github.com/caddyserver/caddy/v2/cmd/caddy"}),
    # The real nodes' ingress controller (`campus.sandbox.ingress_controller`).
    Component(
        "traefik",
        TRAEFIK,
        {"traefik": "./cmd/traefik"},
        (f"-X github.com/traefik/traefik/v3/pkg/version.Version={TRAEFIK}",),
        source_module="github.com/traefik/traefik/v3",
        source_sum=TRAEFIK_SUM,
    ),
    # The backup store (`campus.sandbox.object_store`).
    Component(
        "versitygw",
        VERSITYGW,
        {"versitygw": "github.com/versity/versitygw/cmd/versitygw"},
        (f"-X main.Version={VERSITYGW}", "-X main.Build=campus"),
    ),
    # The pod sandbox ("pause") process of every real pod: campus's own few lines, since
    # the usual image (registry.k8s.io/pause) cannot be pulled here.
    Component("pause", "v1", {"pause": "campus.local/tools/pause"}),
)
