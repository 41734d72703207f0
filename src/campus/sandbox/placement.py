"""An environment placed on the sandbox's real nodes (`cluster.real_nodes` in the fleet
file): its hardened objects, changed only in what a real node needs. Pure.

Every pod tolerates and selects the real nodes, and names an image built here
(`campus.sandbox.images`), never pulled: the same software where Debian has it (Redis,
Caddy, MariaDB standing in for MySQL), and the Open edX stand-in, a tiny server on the
container's own port, for everything else (lms, cms, workers, the MFE, plugins' services,
and MongoDB, Meilisearch, SMTP, Elasticsearch, which Debian does not package). The
hardening is kept as it is (user, read-only root, capabilities, probes, policies): that
is what the real nodes are there to prove. Three things change, each marked on the pod:
requests are capped (the machine's two cores hold a whole environment), a spread that
would leave replicas pending on one node is relaxed, and a Job on the stand-in reports
the command the real image would have run instead of running it.

And two NetworkPolicies are added (`machine_policies`): the sandbox runs its cluster DNS
and its API server on the machine itself, not in pods, each on a port of its own, where
kube-proxy sends the pods' packets to the kube-dns and kubernetes Services; the
environment's egress policies admit the cluster DNS pods of a real cluster and the fleet's
`cluster.api_server_cidrs`, neither of which is there. These admit the machine's address
on exactly those two ports: DNS for every pod, the API server for the pods labelled for it
(`campus.harden.api_access`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lightkube.utils.quantity import parse_quantity

from campus.kube.objects import KubeObject
from campus.labels import API_ACCESS
from campus.sandbox.node_config import REAL_NODE

STANDIN = "openedx-standin"
# The repository name of Tutor's images -> the sandbox image of the same software.
SAME_SOFTWARE = {
    "mysql": "mysql",
    "redis": "redis",
    "caddy": "caddy",
    "nginx-unprivileged": "nginx-unprivileged",  # campus's maintenance page
    "restic": "restic",  # backups
}
# What each real pod requests at most: the machine, not a cloud node, holds them all.
REQUEST_CAP = {"cpu": "10m", "memory": "32Mi"}
# The sandbox images (`campus.sandbox.images.SANDBOX_IMAGES`, a unit test keeps them equal).
IMAGES = {
    "mysql": "campus.local/sandbox/mariadb-standing-in-for-mysql:bookworm",
    "redis": "campus.local/sandbox/redis:bookworm",
    "caddy": "campus.local/sandbox/caddy:2.11.7",
    "nginx-unprivileged": "campus.local/sandbox/nginx-unprivileged:bookworm",
    "restic": "campus.local/sandbox/restic:bookworm",
    STANDIN: "campus.local/sandbox/openedx-standin:bookworm",
}
PLACED = "campus.openedx.org/sandbox-placement"
IMAGE_STOOD_IN = "campus.openedx.org/sandbox-image"
JOB_FLAG = "--job"


def repository(image: str) -> str:
    """`docker.io/overhangio/openedx:21.0.0` -> `openedx`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def sandbox_image_key(image: str) -> str:
    return SAME_SOFTWARE.get(repository(image), STANDIN)


def _template(obj: KubeObject) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        template: dict[str, Any] = obj["spec"]["template"]
        return template
    if obj["kind"] == "CronJob":
        cron: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]
        return cron
    return None


def _cap_requests(container: dict[str, Any]) -> None:
    requests = container.get("resources", {}).get("requests")
    for resource, cap in REQUEST_CAP.items():
        value = parse_quantity(str((requests or {}).get(resource, "0")))
        if value is not None and value > (parse_quantity(cap) or 0):
            requests[resource] = cap


def _stand_in(container: dict[str, Any], is_job: bool) -> None:
    """The stand-in on the container's first port, told the service it stands in for; a
    Job's container reports its command instead of running it."""
    ports = container.get("ports") or []
    env = [e for e in container.get("env", []) if e.get("name") not in ("PORT", "STANDIN_SERVICE")]
    if ports:
        env.append({"name": "PORT", "value": str(ports[0]["containerPort"])})
    env.append({"name": "STANDIN_SERVICE", "value": container["name"]})
    container["env"] = env
    if is_job:
        original = [*container.get("command", []), *container.get("args", [])]
        container.pop("command", None)
        container["args"] = [JOB_FLAG, *original]
    else:
        # The stand-in's entrypoint serves whatever the real image was told to run.
        container.pop("command", None)


def _place_pod(template: dict[str, Any], images: Mapping[str, str], is_job: bool) -> None:
    pod = template["spec"]
    pod.setdefault("nodeSelector", {})[REAL_NODE] = "true"
    tolerations = pod.setdefault("tolerations", [])
    tolerations.append({"key": REAL_NODE, "operator": "Exists", "effect": "NoSchedule"})
    for constraint in pod.get("topologySpreadConstraints", []):
        constraint["whenUnsatisfiable"] = "ScheduleAnyway"
    stood_in = []
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        key = sandbox_image_key(container["image"])
        if key == STANDIN:
            stood_in.append(f"{container['name']}={container['image']}")
            _stand_in(container, is_job)
        container["image"] = images[key]
        container["imagePullPolicy"] = "Never"
        _cap_requests(container)
    _own_claimed_volumes(pod, images)
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[PLACED] = "real-node"
    if stood_in:
        annotations[IMAGE_STOOD_IN] = "stand-in for " + ", ".join(stood_in)


def _own_claimed_volumes(pod: dict[str, Any], images: Mapping[str, str]) -> None:
    """The sandbox's volumes are host directories (the controller-manager's host-path
    provisioner), which the kubelet does not give to the pod's fsGroup as it does a
    cloud's disk: MySQL and Redis, which run as non-root users, could not write their
    data. One init container, root with CHOWN and DAC_READ_SEARCH alone, gives each
    claimed volume to the pod's user and fsGroup first; a real cluster needs none of this."""
    context = pod.get("securityContext") or {}
    group = context.get("fsGroup")
    claimed = {
        volume["name"] for volume in pod.get("volumes", []) if "persistentVolumeClaim" in volume
    }
    if group is None or not claimed:
        return
    mounts = [
        {"name": mount["name"], "mountPath": f"/volumes/{mount['name']}"}
        for mount in {
            m["name"]: m
            for c in pod.get("containers", [])
            for m in c.get("volumeMounts", [])
            if m["name"] in claimed
        }.values()
    ]
    if not mounts:
        return
    user = context.get("runAsUser", group)
    paths = " ".join(mount["mountPath"] for mount in mounts)
    pod.setdefault("initContainers", []).insert(
        0,
        {
            "name": "sandbox-volume-owner",
            "image": images[STANDIN],
            "imagePullPolicy": "Never",
            "command": ["chown", "-R", f"{user}:{group}", *paths.split()],
            "volumeMounts": mounts,
            "resources": {
                "requests": {"cpu": "10m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "32Mi", "ephemeral-storage": "16Mi"},
            },
            "securityContext": {
                "runAsUser": 0,
                "runAsNonRoot": False,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_READ_SEARCH"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        },
    )


def place(objects: list[KubeObject], images: Mapping[str, str] = IMAGES) -> list[KubeObject]:
    """Copies of `objects` whose pods run on the real nodes (`images`: sandbox image key
    -> reference)."""
    placed = []
    for obj in objects:
        template = _template(obj)
        if template is None:
            placed.append(obj)
            continue
        changed = copy.deepcopy(obj)
        target = _template(changed)
        assert target is not None
        _place_pod(target, images, is_job=obj["kind"] in ("Job", "CronJob"))
        placed.append(changed)
    return placed


@dataclass(frozen=True)
class MachineServices:
    """What the sandbox's real nodes run on the machine, outside the pod network, that
    their pods reach: the cluster DNS (CoreDNS) and the API server, at the machine's
    address, each on its own port."""

    address: str
    dns_port: int
    api_port: int


def _egress(namespace: str, name: str, pods: dict[str, Any], rule: KubeObject) -> KubeObject:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "annotations": {PLACED: "real-node"}},
        "spec": {"podSelector": pods, "policyTypes": ["Egress"], "egress": [rule]},
    }


def machine_policies(namespace: str, machine: MachineServices) -> list[KubeObject]:
    """The environment's way to the sandbox's cluster DNS and API server (see above)."""
    to = [{"ipBlock": {"cidr": f"{machine.address}/32"}}]
    dns = [{"protocol": protocol, "port": machine.dns_port} for protocol in ("UDP", "TCP")]
    api = [{"protocol": "TCP", "port": machine.api_port}]
    return [
        _egress(namespace, "sandbox-egress-dns", {}, {"to": to, "ports": dns}),
        _egress(
            namespace,
            "sandbox-egress-kubernetes-api",
            {"matchLabels": {API_ACCESS: "true"}},
            {"to": to, "ports": api},
        ),
    ]
