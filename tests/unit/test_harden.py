"""Each hardening rule: Tutor's raw output breaks it, hardened output keeps it."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import re
from typing import Any

import pytest

from campus.fleet.backup import BackupSpec, resolved
from campus.harden import RULES, harden_all
from campus.kube.resources import memory_bytes
from campus.lint import SCHEMA_VERSION, lint, schema_violations
from campus.render.model import RenderedEnvironment
from campus.services import classify


def raw(rendered: RenderedEnvironment) -> list[dict[str, Any]]:
    return copy.deepcopy(rendered.objects) + [copy.deepcopy(t.job) for t in rendered.init_tasks]


def hardened(rendered: RenderedEnvironment) -> list[dict[str, Any]]:
    objects, jobs = harden_all(rendered)
    return objects + jobs


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_tutor_output_breaks_each_rule_and_hardening_fixes_it(
    rule: Any, rendered_example: dict[str, RenderedEnvironment]
) -> None:
    production = rendered_example["acme-prod"]
    if rule.name == "backup":  # a rule for environments that ask for backups
        production = with_backups(production)
    assert rule.check(production, raw(production)), f"{rule.name}: raw Tutor output should fail"
    for rendered in [*rendered_example.values(), with_backups(production)]:
        assert rule.check(rendered, hardened(rendered)) == []


def test_every_object_is_valid_against_the_kubernetes_schema(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    for rendered in rendered_example.values():
        assert lint(rendered, hardened(rendered)) == []


def test_no_secret_value_appears_outside_a_secret(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    for rendered in rendered_example.values():
        assert len(rendered.secret_values) > 10
        text_outside = json.dumps([o for o in hardened(rendered) if o["kind"] != "Secret"])
        leaked = [s for s in rendered.secret_values if s in text_outside]
        assert leaked == []
        # and Tutor's own output does leak them, so the check above can fail
        raw_text = json.dumps([o for o in raw(rendered) if o["kind"] != "Secret"])
        assert any(s in raw_text for s in rendered.secret_values)


def with_environment(rendered: RenderedEnvironment, **update: Any) -> RenderedEnvironment:
    """The rendered environment with some of its fleet settings changed."""
    return dataclasses.replace(rendered, environment=rendered.environment.model_copy(update=update))


def with_backups(rendered: RenderedEnvironment) -> RenderedEnvironment:
    """The environment backed up to an in-cluster store (docs/backups.md)."""
    store = {"repository": "s3:http://s3.store.svc:7070/campus", "secret": "store/keys"}
    spec = BackupSpec.model_validate({"store": {**store, "namespace": "store"}})
    return with_environment(rendered, backup=resolved(spec))


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_production_gets_hpa_pdb_and_required_spread(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    objects = hardened(rendered_example["acme-prod"])
    hpas, pdbs = (
        by_kind(objects, "HorizontalPodAutoscaler"),
        by_kind(objects, "PodDisruptionBudget"),
    )
    assert hpas["lms"]["spec"]["minReplicas"] == 3 and hpas["lms"]["spec"]["maxReplicas"] == 8
    assert "replicas" not in by_kind(objects, "Deployment")["lms"]["spec"]  # the HPA owns it
    assert {"lms", "cms", "lms-worker", "cms-worker"} <= set(pdbs)
    assert "mysql" not in pdbs
    spread = by_kind(objects, "Deployment")["lms"]["spec"]["template"]["spec"][
        "topologySpreadConstraints"
    ]
    assert spread[0]["whenUnsatisfiable"] == "DoNotSchedule"
    assert by_kind(objects, "Deployment")["mysql"]["spec"]["strategy"]["type"] == "Recreate"
    # Each spread and budget selects the Deployment's own pods, as labelled after hardening.
    for deployment in by_kind(objects, "Deployment").values():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selectors = [
            c["labelSelector"]["matchLabels"]
            for c in deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        ]
        if deployment["metadata"]["name"] in pdbs:
            selectors.append(
                pdbs[deployment["metadata"]["name"]]["spec"]["selector"]["matchLabels"]
            )
        for selector in selectors:
            assert selector.items() <= pod_labels.items(), deployment["metadata"]["name"]


def test_lint_catches_a_spread_that_selects_no_pod(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    production = rendered_example["acme-prod"]
    objects = hardened(production)
    lms = by_kind(objects, "Deployment")["lms"]
    constraint = lms["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
    constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/managed-by"] = "tutor"
    messages = [str(v) for v in lint(production, objects)]
    assert any("selects none of its own pods" in m for m in messages)


def test_development_stays_small(rendered_example: dict[str, RenderedEnvironment]) -> None:
    objects = hardened(rendered_example["acme-dev"])
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    assert not by_kind(objects, "PodDisruptionBudget")
    assert all(d["spec"]["replicas"] == 1 for d in by_kind(objects, "Deployment").values())


def test_plugins_only_where_named(rendered_example: dict[str, RenderedEnvironment]) -> None:
    assert "mfe" in by_kind(rendered_example["acme-dev"].objects, "Deployment")
    assert rendered_example["globex-prod"].environment.plugins == ("mfe",)
    forum_tasks = [t for t in rendered_example["acme-dev"].init_tasks if "forum" in t.script]
    assert forum_tasks
    assert not [t for t in rendered_example["globex-prod"].init_tasks if "forum" in t.script]


def test_environments_share_no_namespace_host_or_selector(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    seen_namespaces: set[str] = set()
    seen_hosts: set[str] = set()
    seen_selectors: set[str] = set()
    for rendered in rendered_example.values():
        objects = hardened(rendered)
        namespaces = {o["metadata"].get("namespace") for o in objects} - {None}
        assert namespaces == {rendered.environment.namespace}
        assert not namespaces & seen_namespaces
        seen_namespaces |= namespaces
        hosts = {
            rule["host"]
            for o in by_kind(objects, "Ingress").values()
            for rule in o["spec"]["rules"]
        }
        assert hosts and not hosts & seen_hosts
        seen_hosts |= hosts
        selectors = {
            json.dumps(d["spec"]["selector"], sort_keys=True)
            for d in by_kind(objects, "Deployment").values()
        }
        assert not selectors & seen_selectors
        seen_selectors |= selectors


def test_caddy_mode_keeps_tutors_load_balancer(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    caddy_env = with_environment(rendered, ingress_mode="caddy")
    objects = hardened(caddy_env)
    assert not by_kind(objects, "Ingress")
    policy = by_kind(objects, "NetworkPolicy")["allow-entry"]
    assert policy["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]


def test_tls_admits_the_ingress_controller_to_cert_manager_http01_solver(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    from campus.fleet.model import Tls

    rendered = rendered_example["acme-dev"]
    tls_env = with_environment(
        rendered, ingress_mode="ingress", tls=Tls(cluster_issuer="letsencrypt")
    )
    policies = by_kind(hardened(tls_env), "NetworkPolicy")
    solver = policies["allow-acme-http01-solver"]["spec"]
    assert solver["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    rule = solver["ingress"][0]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8089}]
    assert rule["from"] == policies["allow-entry"]["spec"]["ingress"][0]["from"]
    no_tls = with_environment(rendered, tls=None)
    assert "allow-acme-http01-solver" not in by_kind(hardened(no_tls), "NetworkPolicy")


def test_from_cidrs_admits_an_ingress_controller_on_host_network(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    host_network = with_environment(
        rendered, ingress_mode="ingress", ingress_from_cidrs=("10.0.0.0/16",)
    )
    policy = by_kind(hardened(host_network), "NetworkPolicy")["allow-entry"]
    sources = policy["spec"]["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "10.0.0.0/16"}} in sources
    assert any("namespaceSelector" in source for source in sources)


def test_schema_validation_catches_a_broken_object() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two"},
    }
    assert schema_violations([broken])


def test_schema_validation_says_what_kubernetes_validate_says(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    import kubernetes_validate

    objects = hardened(rendered_example["acme-prod"])
    one_per_kind = list({(o["apiVersion"], o["kind"]): o for o in objects}.values())
    broken = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "y"}, "spec": {"x": 1}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": 3}},
    ]
    expected = []
    for obj in one_per_kind + broken:
        try:
            kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            expected.append(f"{path}: {error.message}")
    assert len(expected) == len(broken)
    assert [v.message for v in schema_violations(one_per_kind + broken)] == expected
    unknown = {"apiVersion": "v1", "kind": "NoSuchKind", "metadata": {"name": "z"}}
    [violation] = schema_violations([unknown])
    assert violation.message.startswith("unknown kind: no schema for NoSuchKind v1")


def test_lint_catches_a_container_without_memory_limit(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    objects = hardened(rendered)
    lms = by_kind(objects, "Deployment")["lms"]
    del lms["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert any(v.rule == "resources" and v.name == "lms" for v in lint(rendered, objects))


def test_every_container_has_scratch_space_sized_by_service_and_profile(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    """A runaway log or temporary file evicts its pod at the limit, not the node's pods."""
    rendered = rendered_example["acme-dev"]
    objects, jobs = harden_all(rendered)
    scratch = {}
    for obj in objects + jobs:
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = obj["spec"]["template"]["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container["resources"]
            request = resources["requests"]["ephemeral-storage"]
            scratch[obj["metadata"]["name"]] = (request, resources["limits"]["ephemeral-storage"])
    assert scratch["lms"] == ("512Mi", "4Gi")  # course imports unpack under /tmp
    assert scratch["cms-worker"] == ("512Mi", "4Gi")
    assert scratch["mysql"] == ("256Mi", "1Gi")
    lms = by_kind(objects, "Deployment")["lms"]
    del lms["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["ephemeral-storage"]
    [found] = [v for v in lint(rendered, objects) if v.rule == "resources"]
    assert "ephemeral-storage limit" in found.message
    [defaults] = [o for o in objects if o["kind"] == "LimitRange"]
    assert defaults["spec"]["limits"][0]["default"]["ephemeral-storage"] == "1Gi"


def test_quota_counts_pods_as_the_scheduler_does_and_autoscalers_at_their_maximum(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    """An init container larger than the containers sets the pod's request (the quota
    admits pods by that figure); an HPA's maximum sets the count, plus one pod of surge."""
    from campus.harden.isolation import quota

    def container(cpu: str, memory: str) -> dict[str, Any]:
        return {"resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {}}}

    web = {
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [container("100m", "100Mi")],
                    "initContainers": [container("1", "50Mi")],
                }
            },
        },
    }
    scaler = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
    }
    hard = quota(rendered_example["acme-dev"], [web, scaler])["spec"]["hard"]
    # (3 + 1 surge) pods of 1 CPU and 100Mi, with 25% headroom.
    assert hard["requests.cpu"] == "5000m"
    assert hard["requests.memory"] == "500Mi"


def test_the_catalogue_is_built_once_per_environment_and_never_stale(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    from campus.harden.rule import catalogue

    prod, dev = rendered_example["acme-prod"], rendered_example["acme-dev"]
    assert catalogue(prod) is catalogue(prod)  # every rule, every object: one build
    assert catalogue(dev) is not catalogue(prod)
    without_smtp = dataclasses.replace(
        prod, objects=[o for o in prod.objects if o["metadata"]["name"] != "smtp"]
    )
    assert "smtp" in catalogue(prod).services
    assert "smtp" not in catalogue(without_smtp).services
    assert "smtp" in catalogue(prod).services


def containers_of(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"] + spec.get("initContainers", [])}


def test_capabilities_follow_what_each_image_needs(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    """The MFE image is built on Caddy's, whose binary carries cap_net_bind_service: with
    that capability dropped the kernel refuses to run it, whatever port it binds. MySQL,
    MongoDB and Redis run as the non-root user Tutor sets: they keep no capability."""
    rendered = rendered_plugins["plug-prod"]
    objects = hardened(rendered)
    deployments = by_kind(objects, "Deployment")

    def capabilities(name: str) -> dict[str, Any]:
        [container] = containers_of(deployments[name]).values()
        return dict(container["securityContext"]["capabilities"])

    for name in ("caddy", "mfe"):
        assert capabilities(name) == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, name
    for name in ("mysql", "mongodb", "redis", "lms", "notes", "elasticsearch"):
        assert capabilities(name) == {"drop": ["ALL"]}, name
        pod = deployments[name]["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsUser"] != 0 and pod["runAsNonRoot"] is True, name
        assert not any("exempt" in key for key in deployments[name]["metadata"]["annotations"])
    assert lint(rendered, objects) == []

    # Lint refuses the MFE without its capability, and an image given one it does not need.
    del containers_of(deployments["mfe"])["mfe"]["securityContext"]["capabilities"]["add"]
    containers_of(deployments["lms"])["lms"]["securityContext"]["capabilities"]["add"] = [
        "SYS_ADMIN"
    ]
    found = [v for v in lint(rendered, objects) if v.rule == "isolation"]
    assert {(v.name, v.check) for v in found} == {("mfe", "capabilities"), ("lms", "capabilities")}
    assert "needs ['NET_BIND_SERVICE']" in next(v.message for v in found if v.name == "mfe")


def test_an_unknown_service_on_a_port_below_1024_keeps_net_bind_service(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-dev"]
    smtp = by_kind(rendered.objects, "Deployment")["smtp"]
    for port, wanted in ((443, ("NET_BIND_SERVICE",)), (8443, ())):
        unknown = copy.deepcopy(smtp)
        unknown["metadata"]["labels"]["app.kubernetes.io/name"] = "myproxy"
        unknown["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": port}]
        assert classify(unknown, []).capabilities == wanted


def allowed_hosts(rendered: RenderedEnvironment, service: str) -> list[str]:
    """ALLOWED_HOSTS as the settings Tutor renders for a plugin's Django service say."""
    for obj in rendered.objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].startswith(f"{service}-settings"):
            for text in obj["data"].values():
                found = re.search(r"^ALLOWED_HOSTS = (\[[^\]]*\])", text, re.MULTILINE)
                if found:
                    return list(ast.literal_eval(found.group(1)))
    raise AssertionError(f"no ALLOWED_HOSTS rendered for {service}")


def test_every_http_probe_of_a_django_service_sends_a_host_it_allows(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    """The kubelet would send the pod's IP, which no ALLOWED_HOSTS holds: Django answers
    400 and the startup probe never passes."""
    rendered = rendered_plugins["plug-prod"]
    objects = hardened(rendered)
    deployments = by_kind(objects, "Deployment")
    lms = rendered.environment.hosts.lms

    def host(name: str) -> str:
        startup = deployments[name]["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
        [header] = startup["httpGet"]["httpHeaders"]
        assert header["name"] == "Host"
        return str(header["value"])

    assert (host("lms"), host("cms")) == (lms, f"studio.{lms}")
    for name in ("notes", "xqueue", "credentials", "discovery"):
        assert host(name) == f"{name}.{lms}" == rendered.tutor_config[f"{name.upper()}_HOST"]
        allowed = [a.lower() for a in allowed_hosts(rendered, name)]
        assert host(name) in allowed and "localhost" not in allowed, name
    assert lint(rendered, objects) == []

    probe = deployments["notes"]["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    probe["httpGet"]["httpHeaders"] = []
    [found] = [v for v in lint(rendered, objects) if v.rule == "probes"]
    assert (found.name, found.check) == ("notes", "host")
    assert f"notes.{lms}" in found.message


def with_objects(rendered: RenderedEnvironment, change: Any) -> RenderedEnvironment:
    objects = copy.deepcopy(rendered.objects)
    change(objects)
    return dataclasses.replace(rendered, objects=objects)


def main_container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    container: dict[str, Any] = by_kind(objects, "Deployment")[name]["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def test_elasticsearch_is_sized_above_the_heap_tutor_gives_it(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    """tutor-discovery starts Elasticsearch with -Xms1g -Xmx1g: a 512Mi limit killed it at
    start. The limit is twice the heap, the request the heap and a half, whatever heap the
    render sets; lint refuses a limit below that."""
    rendered = rendered_plugins["plug-prod"]
    assert rendered.environment.size == "small"
    raw = main_container(rendered.objects, "elasticsearch")
    assert {"name": "ES_JAVA_OPTS", "value": "-Xms1g -Xmx1g"} in raw["env"]
    objects = hardened(rendered)
    resources = main_container(objects, "elasticsearch")["resources"]
    assert (resources["requests"]["memory"], resources["limits"]["memory"]) == ("1536Mi", "2Gi")
    assert lint(rendered, objects) == []

    def bigger_heap(objects: list[dict[str, Any]]) -> None:
        for variable in main_container(objects, "elasticsearch")["env"]:
            if variable["name"] == "ES_JAVA_OPTS":
                variable["value"] = "-Xms3g -Xmx3g"

    bigger = with_objects(rendered, bigger_heap)
    resources = main_container(hardened(bigger), "elasticsearch")["resources"]
    assert (resources["requests"]["memory"], resources["limits"]["memory"]) == ("4608Mi", "6144Mi")

    main_container(objects, "elasticsearch")["resources"]["limits"]["memory"] = "1Gi"
    [found] = [v for v in lint(rendered, objects) if v.rule == "resources"]
    assert (found.name, found.check) == ("elasticsearch", "memory-setting")
    assert "1024Mi JVM heap" in found.message


def test_redis_starts_with_maxmemory_at_half_its_limit(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    """Tutor's redis.conf says maxmemory 4gb, far above the profile's limit: Redis would be
    killed before it evicts anything. It starts with maxmemory at half the limit (an
    append-only file rewrite forks); a lower maxmemory an operator set stays; lint refuses
    a limit without room for the maxmemory Redis starts with."""
    for name, rendered in rendered_example.items():
        [config] = [o for o in rendered.objects if o["metadata"]["name"].startswith("redis-config")]
        assert "\nmaxmemory 4gb\n" in config["data"]["redis.conf"]
        objects = hardened(rendered)
        redis = main_container(objects, "redis")
        limit = memory_bytes(redis["resources"]["limits"]["memory"])
        assert redis["args"][-2:] == ["--maxmemory", f"{limit // 2 // 1024**2}mb"], name
        assert lint(rendered, objects) == [], name

    rendered = rendered_example["acme-dev"]
    objects = hardened(rendered)
    redis = main_container(objects, "redis")
    assert redis["resources"]["limits"]["memory"] == "256Mi"
    config = "/openedx/redis/config/redis.conf"
    assert redis["args"] == ["redis-server", config, "--maxmemory", "128mb"]
    del redis["args"][-2:]
    [found] = [v for v in lint(rendered, objects) if v.rule == "resources"]
    assert (found.name, found.check) == ("redis", "memory-setting")
    assert "maxmemory 4096Mi" in found.message

    def lower(objects: list[dict[str, Any]]) -> None:
        for obj in objects:
            if obj["metadata"]["name"].startswith("redis-config"):
                obj["data"]["redis.conf"] += "\nmaxmemory 64mb\n"

    operator = with_objects(rendered, lower)
    assert main_container(hardened(operator), "redis")["args"] == [
        "redis-server",
        "/openedx/redis/config/redis.conf",
    ]


def test_init_jobs_are_sized_for_a_django_migrate_at_every_size(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    """A migrate imports the whole platform, as a Celery child does (512Mi), and renders
    the state of every model for each migration it plans: 2Gi whatever the size."""
    for rendered in rendered_example.values():
        _, jobs = harden_all(rendered)
        assert jobs
        for job in jobs:
            for container in job["spec"]["template"]["spec"]["containers"]:
                resources = container["resources"]
                assert resources["limits"]["memory"] == "2Gi", job["metadata"]["name"]
                assert memory_bytes(resources["requests"]["memory"]) >= memory_bytes("512Mi")
