"""Judging whether the operator's shared Gateway will carry an environment's routes."""

from __future__ import annotations

from typing import Any

from campus.deploy.gateway import GatewayRef, gateway_problems, hostname_matches, route_refusals

EDGE = GatewayRef("edge", "public")
HOSTS = ["learn.acme.org", "studio.learn.acme.org"]
ISSUER = "cert-manager.io/cluster-issuer: letsencrypt"


def gateway(*listeners: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Gateway",
        "metadata": {"name": "public", "namespace": "edge"},
        "spec": {"listeners": list(listeners)},
    }


def listener(protocol: str = "HTTP", hostname: str | None = None, **allowed: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": "l", "port": 80, "protocol": protocol}
    if hostname:
        found["hostname"] = hostname
    if allowed:
        found["allowedRoutes"] = {"namespaces": allowed}
    if protocol == "HTTPS":
        found["tls"] = {"certificateRefs": [{"name": "acme-tls"}]}
    return found


def problems(obj: dict[str, Any] | None, issuer: str | None = None) -> list[str]:
    return gateway_problems(obj, EDGE, "acme", {"team": "acme"}, HOSTS, issuer)


def test_hostnames_match_like_the_gateway_api() -> None:
    assert hostname_matches(None, "a.b.c")
    assert hostname_matches("*.b.c", "a.b.c") and hostname_matches("*.b.c", "x.a.b.c")
    assert not hostname_matches("*.b.c", "b.c")
    assert hostname_matches("a.b.c", "a.b.c") and not hostname_matches("a.b.c", "x.b.c")


def test_a_missing_gateway_is_named_with_the_listeners_to_add() -> None:
    [problem] = problems(None, ISSUER)
    assert problem.startswith("Gateway edge/public does not exist")
    assert "hostname: studio.learn.acme.org, port: 443, protocol: HTTPS" in problem
    assert "certificateRefs: [{name: acme-tls}]" in problem
    assert ISSUER in problem


def test_a_listener_must_admit_routes_from_the_namespace_for_every_host() -> None:
    # By default a listener takes routes from the Gateway's own namespace only.
    [same] = problems(gateway(listener()))
    assert "admits HTTPRoutes from namespace acme for learn.acme.org, studio" in same
    assert problems(gateway(listener(**{"from": "All"}))) == []
    selected = {"from": "Selector", "selector": {"matchLabels": {"team": "acme"}}}
    assert problems(gateway(listener(**selected))) == []
    other = {"from": "Selector", "selector": {"matchLabels": {"team": "globex"}}}
    assert problems(gateway(listener(**other)))
    # A hostname that covers one host leaves the other unrouted, by name.
    [partial] = problems(gateway(listener(hostname="learn.acme.org", **{"from": "All"})))
    assert "for studio.learn.acme.org (" in partial
    tcp = {**listener(**{"from": "All"}), "protocol": "TCP"}
    assert problems(gateway(tcp))


def test_tls_needs_an_https_listener_with_a_certificate_for_every_host() -> None:
    every = {"from": "All"}
    [bare] = problems(gateway(listener(**every)), ISSUER)
    assert "tls is set but no HTTPS listener" in bare and "learn.acme.org" in bare
    https = gateway(listener("HTTPS", "*.learn.acme.org", **every), listener(**every))
    [one] = problems(https, ISSUER)
    assert "covers learn.acme.org;" in one
    both = gateway(
        listener("HTTPS", "*.learn.acme.org", **every), listener("HTTPS", "learn.acme.org", **every)
    )
    assert problems(both, ISSUER) == []


def test_a_route_the_gateway_refused_says_why() -> None:
    route: dict[str, Any] = {
        "metadata": {"name": "openedx", "namespace": "acme"},
        "status": {
            "parents": [
                {
                    "parentRef": {"name": "public", "namespace": "edge"},
                    "conditions": [
                        {
                            "type": "Accepted",
                            "status": "False",
                            "reason": "NotAllowedByListeners",
                            "message": "no listener allows this namespace",
                        },
                        {"type": "ResolvedRefs", "status": "True"},
                    ],
                },
                {
                    "parentRef": {"name": "other"},
                    "conditions": [{"type": "Accepted", "status": "False", "reason": "X"}],
                },
            ]
        },
    }
    [refusal] = route_refusals(route, EDGE)
    assert "Accepted False, NotAllowedByListeners: no listener allows this namespace" in refusal
    assert route_refusals({**route, "status": {}}, EDGE) == []
