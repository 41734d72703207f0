"""What no single key can check, over the whole validated fleet file. Pure.

Each finding is a location (the keys leading to it, for `campus.fleet.load` to turn into a
line and column) and a message. Problems refuse the fleet; warnings only say what campus
overrides on purpose.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import campus.fleet.backup as backup
from campus.fleet.addresses import is_any, is_metadata, metadata_within, network
from campus.fleet.inherit import resolve_environment
from campus.fleet.model import (
    HOSTNAME,
    Cluster,
    Egress,
    EnvironmentSpec,
    Fleet,
    FleetFile,
    ServiceResources,
    Settings,
    SizeName,
)
from campus.fleet.quantity import parse_cpu, parse_memory
from campus.fleet.tutor_settings import CAMPUS_OWNED, derived_hosts, is_secret_setting

Location = list[str | int]
Finding = tuple[Location, str]

# Namespaces Kubernetes keeps for itself: an environment there would put a deny-all
# NetworkPolicy and a quota on the cluster's own pods.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# The most a Secret (or the ConfigMap Tutor renders before campus moves it) can hold.
SECRET_LIMIT = 1024 * 1024
# Tutor labels every object app.kubernetes.io/instance=openedx-<ID>; a label value has at
# most 63 characters.
INSTANCE_PREFIX = "openedx-"
LABEL_VALUE_MAX = 63
LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
HOST_MAX = 253


def _sections(fleet_file: FleetFile) -> Iterator[tuple[Location, str | None, Settings]]:
    """`defaults` and each environment: where it is, its name, what it sets."""
    yield ["defaults"], None, fleet_file.defaults
    for name, spec in fleet_file.environments.items():
        yield ["environments", name], name, spec


def _tutor_problems(
    where: Location, environment: str | None, tutor: dict[str, Any]
) -> list[Finding]:
    state = (
        f".campus/{environment}/config.yml" if environment else ".campus/<environment>/config.yml"
    )
    problems: list[Finding] = []
    for key, value in tutor.items():
        at = [*where, "tutor", key]
        if key in CAMPUS_OWNED:
            problems.append(
                (
                    at,
                    f"campus sets {key} from the fleet file's {CAMPUS_OWNED[key]!r} key: "
                    "set that instead",
                )
            )
        elif is_secret_setting(key) and not (value is None or value is False or value == ""):
            problems.append(
                (
                    at,
                    f"{key} is a secret and the fleet file belongs in git: remove it here and "
                    f"set it in Tutor's own state for the environment, {state} (kept out of "
                    "git), where the next render reads it",
                )
            )
        elif (odd := _not_plain(value)) is not None:
            problems.append(
                (
                    at,
                    f"a {odd} is not a Tutor setting value (YAML reads an unquoted 2020-01-01 "
                    "as a date): quote it to keep it as text",
                )
            )
        elif key == "ID" and not _valid_instance_id(value):
            problems.append(
                (
                    at,
                    f"ID {value!r} must make a valid label value {INSTANCE_PREFIX}<ID>: letters, "
                    f"digits, '-', '_' and '.', at most {LABEL_VALUE_MAX - len(INSTANCE_PREFIX)} "
                    "characters, starting and ending with a letter or digit",
                )
            )
    size = len(json.dumps(tutor, default=str))
    if size > SECRET_LIMIT:
        problems.append(
            (
                [*where, "tutor"],
                f"the settings take {size} bytes, more than the {SECRET_LIMIT} bytes a Secret "
                "or ConfigMap can hold",
            )
        )
    return problems


def _not_plain(value: object) -> str | None:
    """The type name of the first value that is not text, a number, a boolean, null, a list
    or a mapping of text keys (what Tutor's settings hold, and JSON carries to it)."""
    if value is None or isinstance(value, str | int | float | bool):
        return None
    if isinstance(value, list):
        return next((odd for item in value if (odd := _not_plain(item)) is not None), None)
    if isinstance(value, dict):
        for key, item in value.items():
            odd = "non-text key" if not isinstance(key, str) else _not_plain(item)
            if odd is not None:
                return odd
        return None
    return type(value).__name__.lower()


def _valid_instance_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    label = INSTANCE_PREFIX + value
    return len(label) <= LABEL_VALUE_MAX and bool(LABEL_VALUE.fullmatch(label))


def _too_wide(cidr: str) -> str | None:
    """Why a CIDR of the fleet file would open more than a destination: every address, or
    a cloud metadata endpoint among them."""
    parsed = network(cidr)  # the model has checked it parses
    if is_metadata(parsed):
        return f"{cidr} is a cloud metadata endpoint, which no environment may reach"
    if is_any(parsed):
        return f"{cidr} is every IPv{parsed.version} address"
    covered = metadata_within(parsed)
    if covered:
        return f"{cidr} covers the cloud metadata endpoint {covered[0].split('/')[0]}"
    return None


def _egress_problems(where: Location, egress: dict[str, Egress | None]) -> list[Finding]:
    problems: list[Finding] = []
    for name, destination in egress.items():
        if destination is None:
            continue
        at: Location = [*where, "egress", name]
        wide = _too_wide(destination.cidr)
        if wide and (not destination.allow_any or is_metadata(network(destination.cidr))):
            fix = (
                "it hands out the nodes' credentials"
                if is_metadata(network(destination.cidr))
                else "name the destination's own CIDR, or set allow_any: true with a reason "
                "(the cloud metadata endpoints stay excepted)"
            )
            problems.append(([*at, "cidr"], f"{wide}: {fix}"))
        if destination.allow_any and not (destination.reason or "").strip():
            problems.append(
                (
                    [*at, "allow_any"],
                    "allow_any needs a reason: say why every pod of the environment may reach "
                    f"{destination.cidr}",
                )
            )
    return problems


def _cluster_problems(cluster: Cluster) -> list[Finding]:
    """The API server's and DNS servers' CIDRs locate hosts: never every address, nor a
    metadata endpoint."""
    problems: list[Finding] = []
    for field in ("api_server_cidrs", "dns_cidrs"):
        for index, cidr in enumerate(getattr(cluster, field)):
            wide = _too_wide(cidr)
            if wide:
                problems.append(
                    (["cluster", field, index], f"{wide}: give the servers' own addresses")
                )
    return problems


def _namespace_problems(fleet_file: FleetFile) -> list[Finding]:
    problems: list[Finding] = []
    resolved = {
        name: resolve_environment(name, fleet_file.defaults, spec)
        for name, spec in fleet_file.environments.items()
    }
    controllers = {
        e.ingress_controller_namespace: e.name
        for e in resolved.values()
        if e.ingress_mode == "ingress"
    }
    seen: dict[str, str] = {}
    for name, environment in resolved.items():
        namespace = environment.namespace
        where: Location = ["environments", name]
        if fleet_file.environments[name].namespace:
            where.append("namespace")
        if namespace in RESERVED_NAMESPACES or namespace.startswith("kube-"):
            problems.append(
                (
                    where,
                    f"namespace {namespace!r} belongs to Kubernetes: "
                    "choose another with 'namespace'",
                )
            )
        elif namespace in controllers:
            problems.append(
                (
                    where,
                    f"namespace {namespace!r} is the ingress controller's "
                    f"(of {controllers[namespace]}); "
                    "campus would isolate it with a deny-all NetworkPolicy: choose another",
                )
            )
        if namespace in seen:
            problems.append((where, f"namespace {namespace!r} is also used by {seen[namespace]}"))
        seen.setdefault(namespace, name)
    return problems


def _host_problems(fleet_file: FleetFile) -> list[Finding]:
    """Every host, the derived ones included, valid and answered by one environment only."""
    problems: list[Finding] = []
    owners: dict[str, str] = {}
    for name, spec in fleet_file.environments.items():
        environment = resolve_environment(name, fleet_file.defaults, spec)
        hosts = derived_hosts(
            spec.hosts.lms, spec.hosts.cms, environment.plugins, environment.tutor
        )
        for setting, host in hosts.items():
            where: Location = ["environments", name, "hosts", "lms"]
            if setting == "LMS_HOST" or (setting == "CMS_HOST" and spec.hosts.cms):
                role = "lms" if setting == "LMS_HOST" else "cms"
                where[-1], what = role, role
            elif setting in environment.tutor:
                section = "environments" if setting in (spec.tutor or {}) else "defaults"
                where = (
                    [section, name, "tutor", setting]
                    if section == "environments"
                    else ["defaults", "tutor", setting]
                )
                what = setting
            else:
                what = f"{setting}, derived from hosts.lms"
            if len(host) > HOST_MAX or not HOSTNAME.match(host):
                shown = host if len(host) <= 80 else f"{host[:40]}...{host[-20:]}"
                problems.append(
                    (
                        where,
                        f"{what} would be {shown!r} ({len(host)} characters): not a valid host "
                        f"name (labels of at most 63 characters, {HOST_MAX} in all)",
                    )
                )
                continue
            if host in owners:
                named = "" if what in ("lms", "cms") else f" ({what})"
                problems.append((where, f"host {host!r}{named} is also used by {owners[host]}"))
            owners.setdefault(host, f"{name} ({what})")
    return problems


def _replica_problems(name: str, defaults: Settings, spec: EnvironmentSpec) -> list[Finding]:
    replicas = {**(defaults.replicas or {}), **(spec.replicas or {})}
    autoscaling = {**(defaults.autoscaling or {}), **(spec.autoscaling or {})}
    problems: list[Finding] = []
    for service, count in replicas.items():
        scaling = autoscaling.get(service)
        if scaling and not scaling.min <= count <= scaling.max:
            problems.append(
                (
                    ["environments", name, "replicas", service],
                    f"{count} replicas is outside the autoscaling range "
                    f"{scaling.min}-{scaling.max}",
                )
            )
    return problems


def _backup_where(name: str, spec: EnvironmentSpec, path: tuple[str, ...], *more: str) -> Location:
    """The line that sets a backup key for environment `name`: its own, else `defaults`'."""
    node: object = spec.backup
    for part in path:
        node = getattr(node, part, None)
    if node is not None:
        return ["environments", name, "backup", *path, *more]
    return ["defaults", "backup", *path, *more]


def _backup_problems(fleet_file: FleetFile) -> list[Finding]:
    """Each environment's backup once inherited: complete, keeping some snapshot, its
    store's Secret outside every environment's namespace (the encryption key must outlive
    the namespace it protects)."""
    found: dict[tuple[str, ...], Finding] = {}
    namespaces = {n: s.namespace or n for n, s in fleet_file.environments.items()}
    for name, spec in fleet_file.environments.items():
        section = backup.merged(fleet_file.defaults.backup, spec.backup)
        if section is None or section.enabled is False:
            continue
        problems: list[Finding] = []
        lacking = backup.missing(section)
        if lacking:
            where = _backup_where(name, spec, ())
            problems.append(
                (where, f"backups of {name} need {', '.join(lacking)} (docs/backups.md)")
            )
        resolved = backup.resolved(section)
        if resolved and not any(resolved.keep.model_dump().values()):
            problems.append(
                (
                    _backup_where(name, spec, ("keep",)),
                    "keeps no snapshot: set at least one of hourly, daily, weekly, monthly",
                )
            )
        secret = section.store.secret if section.store else None
        owner = next(
            (n for n, ns in namespaces.items() if secret and ns == secret.split("/")[0]), ""
        )
        if owner:
            problems.append(
                (
                    _backup_where(name, spec, ("store", "secret")),
                    f"the store's Secret {secret} is in {owner}'s namespace: keep it outside "
                    "every environment's, so that the encryption key outlives them",
                )
            )
        for where, message in problems:
            found.setdefault(tuple(map(str, where)), (where, message))
    return list(found.values())


def cross_checks(fleet_file: FleetFile) -> list[Finding]:
    """Problems across keys: namespaces (Kubernetes' own, the ingress controller's, one
    per environment), hosts (derived ones included, one environment each), Tutor settings
    campus owns or that are secrets, the settings' size, replicas within autoscaling,
    egress CIDRs that would open every address or a cloud metadata endpoint; backups once
    inherited."""
    problems = _namespace_problems(fleet_file) + _host_problems(fleet_file)
    problems += _cluster_problems(fleet_file.cluster)
    problems += _backup_problems(fleet_file)
    for where, environment, settings in _sections(fleet_file):
        problems += _tutor_problems(where, environment, settings.tutor or {})
        problems += _egress_problems(where, settings.egress or {})
    for name, spec in fleet_file.environments.items():
        problems += _replica_problems(name, fleet_file.defaults, spec)
    for index, name in enumerate(fleet_file.cluster.real_nodes):
        if name not in fleet_file.environments:
            known = ", ".join(fleet_file.environments)
            problems.append(
                (
                    ["cluster", "real_nodes", index],
                    f"no environment {name!r} in this fleet (it has {known})",
                )
            )
    return problems


def overrides(fleet_file: FleetFile) -> list[Finding]:
    """What the fleet file sets and campus deliberately replaces: warnings, not errors."""
    found: list[Finding] = []
    for name, spec in fleet_file.environments.items():
        environment = resolve_environment(name, fleet_file.defaults, spec)
        if environment.ingress_mode != "ingress" or "ENABLE_WEB_PROXY" not in environment.tutor:
            continue
        where: Location = ["environments", name, "tutor", "ENABLE_WEB_PROXY"]
        if "ENABLE_WEB_PROXY" not in (spec.tutor or {}):
            where = ["defaults", "tutor", "ENABLE_WEB_PROXY"]
        found.append(
            (
                where,
                f"ignored for {name}: with ingress mode 'ingress' campus sets ENABLE_WEB_PROXY "
                "to false (the shared ingress controller terminates TLS, not Caddy)",
            )
        )
    return found


SERVICE_SECTIONS = ("replicas", "autoscaling", "resources")


def unknown_services(fleet: Fleet, running: Mapping[str, set[str]]) -> list[Finding]:
    """Services named under replicas, autoscaling or resources that the environment does
    not run. `running`: environment -> its services (today the Deployments Tutor rendered
    for it). A name set in `defaults` need only run in some environment, and is judged only
    when every environment is known."""
    everywhere = set().union(*running.values()) if running else set()
    judged_defaults = len(running) == len(fleet.environments)
    found: dict[tuple[str, ...], Finding] = {}
    for environment in fleet.environments:
        if environment.name not in running:
            continue
        services = running[environment.name]
        for section in SERVICE_SECTIONS:
            inherited = set(getattr(fleet.defaults, section) or {})
            for service in getattr(environment, section):
                if service in services:
                    continue
                where: Location = ["environments", environment.name, section, service]
                if service in inherited:
                    if not judged_defaults or service in everywhere:
                        continue
                    where = ["defaults", section, service]
                    choices = everywhere
                else:
                    choices = services
                message = f"no service {service!r} runs in "
                message += "any environment" if where[0] == "defaults" else environment.name
                close = difflib.get_close_matches(service, sorted(choices), n=1)
                message += f"; did you mean {close[0]!r}?" if close else ""
                message += f" (services: {', '.join(sorted(choices))})"
                found.setdefault(tuple(map(str, where)), (where, message))
    return list(found.values())


def production_without_replicas(fleet: Fleet, serving: Mapping[str, set[str]]) -> list[Finding]:
    """A production environment that asks for no replica of a service serving users or
    other pods (`serving`: environment -> its web services, as the catalogue classifies
    them): the site, or every caller of that service, would be down on purpose. A worker may
    be scaled to zero; a web service of production may not, wherever the zero is set."""
    found: dict[tuple[str, ...], Finding] = {}
    inherited = fleet.defaults.replicas or {}
    for environment in fleet.environments:
        if not environment.production:
            continue
        for service, count in environment.replicas.items():
            if count != 0 or service not in serving.get(environment.name, set()):
                continue
            where: Location = ["environments", environment.name, "replicas", service]
            if inherited.get(service) == 0:  # inherited (or set again): the defaults' line
                where = ["defaults", "replicas", service]
            message = (
                f"0 replicas of {service!r} in production environment {environment.name}: "
                "it serves requests, so the environment would be down; give it 1 or more, "
                "or mark the environment production: false"
            )
            found.setdefault(tuple(map(str, where)), (where, message))
    return list(found.values())


def api_server_unknown(fleet: Fleet, needing: Mapping[str, list[str]]) -> list[Finding]:
    """Environments running a service that talks to the Kubernetes API (`needing`:
    environment -> those services, the catalogue's `needs_api`) on a cluster whose API
    server the fleet file does not locate: their NetworkPolicies would deny the way there.
    A sandbox needs none: KWOK's nodes run no pod, and its real nodes are given the API
    server's address at deploy (`campus.sandbox.placement`)."""
    if fleet.cluster.api_server_cidrs or fleet.cluster.sandbox:
        return []
    found = [f"{', '.join(services)} of {name}" for name, services in needing.items() if services]
    if not found:
        return []
    message = (
        f"{'; '.join(found)} talk to the Kubernetes API (their catalogue entry's needs_api), "
        "and NetworkPolicy admits them only to the API server's addresses: set "
        "cluster.api_server_cidrs to its endpoints (kubectl get endpointslices -n default "
        "-l kubernetes.io/service-name=kubernetes)"
    )
    return [(["cluster", "api_server_cidrs"], message)]


Profile = Callable[[str, SizeName, ServiceResources | None], dict[str, dict[str, str]]]


def limits_below_requests(fleet: Fleet, profile: Profile) -> list[Finding]:
    """Each `resources` entry once completed by the size's profile (`profile`: service,
    size, override -> requests and limits): a limit below its request is refused by the
    API server, so say it here, at the entry."""
    found: dict[tuple[str, ...], Finding] = {}
    for environment in fleet.environments:
        inherited = fleet.defaults.resources or {}
        for service, override in environment.resources.items():
            wanted = profile(service, environment.size, override)
            requests, limits = wanted["requests"], wanted["limits"]
            where: Location = ["environments", environment.name, "resources", service]
            if inherited.get(service) is override:
                where = ["defaults", "resources", service]
            for resource, parse in (("memory", parse_memory), ("cpu", parse_cpu)):
                if resource not in limits or parse(limits[resource]) >= parse(requests[resource]):
                    continue
                request, limit = requests[resource], limits[resource]
                message = f"{resource} request {request} is above its limit {limit}"
                if getattr(override, f"{resource}_limit") is None:
                    message += f" ({environment.size} size's default): set {resource}_limit too"
                elif getattr(override, resource) is None:
                    message += (
                        f": the {environment.size} size requests {request}, set {resource} too"
                    )
                found.setdefault(tuple(map(str, [*where, resource])), ([*where, resource], message))
    return list(found.values())
