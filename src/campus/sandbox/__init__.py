"""The sandbox cluster: a real Kubernetes control plane whose nodes KWOK simulates."""

from campus.sandbox.paths import DEFAULT_NAME, kubeconfig_path

__all__ = ["DEFAULT_NAME", "kubeconfig_path"]
