"""Starting, inspecting, failing and stopping a sandbox cluster.

kwokctl's binary runtime starts the real control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler), the KWOK controller and metrics-server from the
binaries campus built, inside campus's own state directory. campus then creates the
simulated nodes and a default StorageClass through the API.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Node
from ruamel.yaml import YAML

from campus.errors import CampusError
from campus.file_lock import locked
from campus.kube.client import KubeClient
from campus.kube.connect import client_from_file
from campus.kube.errors import ApiFailure, Conflict, NotFound, Unreachable
from campus.kube.objects import KubeObject, is_ready
from campus.labels import HEARTBEAT, ZONE
from campus.sandbox import gateway, network
from campus.sandbox import nodes as node_specs
from campus.sandbox import real_nodes as real
from campus.sandbox.build import Binaries, ensure_binaries
from campus.sandbox.node_config import CLUSTER_DOMAIN
from campus.sandbox.paths import kubeconfig_path, state_dir, state_root
from campus.sandbox.versions import KUBERNETES

T = TypeVar("T")
MANIFESTS = Path(__file__).parent / "manifests"


class SandboxError(CampusError):
    pass


@dataclass(frozen=True)
class Timing:
    """How fast the simulated cluster notices and reacts to a lost node. Kubernetes'
    defaults (40 s grace, 300 s tolerations) make a drill last minutes; a sandbox wants
    seconds, and the same controllers do the same work either way."""

    node_lease_seconds: int = 8
    node_status_update_ms: int = 4000
    node_monitor_period_ms: int = 2000
    node_monitor_grace_ms: int = 12000
    eviction_toleration_seconds: int = 10


@dataclass(frozen=True)
class SandboxInfo:
    name: str
    kubeconfig: Path
    server: str
    nodes: list[str]
    audit_log: Path | None = None  # the API server's audit log, when started with `audit`
    service_range: str = ""  # the API server's Service range (`campus.sandbox.network`)
    real_nodes: tuple[str, ...] = ()  # nodes that run containers (`campus.sandbox.real_nodes`)


# The cheapest policy that still sees every request: one Metadata event per request stage
# (no bodies), and not the RequestReceived stage, which would double every count.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}


def audit_log_path(name: str) -> Path:
    """Where kwokctl has the API server write its audit log (JSON, one event a line)."""
    return state_dir(name) / "kwok" / "clusters" / name / "logs" / "audit.log"


def _kwokctl_config(
    directory: Path,
    name: str,
    ports: dict[str, int],
    timing: Timing,
    audit_policy: Path | None = None,
    service_range: str | None = None,
    real_nodes: bool = False,
) -> dict[str, object]:
    toleration = str(timing.eviction_toleration_seconds)
    # The API server vouches for the users it proxies to metrics-server with kwokctl's
    # client certificate; metrics-server needs the CA of that to trust it.
    ca = str(directory / "kwok" / "clusters" / name / "pki" / "ca.crt")
    audit = {} if audit_policy is None else {"kubeAuditPolicy": str(audit_policy)}
    pki = directory / "kwok" / "clusters" / name / "pki"
    # Real nodes: the API server reaches their kubelets (logs, exec) as kwok-admin, and
    # checks their serving certificates against the sandbox CA; the controller-manager
    # gives each a pod range from the range KWOK's nodes take theirs from.
    kubelet_client = [
        {"key": "kubelet-client-certificate", "value": str(pki / "admin.crt")},
        {"key": "kubelet-client-key", "value": str(pki / "admin.key")},
        # A node's name is not in any DNS here: reach its kubelet at its address.
        {"key": "kubelet-preferred-address-types", "value": "InternalIP,Hostname"},
    ]
    # Pods on real nodes reach the API server at the `kubernetes` Service's address (the
    # first of the range) by its in-cluster names: its certificate must name them, as
    # kubeadm's does (kwokctl's names only the machine's own addresses).
    first = [str(ipaddress.ip_network(service_range)[1])] if service_range else []
    in_cluster = [*first, "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    in_cluster.append(f"kubernetes.default.svc.{CLUSTER_DOMAIN}")
    pod_ranges = [
        {"key": "allocate-node-cidrs", "value": "true"},
        {"key": "cluster-cidr", "value": network.CLUSTER_POD_RANGE},
        {"key": "node-cidr-mask-size", "value": str(network.POD_RANGE_PREFIX)},
    ]
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            **audit,
            "runtime": "binary",
            **ports,
            "heartbeatFactor": 1,
            "nodeLeaseDurationSeconds": timing.node_lease_seconds,
            "nodeStatusUpdateFrequencyMilliseconds": timing.node_status_update_ms,
            "kubeControllerManagerNodeMonitorPeriodMilliseconds": timing.node_monitor_period_ms,
            "kubeControllerManagerNodeMonitorGracePeriodMilliseconds": timing.node_monitor_grace_ms,
            "enable": ["metrics-server"],
            "metricsServerManifests": [str(MANIFESTS / "metrics-server")],
            "cacheDir": str(directory / "cache"),
            "disableQPSLimits": True,
            **({"kubeApiserverCertSANs": in_cluster} if real_nodes else {}),
        },
        "componentsPatches": [
            {
                "name": "kube-apiserver",
                "extraArgs": [
                    {"key": "default-not-ready-toleration-seconds", "value": toleration},
                    {"key": "default-unreachable-toleration-seconds", "value": toleration},
                    {"key": "requestheader-client-ca-file", "value": ca},
                    {"key": "requestheader-allowed-names", "value": "kwok-admin"},
                    {"key": "requestheader-username-headers", "value": "X-Remote-User"},
                    {"key": "requestheader-group-headers", "value": "X-Remote-Group"},
                    {"key": "requestheader-extra-headers-prefix", "value": "X-Remote-Extra-"},
                    # One file however long the sandbox runs (the default rotates at 100 MB),
                    # so that offsets into it stay valid.
                    *([{"key": "audit-log-maxsize", "value": "4096"}] if audit_policy else []),
                    *(
                        [{"key": "service-cluster-ip-range", "value": service_range}]
                        if service_range
                        else []
                    ),
                    *(kubelet_client if real_nodes else []),
                ],
            },
            {
                "name": "kube-controller-manager",
                # Binds PersistentVolumeClaims to host-path volumes, as a cloud's CSI would.
                "extraArgs": [
                    {"key": "enable-hostpath-provisioner", "value": "true"},
                    *(pod_ranges if real_nodes else []),
                ],
            },
            {
                "name": "kwok-controller",
                # Simulate only the nodes carrying the heartbeat label, so that taking it
                # away stops one node's heartbeats (`fail_node`): a label selector is
                # evaluated by the API server, which tells KWOK when a node stops matching.
                # The later flag wins over kwokctl's own --manage-all-nodes=true.
                "extraArgs": [
                    {"key": "manage-all-nodes", "value": "false"},
                    {
                        "key": "manage-nodes-with-label-selector",
                        "value": f"{HEARTBEAT}=on",
                    },
                ],
            },
        ],
    }


def _environment(binaries: Binaries, directory: Path) -> dict[str, str]:
    names = {
        "KWOK_KUBE_APISERVER_BINARY": "kube-apiserver",
        "KWOK_KUBE_CONTROLLER_MANAGER_BINARY": "kube-controller-manager",
        "KWOK_KUBE_SCHEDULER_BINARY": "kube-scheduler",
        "KWOK_KUBECTL_BINARY": "kubectl",
        "KWOK_ETCD_BINARY": "etcd",
        "KWOK_CONTROLLER_BINARY": "kwok",
        "KWOK_METRICS_SERVER_BINARY": "metrics-server",
    }
    return {
        **os.environ,
        **{variable: str(binaries.path(binary)) for variable, binary in names.items()},
        "KWOK_WORKDIR": str(directory / "kwok"),
        "KWOK_KUBE_VERSION": KUBERNETES,
    }


# Every port of a control plane kwokctl would otherwise pick itself. It picks by counting
# down from 32767 to the first it can bind, so two sandboxes starting at once chose the
# same etcd port and the second API server joined the first one's etcd (its nodes "already
# existed"). campus takes them from the kernel instead, all at once so they differ, under
# a lock held until the components listen.
COMPONENT_PORTS = (
    "etcdPort",
    "etcdPeerPort",
    "kubeControllerManagerPort",
    "kubeSchedulerPort",
    "kwokControllerPort",
    "metricsServerPort",
)


def _free_ports(count: int) -> list[int]:
    """`count` different ports no process listens on now."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def client_for(name: str, timeout: float = 10) -> KubeClient:
    path = kubeconfig_path(name)
    if not path.exists():
        raise SandboxError(
            f"sandbox {name!r} is not running (start it: campus sandbox up --name {name})"
        )
    return client_from_file(path, timeout)


def is_running(name: str) -> bool:
    try:
        client_for(name, timeout=3).get(Node, "node-0")
    except (SandboxError, Unreachable, OSError):
        return False
    except ApiFailure:
        return True  # the API server answered
    return True


def _kwokctl(binaries: Binaries, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binaries.path("kwokctl")), *args],
        env=_environment(binaries, directory),
        capture_output=True,
        text=True,
    )


def up(
    name: str = "campus",
    nodes: int = 3,
    node_cpu: str = "8",
    node_memory: str = "32Gi",
    zones: tuple[str, ...] = ("a", "b", "c"),
    port: int | None = None,
    timing: Timing = Timing(),
    progress: Callable[[str], None] = lambda message: None,
    audit: bool = False,
    node_reserved: tuple[str, str] | None = None,
    service_cidr: str | None = None,
    real_nodes: int = 0,
) -> SandboxInfo:
    """Start a sandbox and wait until every node is Ready; with `audit`, the API server
    logs every request it serves (`SandboxInfo.audit_log`). `node_reserved` (CPU, memory) is
    held back from each node's allocatable, like a kubelet's reservation. The Service range
    is `service_cidr`, else sized for what `nodes` nodes can run (`network.service_range`).
    `real_nodes` nodes more run containers: a kubelet and containerd each, on this machine."""
    try:
        node_specs.validate_shape(nodes, node_cpu, node_memory, list(zones))
        service_range = (
            network.checked_service_range(service_cidr)
            if service_cidr
            else network.service_range(nodes, node_specs.NODE_PODS)
        )
    except ValueError as error:
        raise SandboxError(str(error)) from None
    if not node_specs.DNS_NAME.match(name):
        raise SandboxError(f"sandbox name {name!r} must be lower-case letters, digits and '-'")
    directory = state_dir(name)
    if is_running(name):
        raise SandboxError(
            f"sandbox {name!r} is already running (kubeconfig {kubeconfig_path(name)}); "
            f"stop it first with `campus sandbox down --name {name}` or pick another --name"
        )
    if port is not None and _port_taken(port):
        raise SandboxError(f"port {port} is already taken; choose another --port or leave it out")
    if real_nodes:
        real.check_machine(name)  # before anything starts: the KWOK-only sandbox still works
    binaries = ensure_binaries(progress)
    if directory.exists():  # left over from a sandbox that died: clear it
        _stop(binaries, name, directory)
    directory.mkdir(parents=True, mode=0o700)
    audit_policy = directory / "audit-policy.yaml" if audit else None
    if audit_policy is not None:
        with audit_policy.open("w") as stream:
            YAML().dump(AUDIT_POLICY, stream)
    config_file = directory / "kwokctl.yaml"
    with locked(
        state_root() / ".ports.lock",
        lambda: progress("waiting for another sandbox to start (choosing ports)"),
    ):
        chosen = [p for p in _free_ports(len(COMPONENT_PORTS) + 1) if p != port]
        api_port = port or chosen.pop()
        ports = {"kubeApiserverPort": api_port, **dict(zip(COMPONENT_PORTS, chosen, strict=False))}
        with config_file.open("w") as stream:
            YAML().dump(
                _kwokctl_config(
                    directory,
                    name,
                    ports,
                    timing,
                    audit_policy,
                    service_range,
                    real_nodes=real_nodes > 0,
                ),
                stream,
            )
        progress(f"starting the control plane of sandbox {name} on 127.0.0.1:{api_port}")
        started = _kwokctl(
            binaries,
            directory,
            "--config",
            str(config_file),
            "create",
            "cluster",
            "--name",
            name,
            "--kubeconfig",
            str(kubeconfig_path(name)),
            "--wait",
            "2m",
        )
    if started.returncode != 0:
        _stop(binaries, name, directory)
        raise SandboxError(f"the control plane did not start:\n{_last_error(started.stderr)}")
    try:
        client = client_for(name, timeout=30)
        progress(
            f"creating {nodes} nodes ({node_cpu} CPU, {node_memory}) in zones {','.join(zones)}"
        )
        _create_nodes(
            client,
            node_specs.nodes_for(name, nodes, node_cpu, node_memory, list(zones), node_reserved),
            timeout=300,
        )
        # Seconds when the machine is idle; minutes when other control planes load it.
        _wait_nodes_ready(client, node_specs.node_names(nodes), timeout=300)
        gateway.install(client, progress)
        started_real = (
            real.start(
                client,
                real.Plane(
                    name,
                    directory,
                    api_port,
                    service_range,
                    network.CLUSTER_POD_RANGE,
                    timing.node_lease_seconds,
                    timing.node_status_update_ms,
                ),
                real_nodes,
                zones,
                progress,
            )
            if real_nodes
            else []
        )
    except Exception as error:  # whatever went wrong, leave nothing half-started
        _stop(binaries, name, directory)
        raise SandboxError(f"sandbox {name} did not become ready: {error}") from None
    progress(f"sandbox {name} is ready")
    return SandboxInfo(
        name,
        kubeconfig_path(name),
        f"https://127.0.0.1:{api_port}",
        node_specs.node_names(nodes),
        audit_log_path(name) if audit else None,
        service_range,
        tuple(started_real),
    )


def _last_error(stderr: str) -> str:
    messages = []
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            messages.append(line)
            continue
        if record.get("level") == "ERROR":
            messages.append(f"{record.get('msg')}: {record.get('err', '')}")
    return "\n".join(messages[-5:]) or stderr[-2000:]


def _answered(step: Callable[[], T], deadline: float) -> T:
    """`step`'s result, asked again while the API server lets it time out: a control plane
    that has just started on a loaded machine may. Past `deadline` the error stands."""
    while True:
        try:
            return step()
        except Unreachable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _create_nodes(client: Client, manifests: list[KubeObject], timeout: float) -> None:
    """The storage class and the nodes, each step `_answered`. A node that exists already
    was created by the attempt whose answer was lost (every port of this control plane is
    its own, so no other sandbox's node can be here)."""
    deadline = time.monotonic() + timeout
    _answered(
        lambda: client.apply(from_dict(node_specs.storage_class()), field_manager="campus-sandbox"),
        deadline,
    )
    for manifest in manifests:
        _answered(functools.partial(_create_node, client, manifest), deadline)


def _create_node(client: Client, manifest: KubeObject) -> None:
    with contextlib.suppress(Conflict):
        client.create(from_dict(manifest))


def _wait_nodes_ready(client: Client, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        listed = _answered(lambda: list(client.list(Node)), deadline)
        ready = {n.metadata.name for n in listed if n.metadata and is_ready(n.to_dict())}
        missing = [name for name in names if name not in ready]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"nodes not Ready after {timeout:.0f}s: {', '.join(missing)}")
        time.sleep(0.5)


def _pids(directory: Path) -> list[int]:
    pids = []
    for pid_file in (directory / "kwok").glob("clusters/*/pids/*.pid"):
        try:
            pids.append(int(pid_file.read_text().strip()))
        except ValueError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(binaries: Binaries | None, name: str, directory: Path) -> None:
    """Stop every process of the sandbox and remove its state; safe to call twice."""
    real.stop(name, directory, real.kube_proxy_binary())
    pids = _pids(directory)
    if binaries is not None and (directory / "kwok").exists():
        _kwokctl(
            binaries,
            directory,
            "delete",
            "cluster",
            "--name",
            name,
            "--kubeconfig",
            str(kubeconfig_path(name)),
        )
    deadline = time.monotonic() + 10
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)


def down(name: str = "campus") -> bool:
    """Stop the sandbox; False when there was nothing to stop."""
    directory = state_dir(name)
    if not directory.exists():
        return False
    try:
        binaries: Binaries | None = ensure_binaries()
    except CampusError:
        binaries = None  # still kill what the pid files name
    _stop(binaries, name, directory)
    return True


@dataclass(frozen=True)
class NodeState:
    name: str
    zone: str
    ready: bool
    simulated: bool
    pods: int
    real: bool = False  # a kubelet's node, running containers


def status(name: str = "campus") -> list[NodeState]:
    from lightkube.resources.core_v1 import Pod

    client = client_for(name)
    pods_per_node: dict[str, int] = {}
    for pod in client.list(Pod, namespace="*"):
        node_name = pod.spec.nodeName if pod.spec else None
        if node_name and not (pod.metadata and pod.metadata.deletionTimestamp):
            pods_per_node[node_name] = pods_per_node.get(node_name, 0) + 1
    result = []
    for node in client.list(Node):
        metadata = node.metadata
        assert metadata is not None and metadata.name is not None
        result.append(
            NodeState(
                name=metadata.name,
                zone=(metadata.labels or {}).get(ZONE, "-"),
                ready=is_ready(node.to_dict()),
                simulated=HEARTBEAT in (metadata.labels or {}),
                pods=pods_per_node.get(metadata.name, 0),
                real=real.REAL_NODE in (metadata.labels or {}),
            )
        )
    return sorted(result, key=lambda n: n.name)


def _node(client: Client, name: str, node: str) -> Node:
    try:
        return client.get(Node, node)
    except NotFound:
        known = ", ".join(
            sorted(n.metadata.name for n in client.list(Node) if n.metadata and n.metadata.name)
        )
        raise SandboxError(f"sandbox {name} has no node {node!r}; nodes: {known}") from None


def fail_node(name: str, node: str) -> None:
    """Make a node stop heartbeating, as if its machine died: the node controller marks it
    NotReady, taints it, and evicts its pods after the toleration; Deployments replace them
    on the other nodes."""
    client = client_for(name)
    _node(client, name, node)
    client.patch(
        Node,
        node,
        {"metadata": {"labels": {HEARTBEAT: None}}},
    )


def restore_node(name: str, node: str, timeout: float = 60) -> None:
    """Bring a failed node back and wait until it is Ready again."""
    client = client_for(name)
    _node(client, name, node)
    client.patch(
        Node,
        node,
        {"metadata": {"labels": {HEARTBEAT: "on"}}},
    )
    _wait_nodes_ready(client, [node], timeout)


def add_node(name: str, like: str, timeout: float = 60) -> str:
    """A new node of the same size and zone as `like` (a node group's replacement), named
    after the last node (node-N+1); waits until it is Ready and returns its name."""
    client = client_for(name)
    model = _node(client, name, like).to_dict()
    names = {n.metadata.name for n in client.list(Node) if n.metadata and n.metadata.name}
    new = node_specs.next_node_name(names)
    capacity = model.get("status", {}).get("capacity") or {}
    allocatable = model.get("status", {}).get("allocatable") or {}
    manifest = node_specs.node_manifest(
        new,
        name,
        model["metadata"].get("labels", {}).get(ZONE, ""),
        capacity.get("cpu", "8"),
        capacity.get("memory", "32Gi"),
        int(capacity.get("pods", 110)),
    )
    manifest["status"]["allocatable"] = dict(allocatable) or manifest["status"]["allocatable"]
    client.create(from_dict(manifest))
    _wait_nodes_ready(client, [new], timeout)
    return new


def delete_node(name: str, node: str) -> None:
    """Remove a node, as a node group does with a machine it retired: the pod garbage
    collector deletes whatever was still bound to it."""
    client = client_for(name)
    _node(client, name, node)
    client.delete(Node, node)


# The control-plane processes a drill may restart.
RESTARTABLE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
# How long, after a restart, the others are watched and started again if they exit: the
# controller-manager and the scheduler exit when they cannot renew their leader Lease
# (15 s) while the API server is away, and a kubelet would start them again. On a loaded
# machine the API server answers slowly for a while after it is back, and a renewal can
# still fail well after 40 s: a controller-manager nobody restarts stops every rollout.
SUPERVISE_SECONDS = 90.0


@dataclass(frozen=True)
class _Process:
    """How kwokctl started one component: what its /proc entries record."""

    args: list[str]
    environment: dict[str, str]
    workdir: Path


def _component_dir(name: str) -> Path:
    return state_dir(name) / "kwok" / "clusters" / name


def _process_of(name: str, component: str) -> tuple[int, _Process]:
    pid_file = _component_dir(name) / "pids" / f"{component}.pid"
    try:
        pid = int(pid_file.read_text().strip())
        proc = Path("/proc") / str(pid)
        args = [part.decode() for part in (proc / "cmdline").read_bytes().split(b"\0") if part]
        environ = (proc / "environ").read_bytes().split(b"\0")
        workdir = (proc / "cwd").readlink()
    except (OSError, ValueError) as error:
        raise SandboxError(f"{component} of sandbox {name} is not running: {error}") from None
    variables = dict(entry.decode().split("=", 1) for entry in environ if b"=" in entry)
    return pid, _Process(args, variables, workdir)


def _launch(name: str, component: str, process: _Process) -> None:
    with (_component_dir(name) / "logs" / f"{component}.log").open("ab") as log:
        started = subprocess.Popen(
            process.args,
            cwd=process.workdir,
            env=process.environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    (_component_dir(name) / "pids" / f"{component}.pid").write_text(f"{started.pid}\n")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a process campus started and that exited stays one until
    it is reaped)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def restart_component(
    name: str,
    component: str,
    timeout: float = 60,
    supervise: float = SUPERVISE_SECONDS,
    progress: Callable[[str], None] = lambda message: None,
) -> float:
    """Stop one control-plane process of the sandbox and start it again with the same
    command line, environment and working directory, as a kubelet restarts a crashed
    static pod; returns the seconds until it runs again (for the API server: until it
    answers). kwokctl has no such command: the process's own /proc entries are the
    record of how kwokctl started it (the seconds include its graceful stop, up to 10 s).
    For `supervise` seconds afterwards, any other control-plane process that exits
    (leader election lost) is started again; the call returns after that."""
    if component not in RESTARTABLE:
        raise SandboxError(f"cannot restart {component!r}; one of: {', '.join(RESTARTABLE)}")
    running = {c: _process_of(name, c) for c in RESTARTABLE}
    pid, process = running[component]
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    deadline = started + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    _launch(name, component, process)
    if component == "kube-apiserver":
        while not is_running(name):
            if time.monotonic() - started > timeout:
                raise SandboxError(f"the API server of sandbox {name} did not answer again")
            time.sleep(0.2)
    back = time.monotonic() - started
    others = {c: running[c] for c in RESTARTABLE if c != component}
    until = time.monotonic() + supervise
    while time.monotonic() < until:
        for other, (other_pid, other_process) in others.items():
            if not _running(other_pid):
                progress(f"{other} exited (leader election lost); starting it again")
                _launch(name, other, other_process)
                others[other] = _process_of(name, other)
        time.sleep(0.5)
    return back
