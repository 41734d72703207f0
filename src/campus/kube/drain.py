"""Cordon, uncordon and evict: the calls a node drain makes to the API server.

An eviction is a request, not a deletion: the API server checks the pod's
PodDisruptionBudgets and answers 429 when a budget allows no disruption now (kubectl
drain retries it, every 5 s, until the budget allows it or its timeout). `evict` returns
that refusal as a value, since a drain expects it; every other failure is raised as the
`campus.kube.errors` type it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, Pod

from campus.kube.errors import NotFound, TooManyRequests
from campus.kube.objects import KubeObject


@dataclass(frozen=True)
class Eviction:
    """What the API server said to one eviction: done (or the pod was gone already), or
    refused for now with its reason (a PodDisruptionBudget allows no disruption)."""

    namespace: str
    pod: str
    blocked: str | None = None

    @property
    def done(self) -> bool:
        return self.blocked is None


def cordon(client: Client, node: str) -> None:
    """Mark the node unschedulable: what runs there stays, nothing new is placed."""
    client.patch(Node, node, {"spec": {"unschedulable": True}})


def uncordon(client: Client, node: str) -> None:
    client.patch(Node, node, {"spec": {"unschedulable": None}})


def pods_on(client: Client, node: str) -> list[KubeObject]:
    """Every pod bound to the node, in every namespace (one list call)."""
    return [
        pod.to_dict() for pod in client.list(Pod, namespace="*", fields={"spec.nodeName": node})
    ]


def evict(client: Client, namespace: str, pod: str) -> Eviction:
    """Ask the API server to evict one pod, honouring its PodDisruptionBudgets."""
    request = Pod.Eviction(metadata=ObjectMeta(name=pod, namespace=namespace))
    try:
        client.create(request, pod, namespace=namespace)
    except TooManyRequests as refusal:
        return Eviction(namespace, pod, blocked=refusal.reason)
    except NotFound:
        pass  # gone already: what an eviction wants
    return Eviction(namespace, pod)
