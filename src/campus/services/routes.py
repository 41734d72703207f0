"""The public sites Tutor serves, read from the Caddyfile it renders. Pure.

Tutor's Caddy is the one place where Tutor and every plugin declare a public site (the
`caddyfile` patch): a site block per host, proxying to a service and port. Routes are
built from these blocks, never from a fixed list of host settings, so a plugin's site
(files., notes., meilisearch. ...) is routed as soon as the plugin is enabled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from campus.kube.objects import KubeObject

CADDY_CONFIG = "caddy-config"  # Tutor's configMapGenerator for env/apps/caddy/Caddyfile
CADDYFILE = "Caddyfile"

# A top-level site block: its addresses up to the opening brace, at the start of a line.
_SITE = re.compile(r"^(?P<addresses>[^\s#{(][^\n]*?)\s*\{\s*$", re.MULTILINE)
_UPSTREAM = re.compile(
    r"""(?:import\s+proxy\s+"?|reverse_proxy\s+)(?P<service>[a-z0-9-]+):(?P<port>\d+)"""
)
_PLACEHOLDER = re.compile(r"\{\$?[^}]*\}")


@dataclass(frozen=True)
class Site:
    """One public host Caddy serves, and the services (name, port) it proxies to."""

    host: str
    upstreams: tuple[tuple[str, int], ...]


def _blocks(text: str) -> Iterable[tuple[str, str]]:
    """(addresses, body) of each top-level block, by counting braces."""
    position = 0
    while match := _SITE.search(text, position):
        depth, index = 1, match.end()
        while depth and index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        yield match.group("addresses"), text[match.end() : index]
        position = index


def sites(caddyfile: str) -> list[Site]:
    """Every named host of the Caddyfile: snippets `(name)`, the global block and
    port-only addresses (`:8002`) are not public sites."""
    found = []
    for addresses, body in _blocks(caddyfile):
        upstreams = tuple(
            dict.fromkeys((m["service"], int(m["port"])) for m in _UPSTREAM.finditer(body))
        )
        for address in re.split(r"[,\s]+", addresses):
            host = _PLACEHOLDER.sub("", address).removeprefix("https://").removeprefix("http://")
            host = host.split(":")[0]
            if host and not address.startswith(("(", ":")):
                found.append(Site(host, upstreams))
    return found


def caddyfile_of(objects: Iterable[KubeObject]) -> str | None:
    for obj in objects:
        name = str(obj.get("metadata", {}).get("name", ""))
        if obj.get("kind") == "ConfigMap" and (
            name == CADDY_CONFIG or name.startswith(CADDY_CONFIG + "-")
        ):
            data = obj.get("data") or {}
            if CADDYFILE in data:
                return str(data[CADDYFILE])
    return None


def public_sites(objects: Iterable[KubeObject]) -> list[Site]:
    """The sites the environment's Caddy serves (none when Tutor renders no Caddy)."""
    text = caddyfile_of(objects)
    return sites(text) if text is not None else []
