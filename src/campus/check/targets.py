"""What `campus check` asks, from an environment's objects as the cluster has them. Pure.

Every host and path of its Ingresses (or HTTPRoutes), sent where a browser's request
would arrive: the ingress controller's address when the Ingress has one, else (the
sandbox, or from inside the cluster) the backend Service's cluster address, which
kube-proxy carries to the pods. And every HTTP probe of every running pod, at the pod's
address with the probe's own headers, as the kubelet asks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from campus.kube.objects import KubeObject


@dataclass(frozen=True)
class Target:
    kind: str  # "route" or "probe"
    name: str  # the host and path, or pod/container probe
    url: str
    host: str  # the Host header

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def _port_of(service: KubeObject, wanted: Mapping[str, Any]) -> int | None:
    for port in service.get("spec", {}).get("ports", []):
        if "number" in wanted and port.get("port") == wanted["number"]:
            return int(port["port"])
        if "name" in wanted and port.get("name") == wanted["name"]:
            return int(port["port"])
    return None


def _entry(ingress: KubeObject) -> str | None:
    for point in ingress.get("status", {}).get("loadBalancer", {}).get("ingress") or []:
        address = point.get("ip") or point.get("hostname")
        if address:
            return str(address)
    return None


def route_targets(ingresses: Iterable[KubeObject], services: Iterable[KubeObject]) -> list[Target]:
    by_name = {s["metadata"]["name"]: s for s in services}
    targets = []
    for ingress in ingresses:
        entry = _entry(ingress)
        for rule in ingress.get("spec", {}).get("rules", []):
            host = rule.get("host", "")
            for path in rule.get("http", {}).get("paths", []):
                backend = path.get("backend", {}).get("service", {})
                service = by_name.get(backend.get("name", ""))
                prefix = path.get("path", "/")
                if entry is not None:
                    url = f"http://{entry}{prefix}"
                elif service is not None:
                    port = _port_of(service, backend.get("port", {}))
                    address = service.get("spec", {}).get("clusterIP")
                    if port is None or not address or address == "None":
                        continue
                    url = f"http://{address}:{port}{prefix}"
                else:
                    continue
                targets.append(Target("route", f"{host}{prefix}", url, host))
    return targets


def _container_port(container: Mapping[str, Any], port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    return int(port) if str(port).isdigit() else None


def probe_targets(pods: Iterable[KubeObject]) -> list[Target]:
    targets = []
    for pod in pods:
        address = pod.get("status", {}).get("podIP")
        if not address or pod.get("status", {}).get("phase") != "Running":
            continue
        for container in pod["spec"].get("containers", []):
            seen = set()
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                check = (container.get(kind) or {}).get("httpGet")
                if not check:
                    continue
                port = _container_port(container, check.get("port", 80))
                path = check.get("path", "/")
                if port is None or (port, path) in seen:
                    continue
                seen.add((port, path))
                headers = {h["name"].lower(): h["value"] for h in check.get("httpHeaders", [])}
                name = f"{pod['metadata']['name']}/{container['name']} {path}"
                url = f"http://{address}:{port}{path}"
                targets.append(Target("probe", name, url, headers.get("host", "")))
    return targets
