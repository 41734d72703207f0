"""The one path from a fleet file to hardened objects: load -> select -> render (Tutor) ->
harden, and from there deploy requests. Every command that needs an environment's objects
(render, lint, deploy, diff, plan, scale) goes through `build`.

Each environment renders from its Tutor state: the cluster's copy when `build` is given a
client (deploy, diff, scale); otherwise the local cache, asking the fleet's cluster, when it
answers, only for environments the cache lacks (render, lint, plan need no cluster)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from lightkube import Client

from campus.deploy import maintenance
from campus.deploy.model import DeployOptions, DeployRequest, DeployResult, Progress
from campus.errors import CampusError, ClusterError
from campus.fleet.model import Cluster, Environment, Fleet
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment
from campus.sandbox.placement import MachineServices
from campus.state.model import ClusterCopies, TutorState

# How long a render waits for a cluster it only hopes to find.
OPTIONAL_CLUSTER_TIMEOUT = 5.0


def load(fleet_file: Path) -> Fleet:
    """The fleet, with each `resources` entry checked against its size's profile."""
    from campus.fleet.checks import limits_below_requests
    from campus.fleet.load import load_fleet, locate
    from campus.harden.sizing import known_resources_for

    fleet = load_fleet(fleet_file)
    problems = limits_below_requests(fleet, known_resources_for)
    if problems:
        raise locate(Path(fleet.source), problems)
    return fleet


def connect_fleet(fleet_file: Path, kubeconfig: str | None) -> tuple[Fleet, Client]:
    from campus.kube.connect import connect

    fleet = load(fleet_file)
    return fleet, connect(fleet.cluster, kubeconfig)


# The fleet file a command reads, when none is named, if the current folder has one.
FLEET_FILE = Path("fleet.yml")


@dataclass(frozen=True)
class Reading:
    """What a command that reads the deployed fleet works from."""

    fleet: Fleet | None  # None: no fleet file; the cluster's environments are all there are
    cluster: Cluster
    client: Client
    where: str  # which cluster, for messages: "sandbox campus", "context prod"
    kubeconfig: str | None = None  # as given (None: $KUBECONFIG, ~/.kube/config or the sandbox's)


def connect_known(
    fleet_file: Path | None, kubeconfig: str | None, context: str | None = None
) -> Reading:
    """For the commands that read what is deployed (status, history, logs, exec, secrets
    list): the fleet file named, else ./fleet.yml if there is one, else none (what the
    cluster holds is all there is); its cluster, or `context`, or the one at hand."""
    from campus.kube.connect import cluster_at_hand, connect, kubeconfig_for

    path = fleet_file or (FLEET_FILE if FLEET_FILE.is_file() else None)
    fleet = load(path) if path else None
    if context:
        cluster = Cluster(context=context)
    elif fleet is not None:
        cluster = fleet.cluster
    else:
        cluster = cluster_at_hand(kubeconfig)
    client = connect(cluster, kubeconfig)
    return Reading(fleet, cluster, client, kubeconfig_for(cluster, kubeconfig)[1], kubeconfig)


def fleet_hash(fleet: Fleet) -> str:
    """What a revision records of the fleet file it came from: a digest of its bytes."""
    return hashlib.sha256(Path(fleet.source).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Built:
    """One environment rendered by Tutor and hardened by campus."""

    rendered: RenderedEnvironment
    objects: list[KubeObject]
    init_jobs: list[KubeObject]
    # In `cluster.real_nodes`: deployed onto the sandbox's real nodes (`request`).
    on_real_nodes: bool = False
    # Where those nodes' pods find the sandbox's cluster DNS and API server (None: the
    # sandbox runs no real nodes now).
    machine: MachineServices | None = None

    @property
    def environment(self) -> Environment:
        return self.rendered.environment

    def state_source(self) -> dict[str, str]:
        """Which Tutor state it rendered from, for `-o json`: `source` is "cluster",
        "local cache" or "new" (a first install), `detail` says why."""
        return {"source": self.rendered.state_source, "detail": self.rendered.state_detail}

    def request(self, fleet_digest: str) -> DeployRequest:
        objects, init_jobs = self.objects, self.init_jobs
        page = maintenance.objects(self.environment.namespace, objects)
        if self.on_real_nodes:
            # Only what is applied to the sandbox: render, lint and Checkov see the objects
            # a real cluster gets.
            from campus.sandbox.placement import machine_policies, place

            objects, init_jobs, page = place(objects), place(init_jobs), place(page)
            if self.machine is not None:
                objects = objects + machine_policies(self.environment.namespace, self.machine)
        return DeployRequest(
            environment=self.environment.name,
            namespace=self.environment.namespace,
            objects=objects,
            init_jobs=init_jobs,
            tutor_version=self.rendered.tutor_version,
            plugin_versions=dict(self.rendered.plugin_versions),
            fleet_hash=fleet_digest,
            tutor_state=TutorState(
                self.environment.name, self.rendered.tutor_state, self.rendered.tutor_version
            ),
            state_origin=self.rendered.state_origin,
            plugins=tuple(self.environment.plugins),
            maintenance_page=page,
            backup_store=backup.store.secret if (backup := self.environment.backup) else "",
        )


def cluster_copies(
    fleet: Fleet, selected: Sequence[Environment], client: Client | None, offline: bool = False
) -> ClusterCopies:
    """The cluster's copies of the selected environments' Tutor state: all of them read
    through `client`; without one, only those the local cache lacks, from the fleet's
    cluster if it answers (never when `offline`)."""
    from campus.render.state import has_cache, state_dir_for
    from campus.state.store import read_state

    if client is None:
        state_dir = state_dir_for(Path(fleet.source))
        selected = [e for e in selected if not has_cache(state_dir, e.name)]
        if not selected:
            return ClusterCopies(unconsulted="cluster not asked")
        if offline:
            return ClusterCopies(unconsulted="--offline: cluster not asked")
        try:
            from campus.kube.connect import connect

            client = connect(fleet.cluster, timeout=OPTIONAL_CLUSTER_TIMEOUT)
            return ClusterCopies(
                {e.name: read_state(client, e.namespace, e.name) for e in selected}
            )
        except ClusterError as error:
            return ClusterCopies(unconsulted=f"no cluster at hand: {error}")
    return ClusterCopies({e.name: read_state(client, e.namespace, e.name) for e in selected})


def build(
    fleet: Fleet,
    names: Sequence[str] = (),
    jobs: int | None = None,
    client: Client | None = None,
    offline: bool = False,
    check_services: bool = True,
    prometheus_rules: bool | None = None,
) -> list[Built]:
    """Render and harden the named environments (all when none are named), in fleet order,
    each from its Tutor state (see the module's docstring). The services named under
    replicas, autoscaling and resources must be Deployments Tutor rendered
    (`check_services`: a caller that refuses unknown names itself may skip it). Each
    environment's PrometheusRule is among its objects when `prometheus_rules` says so;
    by default when `client`'s cluster serves the kind (`rules_served`)."""
    selected = fleet.select(names)
    copies = cluster_copies(fleet, selected, client, offline)
    if prometheus_rules is None:
        prometheus_rules = client is not None and rules_served(client)
    return _build(fleet, selected, copies, jobs, check_services, prometheus_rules)


def rules_served(client: Client) -> bool:
    """Whether the cluster serves PrometheusRules: asked once for all the environments a
    command builds, so that deploy, diff and scale all render the same objects."""
    from campus.kube.discovery import serves
    from campus.monitoring.objects import API_VERSION, PLURAL

    return serves(client, API_VERSION, PLURAL)


def _build(
    fleet: Fleet,
    selected: Sequence[Environment],
    copies: ClusterCopies,
    jobs: int | None = None,
    check_services: bool = True,
    prometheus_rules: bool = False,
) -> list[Built]:
    from campus.fleet.checks import (
        api_server_unknown,
        production_without_replicas,
        unknown_services,
    )
    from campus.fleet.load import locate
    from campus.harden import harden_all
    from campus.harden.rule import catalogue, serving
    from campus.render import render_fleet

    rendered = render_fleet(fleet, [e.name for e in selected], jobs=jobs, cluster=copies)
    running = {
        r.environment.name: {o["metadata"]["name"] for o in r.objects if o["kind"] == "Deployment"}
        for r in rendered
    }
    problems = unknown_services(fleet, running) if check_services else []
    problems += production_without_replicas(
        fleet, {r.environment.name: serving(r) for r in rendered}
    )
    needing = {
        r.environment.name: sorted(n for n, s in catalogue(r).services.items() if s.needs_api)
        for r in rendered
    }
    problems += api_server_unknown(fleet, needing)
    if problems:
        raise locate(Path(fleet.source), problems)
    placed = set(fleet.cluster.real_nodes)
    machine = None
    if fleet.cluster.sandbox and placed & {r.environment.name for r in rendered}:
        from campus.sandbox.real_nodes import machine_services

        machine = machine_services(fleet.cluster.sandbox)
    built = []
    for r in rendered:
        objects, init_jobs = harden_all(r)
        if prometheus_rules:
            objects = _with_rule(r.environment, objects)
        built.append(Built(r, objects, init_jobs, r.environment.name in placed, machine))
    return built


def _with_rule(environment: Environment, objects: list[KubeObject]) -> list[KubeObject]:
    """The objects and, unless its monitoring is disabled, the environment's PrometheusRule
    over them (after hardening, which settles what the rules watch)."""
    from campus.monitoring.objects import prometheus_rule

    rule = prometheus_rule(environment, objects)
    return objects if rule is None else [*objects, rule]


def deploy_requests(
    fleet: Fleet, names: Sequence[str] = (), client: Client | None = None
) -> list[DeployRequest]:
    """What `deploy` applies for the named environments (all when none are named),
    rendered from the cluster's Tutor state when `client` is given."""
    digest = fleet_hash(fleet)
    return [built.request(digest) for built in build(fleet, names, client=client)]


@dataclass(frozen=True)
class Settlement:
    """What `state pull`, `push` or `import` did to one environment: names, never values."""

    environment: str
    where: str
    changed: tuple[str, ...]
    added: tuple[str, ...] = ()


def pull_state(fleet: Fleet, name: str, client: Client) -> Settlement:
    """Replace the local cache's Tutor state of `name` with the cluster's."""
    from campus.render.state import cached_settings, state_dir_for, write_cached_settings
    from campus.state.model import SECRET_NAME, differing
    from campus.state.store import read_state

    environment = fleet.environment(name)
    stored = read_state(client, environment.namespace, name)
    if stored is None:
        raise CampusError(
            f"{name}: the cluster holds no Tutor state (no Secret {SECRET_NAME} in namespace "
            f"{environment.namespace}); deploy it, or `campus state push {name}`"
        )
    state_dir = state_dir_for(Path(fleet.source))
    cached = cached_settings(state_dir, name) or {}
    path = write_cached_settings(state_dir, name, stored.values)
    changed = differing(cached, stored.values, frozenset())
    added = sorted(set(stored.values) - set(cached))
    return Settlement(name, str(path), tuple(changed), tuple(added))


def push_state(
    fleet: Fleet, name: str, client: Client, confirm: Callable[[list[str]], bool]
) -> Settlement:
    """Make the local cache's Tutor state of `name` the cluster's. `confirm` is asked, with
    the names of the settings it would replace, before a stored value is overwritten."""
    from campus.render.state import has_cache, mark, state_dir_for
    from campus.state.model import SECRET_NAME, differing, pending_message
    from campus.state.store import read_state, write_state

    environment = fleet.environment(name)
    if not has_cache(state_dir_for(Path(fleet.source)), name):
        raise CampusError(f"{name}: no local Tutor state to push (nothing under .campus/{name})")
    stored = read_state(client, environment.namespace, name)
    if stored is not None and stored.pending:
        raise CampusError(pending_message(name, stored))
    [built] = build(fleet, [name], offline=True)
    rendered = built.request("").tutor_state
    assert rendered is not None  # always set by `Built.request`
    changed = differing(rendered.values, stored.values, frozenset()) if stored else []
    if changed and not confirm(changed):
        raise CampusError(f"{name}: push cancelled, nothing changed")
    added = sorted(set(rendered.values) - set(stored.values if stored else {}))
    write_state(client, environment.namespace, rendered, stored)
    mark(state_dir_for(Path(fleet.source)), name, confirmed=True)
    return Settlement(
        name,
        f"Secret {SECRET_NAME} in namespace {environment.namespace}",
        tuple(changed),
        tuple(added),
    )


def export_states(
    fleet: Fleet, names: Sequence[str], client: Client, passphrase: str, path: Path
) -> tuple[list[str], list[str]]:
    """Write the cluster's Tutor state of the named environments (all by default) to `path`,
    encrypted under `passphrase`, mode 0600. (exported, holding none)."""
    from campus.render.state import write_private
    from campus.state.bundle import seal
    from campus.state.store import read_state

    found = {e.name: read_state(client, e.namespace, e.name) for e in fleet.select(names)}
    states = [state for state in found.values() if state is not None]
    write_private(path, seal(states, passphrase))
    return [s.environment for s in states], [n for n, s in found.items() if s is None]


def import_states(fleet: Fleet, path: Path, passphrase: str) -> list[Settlement]:
    """Write the Tutor states of a bundle into the local cache (then `state push`)."""
    from campus.render.state import cached_settings, state_dir_for, write_cached_settings
    from campus.state.bundle import unseal
    from campus.state.model import differing

    state_dir = state_dir_for(Path(fleet.source))
    settled = []
    for state in unseal(path.read_bytes(), passphrase):
        fleet.environment(state.environment)  # refuses one the fleet does not name
        cached = cached_settings(state_dir, state.environment) or {}
        written = write_cached_settings(state_dir, state.environment, state.values)
        changed = differing(cached, state.values, frozenset())
        added = sorted(set(state.values) - set(cached))
        settled.append(Settlement(state.environment, str(written), tuple(changed), tuple(added)))
    return settled


def rotate_secrets(
    fleet: Fleet,
    name: str,
    settings: Sequence[str],
    client: Client,
    options: DeployOptions,
    progress: Progress,
) -> DeployResult:
    """Give the named Tutor settings of environment `name` new values and deploy them,
    health-gated and recorded as a revision that names them (`campus.state.rotation` says
    how each is changed where it is held). The new values are recorded in the cluster's
    state as pending before anything is applied, and confirmed once the applications begin
    rolling; a deploy that fails before a data service could take them leaves the old
    values in force; one that fails in between leaves the rotation pending, and the same
    command finishes it with the same values (deploys are refused until then)."""
    from campus.deploy.engine import deploy_environment
    from campus.render.state import state_dir_for, write_cached_settings
    from campus.state import rotation
    from campus.state.store import read_state, write_state

    environment = fleet.environment(name)
    stored = read_state(client, environment.namespace, name)
    if stored is None:
        raise CampusError(f"{name}: the cluster holds no Tutor state yet: deploy it first")
    rotation.check_rotatable(name, settings, stored)
    resuming = bool(stored.pending)
    settings = tuple(stored.rotating) if resuming else tuple(settings)
    fresh = rotation.generated_again(settings)
    state_dir = state_dir_for(Path(fleet.source))
    if resuming:
        start = {**stored.values, **stored.pending}
        write_cached_settings(state_dir, name, start)
    else:
        start = {k: v for k, v in stored.values.items() if k not in fresh}
        write_cached_settings(state_dir, name, stored.values, forget=fresh)
    try:
        copies = ClusterCopies({name: TutorState(name, start)})
        [built] = _build(fleet, [environment], copies, prometheus_rules=rules_served(client))
        request = _rotation_request(built, stored, settings, fleet_hash(fleet))
    except BaseException:
        write_cached_settings(state_dir, name, stored.values)
        raise
    new_values = {k: built.rendered.tutor_state[k] for k in fresh}
    if not resuming:
        begun = datetime.now(UTC).isoformat(timespec="seconds")
        write_state(
            client,
            environment.namespace,
            replace(stored, rotating=settings, pending=new_values, pending_since=begun),
            stored,
        )
    result = deploy_environment(client, request, options, progress)
    found = rotation.verdict(settings, result.outcome, result.reached_phase, resuming)
    names = ", ".join(settings)
    if found == "confirmed":
        rotated = TutorState(name, {**stored.values, **new_values}, stored.tutor_version)
        write_state(client, environment.namespace, rotated, stored)
        result.message = f"rotated {names}; {result.message}"
        return result
    write_cached_settings(state_dir, name, stored.values)
    if found == "nothing":
        write_state(client, environment.namespace, replace(stored, pending={}, rotating=()), stored)
        result.message = f"nothing rotated, the old values stay in force; {result.message}"
    else:
        result.message = (
            f"the rotation of {names} is pending: a data service may already hold the new "
            f"value; `campus secrets rotate {name} {' '.join(settings)}` finishes it (deploys "
            f"of {name} are refused until then); {result.message}"
        )
    return result


def _rotation_request(
    built: Built, stored: TutorState, settings: Sequence[str], digest: str
) -> DeployRequest:
    """The rotation's deploy: the environment rendered with the new values and, for the
    root password, campus's Job that sets it on MySQL before Tutor's init Jobs use it."""
    from campus.state import rotation

    deployments = {o["metadata"]["name"] for o in built.objects if o["kind"] == "Deployment"}
    missing = rotation.services_missing(settings, deployments)
    if missing:
        raise rotation.RotationRefused(
            f"{built.environment.name}: nothing rotated:\n  " + "\n  ".join(missing)
        )
    request = replace(built.request(digest), tutor_state=None, rotating=tuple(settings))
    if "MYSQL_ROOT_PASSWORD" not in settings:
        return request
    [template] = [j for j in built.init_jobs if j["metadata"]["name"].startswith("mysql-init")]
    secret, job = rotation.root_password_job(
        template,
        built.rendered.tutor_config,
        stored.values["MYSQL_ROOT_PASSWORD"],
        built.rendered.tutor_state["MYSQL_ROOT_PASSWORD"],
    )
    if built.on_real_nodes:  # runs against the real node's MariaDB, as the init Jobs do
        from campus.sandbox.placement import place

        [job] = place([job])
    return replace(request, objects=[*request.objects, secret], init_jobs=[job, *request.init_jobs])
