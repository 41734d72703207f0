"""The sandbox cluster: a real Kubernetes control plane whose nodes KWOK simulates."""

from campus.sandbox.paths import kubeconfig_path

__all__ = ["kubeconfig_path"]
