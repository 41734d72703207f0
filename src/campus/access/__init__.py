"""Least-privilege access to the fleet: the identities and their RBAC, from the fleet file
(`model`, pure), applied to the cluster, and a kubeconfig with an expiring token for any
of them (`grant`)."""
