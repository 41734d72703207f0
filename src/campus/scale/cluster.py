"""What scaling reads from and hands to the cluster: the room left for an environment, and
a Deployment's replica count handed over to its new autoscaler."""

from __future__ import annotations

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType

from campus.kube.errors import ApiFailure, Forbidden, NotFound
from campus.scale.capacity import Room, room_for

# Holds `spec.replicas` between campus letting go of it and the HPA first writing it.
HANDOVER_MANAGER = "campus-handover-to-hpa"


def read_room(client: Client, namespace: str) -> Room | None:
    """The cluster's room for `namespace`; None when these credentials may not list nodes
    or pods cluster-wide (a namespace-scoped operator), so the check is skipped."""
    try:
        nodes = [node.to_dict() for node in client.list(Node)]
        pods = [pod.to_dict() for pod in client.list(Pod, namespace="*")]
    except Forbidden:
        return None
    except ApiFailure as error:
        raise error.saying(f"cannot read nodes and pods: {error.reason}") from None
    return room_for(namespace, nodes, pods)


def hand_replicas_to_autoscaler(client: Client, namespace: str, name: str) -> int | None:
    """Keep a Deployment's live count while campus stops setting it.

    Server-side apply removes a field its only manager stops applying: a Deployment whose
    manifest drops `replicas` for a new HPA would fall to the default of 1 until the HPA
    next acts. Applying the live count first under a second manager keeps it (the
    Kubernetes documentation's "transferring ownership"). Returns the count kept."""
    try:
        live = client.get(Deployment, name, namespace=namespace)
    except NotFound:
        return None  # not deployed yet: the HPA creates the count from its minimum
    except ApiFailure as error:
        raise error.saying(f"cannot read Deployment {namespace}/{name}: {error.reason}") from None
    count = live.spec.replicas if live.spec else None
    if count is None:
        return None
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": count},
    }
    try:
        # A partial object (no selector, no template): a raw apply patch, not a typed model.
        client.patch(
            Deployment,
            name,
            patch,
            namespace=namespace,
            patch_type=PatchType.APPLY,
            field_manager=HANDOVER_MANAGER,
        )
    except ApiFailure as error:
        raise error.saying(
            f"cannot hand Deployment {namespace}/{name} to its autoscaler: {error.reason}"
        ) from None
    return count
