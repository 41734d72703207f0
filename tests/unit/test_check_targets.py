"""What `campus check` asks, from an environment's objects."""

from __future__ import annotations

from campus.check.targets import probe_targets, route_targets

SERVICE = {
    "metadata": {"name": "caddy"},
    "spec": {"clusterIP": "10.96.0.80", "ports": [{"name": "http", "port": 80}]},
}


def ingress(status: dict[str, object] | None = None) -> dict[str, object]:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "host": "learn.example.org",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "backend": {"service": {"name": "caddy", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ]
        },
        "status": status or {},
    }


def test_a_route_goes_to_the_ingress_address_when_it_has_one() -> None:
    [target] = route_targets(
        [ingress({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}})], [SERVICE]
    )
    assert (target.url, target.host) == ("http://203.0.113.7/", "learn.example.org")


def test_without_an_ingress_address_a_route_goes_to_the_backend_service() -> None:
    [target] = route_targets([ingress()], [SERVICE])
    assert (target.url, target.host, target.name) == (
        "http://10.96.0.80:80/",
        "learn.example.org",
        "learn.example.org/",
    )
    assert route_targets([ingress()], []) == []  # no such Service: nothing to send to


def pod(phase: str = "Running") -> dict[str, object]:
    probe = {
        "httpGet": {
            "path": "/heartbeat",
            "port": "http",
            "httpHeaders": [{"name": "Host", "value": "notes.example.org"}],
        }
    }
    return {
        "metadata": {"name": "notes-1"},
        "spec": {
            "containers": [
                {
                    "name": "notes",
                    "ports": [{"name": "http", "containerPort": 8120}],
                    "startupProbe": probe,
                    "readinessProbe": probe,
                    "livenessProbe": {"tcpSocket": {"port": 8120}},
                }
            ]
        },
        "status": {"phase": phase, "podIP": "10.128.2.9"},
    }


def test_each_http_probe_is_asked_once_at_the_pod_with_its_host() -> None:
    [target] = probe_targets([pod()])
    assert (target.url, target.host) == ("http://10.128.2.9:8120/heartbeat", "notes.example.org")
    assert probe_targets([pod("Pending")]) == []
