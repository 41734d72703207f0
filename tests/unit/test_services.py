"""The service catalogue: known entries, the fallback for unknown services, overrides from
the fleet file, routes from Tutor's Caddyfile, and what hardening makes of them."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from campus.deploy.phases import Phase, plan_phases
from campus.fleet.load import load_fleet
from campus.fleet.model import ServiceOverride
from campus.harden import harden_all
from campus.labels import PHASE, SERVICE_KIND, STATELESS
from campus.lint import lint, notes, schema_violations
from campus.render import render_fleet
from campus.render.model import RenderedEnvironment
from campus.services import Facts, Kind, catalogue_for, public_sites, read
from campus.services import Phase as ServicePhase
from campus.services.routes import sites

Objects = list[dict[str, Any]]


def hardened(rendered: RenderedEnvironment) -> Objects:
    objects, jobs = harden_all(rendered)
    return objects + jobs


def by_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def with_environment(rendered: RenderedEnvironment, **update: Any) -> RenderedEnvironment:
    return dataclasses.replace(rendered, environment=rendered.environment.model_copy(update=update))


def with_service(rendered: RenderedEnvironment, name: str, volume: bool) -> RenderedEnvironment:
    """The environment with one more Deployment, as an unknown plugin would add it."""
    objects = copy.deepcopy(rendered.objects)
    template = copy.deepcopy(by_kind(objects, "Deployment")["smtp"])
    template["metadata"]["name"] = name
    for labels in (
        template["metadata"]["labels"],
        template["spec"]["selector"]["matchLabels"],
        template["spec"]["template"]["metadata"]["labels"],
    ):
        labels["app.kubernetes.io/name"] = name
    pod = template["spec"]["template"]["spec"]
    pod["containers"][0]["name"] = name
    pod["containers"][0]["ports"] = [{"containerPort": 8123}]
    if volume:
        pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]
    return dataclasses.replace(rendered, objects=[*objects, template])


def test_caddyfile_sites_are_the_public_hosts_with_their_upstreams() -> None:
    text = """{
    servers { trusted_proxies static 0.0.0.0/0 }
}
(proxy) {
    reverse_proxy {args.0}
}
# a comment {
learn.example.org{$default_site_port} {
    handle_path /x/* {
        request_body { max_size 1MB }
    }
    import proxy "lms:8000"
}
files.learn.example.org{$default_site_port}, minio.learn.example.org {
    import proxy "minio:9000"
}
:8002 {
    reverse_proxy lms:8000
}
"""
    found = {site.host: site.upstreams for site in sites(text)}
    assert found == {
        "learn.example.org": (("lms", 8000),),
        "files.learn.example.org": (("minio", 9000),),
        "minio.learn.example.org": (("minio", 9000),),
    }


def test_every_site_tutor_serves_is_routed_in_ingress_and_gateway_modes_and_lint_checks_it(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    for rendered in rendered_example.values():
        served = {site.host for site in public_sites(rendered.objects)}
        lms = rendered.environment.hosts.lms
        assert f"meilisearch.{lms}" in served and lms in served
        ingress = by_kind(hardened(rendered), "Ingress")["openedx"]
        assert {rule["host"] for rule in ingress["spec"]["rules"]} == served
        assert set(ingress["spec"]["tls"][0]["hosts"]) == served
        gateway = with_environment(rendered, ingress_mode="gateway", gateway="edge/public")
        objects = hardened(gateway)
        assert not by_kind(objects, "Ingress")
        route = by_kind(objects, "HTTPRoute")["openedx"]
        assert set(route["spec"]["hostnames"]) == served
        [parent] = route["spec"]["parentRefs"]
        assert (parent["kind"], parent["name"], parent["namespace"]) == (
            "Gateway",
            "public",
            "edge",
        )
        [backend] = route["spec"]["rules"][0]["backendRefs"]
        assert (backend["kind"], backend["name"], backend["port"]) == ("Service", "caddy", 80)
        assert lint(gateway, objects) == []
        # Lint refuses a public site without a route, naming it and where Caddy sends it.
        search = f"meilisearch.{lms}"
        route["spec"]["hostnames"].remove(search)
        [refused] = lint(gateway, objects)
        assert refused.rule == "entry" and search in refused.message
        assert "meilisearch:7700" in refused.message


def test_production_gives_every_stateless_service_replicas_a_budget_and_required_spread(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-prod"]
    objects = hardened(rendered)
    scalers = by_kind(objects, "HorizontalPodAutoscaler")
    budgets = by_kind(objects, "PodDisruptionBudget")
    services = catalogue_for(rendered.objects)
    replicated = set()
    for name, deployment in by_kind(objects, "Deployment").items():
        if not services.replicable(name):
            assert deployment["spec"]["replicas"] == 1, name
            continue
        replicated.add(name)
        floor = scalers[name]["spec"]["minReplicas"] if name in scalers else None
        assert (floor or deployment["spec"]["replicas"]) >= 2, name
        assert name in budgets, name
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert spread[0]["whenUnsatisfiable"] == "DoNotSchedule", name
        # Zones preferred: the zone-failure drill run both ways (docs/drill.md).
        zone = spread[1]
        assert zone["topologyKey"] == "topology.kubernetes.io/zone", name
        assert zone["whenUnsatisfiable"] == "ScheduleAnyway", name
    assert {"lms", "cms", "lms-worker", "cms-worker", "caddy", "mfe", "smtp"} <= replicated
    development = by_kind(hardened(rendered_example["acme-dev"]), "Deployment")["lms"]
    soft = development["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["whenUnsatisfiable"] for c in soft} == {"ScheduleAnyway"}


def test_an_unknown_service_is_classified_from_what_tutor_renders_and_lint_names_it(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    production = rendered_example["acme-prod"]
    stateless = with_service(production, "widget", volume=False)
    service = catalogue_for(stateless.objects).get("widget")
    assert (service.kind, service.port, service.stateless) == (Kind.WEB, 8123, True)
    assert notes(stateless) == [
        "service widget: not in the catalogue, serves port 8123 (internal) with no volume, "
        "so stateless web; set services.widget in the fleet file to decide"
    ]
    objects = hardened(stateless)
    assert by_kind(objects, "Deployment")["widget"]["spec"]["replicas"] == 2
    # The live objects say what the fallback decided: drills, drains and status read it.
    assert read(by_kind(objects, "Deployment")["widget"]) == Facts(Kind.WEB, True)
    assert read(live_pod(by_kind(objects, "Deployment")["widget"])) == Facts(Kind.WEB, True)
    assert "widget" in by_kind(objects, "PodDisruptionBudget")
    probes = by_kind(objects, "Deployment")["widget"]["spec"]["template"]["spec"]["containers"][0]
    assert probes["readinessProbe"]["tcpSocket"] == {"port": 8123}
    assert lint(stateless, objects) == []

    stateful = with_service(production, "widget", volume=True)
    assert catalogue_for(stateful.objects).get("widget").kind is Kind.DATA
    objects = hardened(stateful)
    assert by_kind(objects, "Deployment")["widget"]["spec"]["replicas"] == 1
    facts = read(by_kind(objects, "Deployment")["widget"])
    assert facts == Facts(Kind.DATA, False, ServicePhase.BACKING) and facts.data
    assert "widget" not in by_kind(objects, "PodDisruptionBudget")
    backing = next(p for p in plan_phases(objects, []) if p.phase is Phase.BACKING)
    assert "widget" in {o["metadata"]["name"] for o in backing.objects}


def test_the_fleet_file_overrides_a_catalogue_entry(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = with_environment(
        rendered_example["acme-prod"],
        services={
            "smtp": ServiceOverride(stateless=False),
            "mfe": ServiceOverride(phase="backing"),
        },
    )
    objects = hardened(rendered)
    assert by_kind(objects, "Deployment")["smtp"]["spec"]["replicas"] == 1
    assert "smtp" not in by_kind(objects, "PodDisruptionBudget")
    services = catalogue_for(rendered.objects, rendered.environment.services)
    assert services.get("smtp").source == "fleet file"
    # Deploy sees only the objects: the phase travels with the Deployment.
    backing = next(p for p in plan_phases(objects, []) if p.phase is Phase.BACKING)
    assert "mfe" in {o["metadata"]["name"] for o in backing.objects}
    assert by_kind(objects, "Deployment")["mfe"]["metadata"]["annotations"][PHASE] == "backing"
    # The override travels too: smtp is no longer one a lost node must not take down.
    assert read(by_kind(objects, "Deployment")["smtp"]) == Facts(
        Kind.WEB, False, ServicePhase.BACKING
    )
    assert not read(live_pod(by_kind(objects, "Deployment")["smtp"])).replicable
    assert lint(rendered, objects) == []
    del by_kind(objects, "Deployment")["smtp"]["metadata"]["annotations"][STATELESS]
    [stale] = lint(rendered, objects)
    assert stale.rule == "facts" and STATELESS in stale.message


def test_a_workload_without_facts_is_read_by_its_known_name() -> None:
    old = {"kind": "Deployment", "metadata": {"name": "mysql", "labels": {}}}
    assert read(old) == Facts(Kind.DATA, False, ServicePhase.BACKING)
    assert read({"metadata": {"name": "lms"}}).replicable
    garbled = {"metadata": {"name": "lms", "annotations": {SERVICE_KIND: "nonsense"}}}
    assert read(garbled) == Facts(Kind.WEB, True)


def live_pod(workload: dict[str, Any]) -> dict[str, Any]:
    """A pod as its controller creates it: the template's labels and annotations."""
    return {"kind": "Pod", "metadata": copy.deepcopy(workload["spec"]["template"]["metadata"])}


def test_gateway_routes_skip_the_core_schema_which_does_not_know_them() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "openedx", "namespace": "x"},
        "spec": {"hostnames": ["a.example.org"]},
    }
    assert schema_violations([route]) == []


def test_external_data_services_render_no_deployment_volume_or_wait(tmp_path: Path) -> None:
    external = ("mysql", "mongodb", "redis", "meilisearch")
    fleet_file = tmp_path / "fleet.yml"
    settings = ", ".join(f"RUN_{name.upper()}: false" for name in external)
    fleet_file.write_text(
        "environments:\n"
        "  ext:\n"
        "    hosts: {lms: learn.ext.example.org}\n"
        "    production: true\n"
        f"    tutor: {{{settings}}}\n"
    )
    [rendered] = render_fleet(load_fleet(fleet_file), state_dir=tmp_path / "state")
    objects, jobs = harden_all(rendered)
    assert lint(rendered, objects + jobs) == []
    for kind in ("Deployment", "PersistentVolumeClaim", "Service"):
        assert not set(external) & set(by_kind(objects, kind)), kind
    phases = {
        p.phase: {o["metadata"]["name"] for o in p.objects} for p in plan_phases(objects, jobs)
    }
    assert phases[Phase.BACKING] == {"smtp"}
    assert {"lms", "cms"} <= phases[Phase.APPLICATIONS]


PLUGIN_FLEET = Path(__file__).parents[1] / "fleets" / "plugins.yml"


def test_the_plugin_matrix_renders_lints_and_routes_every_site(tmp_path: Path) -> None:
    """Community plugins from PyPI (the test extras): every service they add is in the
    catalogue, every site they serve is routed (Ingress and HTTPRoute), production
    replicates every stateless one and keeps data and the hub single."""
    environments = render_fleet(load_fleet(PLUGIN_FLEET), state_dir=tmp_path / "state")
    for rendered in environments:
        objects = hardened(rendered)
        assert lint(rendered, objects) == [], rendered.environment.name
        assert notes(rendered) == []
        served = {site.host for site in public_sites(rendered.objects)}
        lms = rendered.environment.hosts.lms
        for prefix in ("files", "minio", "notes", "xqueue", "credentials", "discovery"):
            assert f"{prefix}.{lms}" in served
        assert f"jupyter.{lms}" in served and f"meilisearch.{lms}" in served
        ingress = by_kind(objects, "Ingress").get("openedx")
        route = by_kind(objects, "HTTPRoute").get("openedx")
        if rendered.environment.ingress_mode == "ingress":
            assert ingress and not route
            assert {rule["host"] for rule in ingress["spec"]["rules"]} == served
        else:
            assert route and not ingress
            assert set(route["spec"]["hostnames"]) == served
    production = hardened(next(r for r in environments if r.environment.production))
    deployments = by_kind(production, "Deployment")
    budgets = by_kind(production, "PodDisruptionBudget")
    for name in ("notes", "xqueue", "credentials", "discovery", "smtp", "mfe"):
        assert deployments[name]["spec"]["replicas"] == 2 and name in budgets, name
    for single in ("minio", "elasticsearch", "jupyterhub", "mysql"):
        assert deployments[single]["spec"]["replicas"] == 1, single
