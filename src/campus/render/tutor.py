"""Rendering environments through Tutor: one worker process per environment, in parallel,
each in its own Tutor project root under the fleet's private state folder, rendered from
the Tutor state that `campus.state.model.settle` chooses (the cluster's, the cache's, new)."""

from __future__ import annotations

import copy
import json
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from campus.errors import CampusError
from campus.fleet.model import Environment, Fleet
from campus.kube.objects import KubeObject
from campus.labels import COMPONENT, NAME
from campus.render import cache
from campus.render.kustomize import build, build_files
from campus.render.model import InitTask, RenderedEnvironment
from campus.render.releases import (
    ReleaseRuntime,
    ToolchainProgress,
    campus_plugin_versions,
    release_runtimes,
)
from campus.render.runtime import CAMPUS, Interpreter
from campus.render.state import (
    CONFIG_FILE,
    JWT_KEY,
    cached_settings,
    environment_root,
    is_confirmed,
    mark,
    provide_jwt_key,
    state_dir_for,
)
from campus.state.model import ClusterCopies, Origin, settle

JOB_COMPONENT = "job"  # Tutor labels its Job templates app.kubernetes.io/component=job


class RenderError(CampusError):
    pass


def tutor_settings(environment: Environment) -> dict[str, Any]:
    """The environment's Tutor settings, with what campus decides for every environment:
    its namespace, its hosts, and Caddy's role (behind a shared ingress controller, Caddy
    routes inside the namespace and no longer terminates TLS itself)."""
    settings = dict(environment.tutor)
    settings["K8S_NAMESPACE"] = environment.namespace
    settings["LMS_HOST"] = environment.hosts.lms
    if environment.hosts.cms:
        settings["CMS_HOST"] = environment.hosts.cms
    if environment.ingress_mode in ("ingress", "gateway"):
        settings["ENABLE_WEB_PROXY"] = False
    return settings


def _worker_request(
    root: Path, environment: Environment, state: dict[str, Any], in_memory: bool = True
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "root": str(root),
        # Read by the cache key alone; monitoring changes nothing Tutor renders.
        "environment": environment.model_dump(mode="json", exclude={"monitoring"}),
        "plugins": list(environment.plugins),
        "settings": tutor_settings(environment),
        "state": state,
    }
    if not in_memory:
        request["saveEnv"] = True  # Tutor writes the env folder, built back from disk
    return request


class ForkServer:
    """One `campus.render.forkserver` process: Tutor imported once, a child forked per
    environment (`render`), one environment at a time; run by `interpreter` (campus's, or a
    pinned release's toolchain)."""

    def __init__(self, interpreter: Interpreter = CAMPUS) -> None:
        # A file, never a pipe that could fill up while nobody reads it.
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self._process = subprocess.Popen(
            interpreter.command("campus.render.forkserver"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            env=interpreter.env(),
        )

    def render(self, request: dict[str, Any]) -> str:
        """The child's answer (a JSON line), or what the server wrote before it failed."""
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except OSError:
            pass  # the server is gone: its error output says why
        answer = self._process.stdout.readline()
        if answer:
            return answer
        self._process.wait()
        self._errors.seek(0)
        return self._errors.read()

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait()
        self._errors.close()


class ForkServers:
    """Up to `count` fork servers per interpreter (one per toolchain in use), each started
    when first needed (an unchanged fleet starts none), all stopped by `close`."""

    def __init__(self, count: int) -> None:
        self._idle: dict[Interpreter, queue.Queue[ForkServer]] = {}
        self._started: list[ForkServer] = []
        self._running: dict[Interpreter, int] = {}
        self._count = count
        self._lock = threading.Lock()

    @contextmanager
    def server(self, interpreter: Interpreter = CAMPUS) -> Iterator[ForkServer]:
        with self._lock:
            idle = self._idle.setdefault(interpreter, queue.Queue())
            if idle.empty() and self._running.get(interpreter, 0) < self._count:
                self._started.append(ForkServer(interpreter))
                self._running[interpreter] = self._running.get(interpreter, 0) + 1
                idle.put(self._started[-1])
        server = idle.get()
        try:
            yield server
        finally:
            idle.put(server)

    def close(self) -> None:
        for server in self._started:
            server.close()


def _run_worker(
    environment: Environment,
    request: dict[str, Any],
    servers: ForkServers | None = None,
    interpreter: Interpreter = CAMPUS,
) -> dict[str, Any]:
    """Tutor's result for `request`: from a fork server of `servers`, else from a process
    of its own (`campus.render.worker`), run by `interpreter`."""
    if servers is not None:
        with servers.server(interpreter) as server:
            output, errors = server.render(request), ""
    else:
        completed = subprocess.run(
            interpreter.command("campus.render.worker"),
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=interpreter.env(TUTOR_ROOT=request["root"]),
        )
        output, errors = completed.stdout, completed.stderr
    try:
        result: dict[str, Any] = json.loads(output)
    except ValueError:
        tail = (errors or output).strip().splitlines()[-10:]
        raise RenderError(f"{environment.name}: Tutor failed:\n" + "\n".join(tail)) from None
    if "error" in result:
        raise RenderError(f"{environment.name}: {result['error']}")
    return result


def init_tasks(objects: list[KubeObject], tasks: list[dict[str, str]]) -> list[InitTask]:
    """Tutor's init tasks as Jobs, built the way Tutor's Kubernetes runner builds them:
    from the service's Job template, with the script run by `sh -e -c`."""
    templates = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Job"}
    result = []
    for index, task in enumerate(tasks):
        service = task["service"]
        template = templates.get(f"{service}-job")
        if template is None:
            raise RenderError(f"init task for {service!r} has no Job template {service}-job")
        job = copy.deepcopy(template)
        name = f"{service}-init-{index + 1}"
        job["metadata"]["name"] = name
        job["metadata"].setdefault("labels", {})[NAME] = name
        container = job["spec"]["template"]["spec"]["containers"][0]
        shell = ["sh", "-e", "-c"]
        if container.get("command") == []:
            container["command"] = shell  # Tutor's marker for "bypass the entrypoint"
            container["args"] = [task["script"]]
        else:
            container["args"] = [*shell, task["script"]]
        job["spec"]["backoffLimit"] = 1
        result.append(InitTask(service, task["script"], job))
    return result


def _render_through_tutor(
    environment: Environment,
    request: dict[str, Any],
    toolchain: dict[str, Any] | None,
    servers: ForkServers | None = None,
    interpreter: Interpreter = CAMPUS,
) -> tuple[dict[str, Any], list[KubeObject]]:
    """Tutor's result and the built objects: from the render cache when every input is
    unchanged (`campus.render.cache`), else through Tutor, then cached."""
    root = Path(request["root"])
    if toolchain is not None:
        hit = cache.load(root, cache.key(toolchain, request, root))
        if hit is not None:
            return hit["result"], hit["built"]
    result = _run_worker(environment, request, servers, interpreter)
    files = result.pop("files", None)
    built = build(root / "env") if files is None else build_files(files)
    if toolchain is not None:
        # Keyed by config.yml as Tutor left it: rendering again from it gives this output.
        cache.store(root, cache.key(toolchain, request, root), {"result": result, "built": built})
    return result, built


def render_environment(
    environment: Environment,
    state_dir: Path,
    cluster: ClusterCopies | None = None,
    toolchain: dict[str, Any] | None = None,
    servers: ForkServers | None = None,
    release: ReleaseRuntime | None = None,
    in_memory: bool = True,
) -> RenderedEnvironment:
    """Render from the Tutor state `settle` chooses; refuses (`StateConflict`) a local
    cache that disagrees with the cluster's copy, before Tutor writes anything.
    `toolchain` (`cache.toolchain()`): use the render cache; None renders through Tutor.
    `servers`: render in a child of one; None, in a process of its own.
    `release`: the pinned release's toolchain to render with (None: campus's Tutor).
    `in_memory`: Tutor renders the files campus builds to strings; else it writes its whole
    env folder, which campus reads back (the path before, kept to compare with)."""
    name = environment.name
    root = environment_root(state_dir, name)
    stored, unconsulted = (cluster or ClusterCopies()).of(name)
    settled = settle(
        name,
        environment.namespace,
        cached=cached_settings(state_dir, name),
        confirmed=is_confirmed(state_dir, name),
        stored=stored,
        unconsulted=unconsulted,
        fleet_keys=frozenset(tutor_settings(environment)),
        cache=str(root / CONFIG_FILE),
    )
    if settled.origin is Origin.NEW and JWT_KEY not in environment.tutor:
        provide_jwt_key(state_dir, name)  # faster than Tutor's own (see there)
    request = _worker_request(root, environment, dict(settled.seed), in_memory)
    interpreter = release.interpreter if release else CAMPUS
    result, built = _render_through_tutor(environment, request, toolchain, servers, interpreter)
    plugin_versions = release.plugin_versions if release else campus_plugin_versions()
    # Tutor writes its settings (passwords included) world-readable: owner only.
    (root / CONFIG_FILE).chmod(0o600)
    if settled.origin is not Origin.CACHE:
        mark(state_dir, name, confirmed=settled.origin is Origin.CLUSTER)
    is_template = [
        obj["kind"] == "Job"
        and (obj["metadata"].get("labels") or {}).get(COMPONENT) == JOB_COMPONENT
        for obj in built
    ]
    objects = [obj for obj, template in zip(built, is_template, strict=True) if not template]
    return RenderedEnvironment(
        environment=environment,
        objects=objects,
        init_tasks=init_tasks(built, result["tasks"]),
        tutor_config=result["config"],
        secret_values=frozenset(result["secretValues"]),
        tutor_version=result["tutorVersion"],
        tutor_state=result["state"],
        state_origin=settled.describe(),
        plugin_versions={p: plugin_versions[p] for p in result["plugins"] if p in plugin_versions},
        toolchain=release.description if release else "",
        state_source=settled.origin.value,
        state_detail=settled.note,
        state_unasked=settled.unasked,
        state_alone=settled.describe_alone(),
    )


def render_fleet(
    fleet: Fleet,
    environments: list[str] | None = None,
    state_dir: Path | None = None,
    jobs: int | None = None,
    cluster: ClusterCopies | None = None,
    use_cache: bool = True,
    fork: bool = True,
    progress: ToolchainProgress | None = None,
    in_memory: bool = True,
) -> list[RenderedEnvironment]:
    """Render the named environments (all by default) in parallel, in fleet order;
    `cluster`: what the cluster holds of their Tutor state (by default, not asked);
    `use_cache`: skip Tutor for unchanged environments (unless `CAMPUS_RENDER_CACHE=off`);
    `fork`: render in children of fork servers (where the system forks), else each
    environment in a process of its own. Environments that pin a release render with its
    toolchain, made first if missing (`progress` hears how that goes; default: stderr);
    `in_memory`: see `render_environment`."""
    selected = [e for e in fleet.environments if not environments or e.name in environments]
    directory = state_dir or state_dir_for(Path(fleet.source))
    workers = max(1, jobs or os.cpu_count() or 1)
    caching = use_cache and cache.enabled()
    toolchain = None
    if caching:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        toolchain = cache.toolchain(memo=directory / cache.MEMO_FILE)
    servers = ForkServers(workers) if fork and hasattr(os, "fork") else None
    with tempfile.TemporaryDirectory(prefix="campus-worker-") as worker_copy:
        releases = release_runtimes(
            Path(fleet.source), selected, Path(worker_copy), caching, progress
        )

        def one(environment: Environment) -> RenderedEnvironment:
            release = releases.get(environment.name)
            inputs = release.cache_inputs if release else toolchain
            return render_environment(
                environment, directory, cluster, inputs, servers, release, in_memory
            )

        try:
            with ThreadPoolExecutor(max_workers=workers) as threads:
                return list(threads.map(one, selected))
        finally:
            if servers is not None:
                servers.close()
