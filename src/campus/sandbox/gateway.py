"""The Gateway API's CRDs in every sandbox, from the pinned `sigs.k8s.io/gateway-api` Go
module, so the API server validates the HTTPRoutes of `ingress.mode: gateway` as a real
cluster with a Gateway implementation would (no Gateway controller runs: routes are
stored and validated, never served)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from ruamel.yaml import YAML

from campus.kube.objects import conditions_of
from campus.sandbox.build import BuildError, download_module
from campus.sandbox.versions import GATEWAY_API, GATEWAY_API_SUM

MODULE = "sigs.k8s.io/gateway-api"
CRD_DIRECTORY = Path("config") / "crd" / "standard"
FIELD_MANAGER = "campus-sandbox"


def module_directory(progress: Callable[[str], None] = lambda message: None) -> Path:
    """The pinned module's source, downloaded once into the sandbox's Go module cache."""
    progress(f"fetching the Gateway API CRDs ({MODULE} {GATEWAY_API})")
    return download_module(MODULE, GATEWAY_API, GATEWAY_API_SUM)


def crds(directory: Path) -> list[dict[str, Any]]:
    """The standard channel's CustomResourceDefinitions of the module."""
    yaml = YAML(typ="safe")
    found = []
    for path in sorted((directory / CRD_DIRECTORY).glob("*.yaml")):
        found += [doc for doc in yaml.load_all(path.read_text()) if doc]
    return [doc for doc in found if doc.get("kind") == "CustomResourceDefinition"]


def install(
    client: Client, progress: Callable[[str], None] = lambda message: None, timeout: float = 60
) -> list[str]:
    """Apply the CRDs and wait until the API server serves each; their names."""
    names = []
    for crd in crds(module_directory(progress)):
        client.apply(from_dict(crd), field_manager=FIELD_MANAGER, force=True)
        names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            established = conditions_of(client.get(CustomResourceDefinition, name).to_dict())
            if (established.get("Established") or {}).get("status") == "True":
                break
            if time.monotonic() > deadline:
                raise BuildError(f"the CRD {name} was not established after {timeout:.0f}s")
            time.sleep(0.5)
    return names
