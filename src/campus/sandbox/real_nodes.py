"""Real nodes beside the KWOK ones: a kubelet and containerd per node on this machine,
joined to the sandbox's control plane, and one kube-proxy for the machine.

Like Kubernetes' own hack/local-up-cluster.sh, every process runs on the host. Several
real nodes share the machine's network namespace: each has a bridge and pod range of
its own, and the machine routes between them, so one kube-proxy's rules serve them all.
Everything a node writes is under its directory in the sandbox's state; `stop` kills
its pods' processes by their cgroups, unmounts what containerd and the kubelet mounted
there and removes its bridge, so a stopped sandbox leaves the machine as it was.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Node, Pod, Secret
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from campus.errors import CampusError
from campus.kube.client import KubeClient
from campus.kube.errors import NotFound
from campus.kube.objects import is_ready
from campus.labels import ZONE
from campus.sandbox import (
    cluster_dns,
    images,
    ingress_controller,
    machine,
    node_config,
    node_pki,
    object_store,
    oci,
    policy_engine,
    sandbox_objects,
)
from campus.sandbox.build import Binaries, ensure_node_binaries, node_binaries_directory
from campus.sandbox.node_config import REAL_NODE, RealNode
from campus.sandbox.paths import kubeconfig_path, state_dir, state_root
from campus.sandbox.placement import MachineServices

__all__ = ["REAL_NODE", "Plane", "RealNodeError", "check_machine", "start", "stop"]

PIDS = "pids"


class RealNodeError(CampusError):
    pass


@dataclass(frozen=True)
class Plane:
    """What a real node needs to know of the control plane it joins."""

    sandbox: str
    directory: Path  # the sandbox's state directory
    api_port: int
    service_range: str
    cluster_cidr: str
    lease_seconds: int
    status_update_ms: int

    @property
    def pki(self) -> Path:
        return self.directory / "kwok" / "clusters" / self.sandbox / "pki"

    @property
    def ca(self) -> node_pki.KeyPair:
        return node_pki.KeyPair(self.pki / "ca.crt", self.pki / "ca.key")

    @property
    def cluster_dns(self) -> str:
        # The tenth address of the Service range, where kubeadm puts kube-dns.
        return str(ipaddress.ip_network(self.service_range)[10])


def machine_services(sandbox: str) -> MachineServices | None:
    """Where the sandbox's pods find its cluster DNS and API server on this machine (the
    address CoreDNS binds, as every real node's; the API server's port), or None when it
    runs no real nodes."""
    corefile = nodes_directory(state_dir(sandbox)) / "Corefile"
    try:
        found = cluster_dns.endpoint(corefile.read_text())
        server = YAML(typ="safe").load(kubeconfig_path(sandbox).read_text())
        api_port = urllib.parse.urlsplit(server["clusters"][0]["cluster"]["server"]).port
    except (OSError, LookupError, TypeError, ValueError, YAMLError):
        return None
    if found is None or api_port is None:
        return None
    return MachineServices(found[0], found[1], api_port)


def real_node_names(count: int) -> list[str]:
    return [f"real-{index}" for index in range(count)]


def nodes_directory(sandbox_directory: Path) -> Path:
    return sandbox_directory / "real-nodes"


def machine_address() -> str:
    """The address of this machine's default route: the kubelet serves there and pods
    reach the API server there (the API server listens on every address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("203.0.113.1", 9))  # no packet is sent for a UDP connect
        address = str(probe.getsockname()[0])
        if not address.startswith("127."):
            return address
    raise RealNodeError("this machine has no network address besides loopback for a real node")


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def holder_of_the_machine(sandbox: str) -> str | None:
    """Another sandbox whose real nodes run here: the machine's iptables rules are one
    kube-proxy's, so only one sandbox at a time can have real nodes."""
    for pid_file in state_root().glob(f"*/real-nodes/{PIDS}/kube-proxy.pid"):
        other = pid_file.parents[2].name
        with contextlib.suppress(OSError, ValueError):
            if other != sandbox and _alive(int(pid_file.read_text().strip())):
                return other
    return None


def check_machine(sandbox: str) -> None:
    holder = holder_of_the_machine(sandbox)
    if holder is not None:
        raise RealNodeError(
            f"sandbox {holder!r} already runs real nodes on this machine, and its "
            "kube-proxy owns the machine's Service rules; stop it first "
            f"(campus sandbox down --name {holder}) or start this one without --real-nodes"
        )
    found = machine.inspect()
    if found.missing:
        raise RealNodeError(
            "this machine cannot run a real node; missing: "
            + "; ".join(found.missing)
            + machine.install_hint(found)
            + ". The sandbox without --real-nodes needs none of this."
        )


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("0.0.0.0", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def _write(path: Path, content: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
    return path


def _launch(directory: Path, name: str, args: list[str], env: dict[str, str] | None = None) -> int:
    (directory / PIDS).mkdir(parents=True, exist_ok=True)
    with (directory / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    (directory / PIDS / f"{name}.pid").write_text(f"{process.pid}\n")
    return process.pid


def _log_tail(directory: Path, name: str, lines: int = 8) -> str:
    path = directory / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait(check: Callable[[], bool], timeout: float, what: str, log: tuple[Path, str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RealNodeError(f"{what} after {timeout:.0f}s; its log ends:\n{_log_tail(*log)}")
        time.sleep(0.2)


def _set_sysctl(name: str, value: str) -> None:
    path = Path("/proc/sys") / name.replace(".", "/")
    if path.read_text().strip() != value:
        path.write_text(value)


def _make_cgroups(root: str) -> None:
    """The node's cgroup in every v1 hierarchy; a new cpuset cgroup gets its parent's
    CPUs and memory nodes, or no process could join it."""
    base = Path("/sys/fs/cgroup")
    for controller in machine.CONTROLLERS:
        hierarchy = base / controller
        if not hierarchy.exists():
            continue
        target = hierarchy / root.lstrip("/")
        target.mkdir(exist_ok=True)
        if controller == "cpuset":
            for name in ("cpuset.cpus", "cpuset.mems"):
                (target / name).write_text((hierarchy / name).read_text())
    systemd = base / "systemd"
    if systemd.exists():
        (systemd / root.lstrip("/")).mkdir(exist_ok=True)


def _layout(plane: Plane, count: int, zones: tuple[str, ...]) -> list[RealNode]:
    ports = _free_ports(2 * count)
    address = machine_address()
    return [
        RealNode(
            sandbox=plane.sandbox,
            name=name,
            directory=nodes_directory(plane.directory) / name,
            address=address,
            kubelet_port=ports[2 * index],
            healthz_port=ports[2 * index + 1],
            zone=zones[index % len(zones)],
        )
        for index, name in enumerate(real_node_names(count))
    ]


def _issue_identity(plane: Plane, node: RealNode) -> None:
    pki = node.directory / "pki"
    server = f"https://{node.address}:{plane.api_port}"
    client = node_pki.issue(
        plane.ca,
        node_pki.KeyPair(pki / "kubelet-client.crt", pki / "kubelet-client.key"),
        f"system:node:{node.name}",
        "system:nodes",
    )
    node_pki.issue(
        plane.ca,
        node_pki.KeyPair(pki / "kubelet.crt", pki / "kubelet.key"),
        node.name,
        addresses=(node.address,),
        dns_names=(node.name,),
        server=True,
    )
    config = node_config.kubeconfig(
        server, plane.ca.certificate, client.certificate, client.key, f"system:node:{node.name}"
    )
    _write(node.directory / "kubelet.kubeconfig", json.dumps(config), 0o600)


def _start_containerd(binaries: Binaries, node: RealNode, archives: list[Path]) -> None:
    config = _write(node.directory / "containerd.toml", node_config.containerd_config(node))
    # containerd finds its runc shim on PATH.
    path = f"{binaries.directory}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    _launch(
        node.directory,
        "containerd",
        [str(binaries.path("containerd")), "--config", str(config)],
        {**os.environ, "PATH": path},
    )
    _wait(
        lambda: node.socket.exists(),
        60,
        f"containerd of {node.name} did not open {node.socket}",
        (node.directory, "containerd"),
    )
    for archive in archives:
        oci.import_archive(binaries.path("ctr"), node.socket, archive)


def _start_kubelet(binaries: Binaries, plane: Plane, node: RealNode) -> None:
    pki = node.directory / "pki"
    _write(node.directory / "resolv.conf", f"nameserver {plane.cluster_dns}\n")
    config = node_config.kubelet_config(
        node,
        plane.ca.certificate,
        (pki / "kubelet.crt", pki / "kubelet.key"),
        plane.cluster_dns,
        plane.lease_seconds,
        plane.status_update_ms,
    )
    _write(node.directory / "kubelet.yaml", json.dumps(config))
    _make_cgroups(node.cgroup_root)
    labels = f"{ZONE}={node.zone},{REAL_NODE}=true"
    _launch(
        node.directory,
        "kubelet",
        [
            str(binaries.path("kubelet")),
            f"--config={node.directory / 'kubelet.yaml'}",
            f"--kubeconfig={node.directory / 'kubelet.kubeconfig'}",
            f"--hostname-override={node.name}",
            f"--node-ip={node.address}",
            f"--root-dir={node.directory / 'kubelet'}",
            f"--node-labels={labels}",
            "--v=1",
        ],
    )


def _machine_kubeconfig(plane: Plane, address: str, name: str, user: str) -> Path:
    """A kubeconfig of the machine's own processes (kube-proxy, CoreDNS, the policy
    engine), each as `user`, a client certificate signed by the sandbox CA."""
    directory = nodes_directory(plane.directory)
    pki = directory / "pki"
    identity = node_pki.issue(
        plane.ca, node_pki.KeyPair(pki / f"{name}.crt", pki / f"{name}.key"), user
    )
    config = node_config.kubeconfig(
        f"https://{address}:{plane.api_port}",
        plane.ca.certificate,
        identity.certificate,
        identity.key,
        user,
    )
    return _write(directory / f"{name}.kubeconfig", json.dumps(config), 0o600)


def _start_kube_proxy(binaries: Binaries, plane: Plane, first: RealNode) -> None:
    directory = nodes_directory(plane.directory)
    config_file = _machine_kubeconfig(plane, first.address, "kube-proxy", "system:kube-proxy")
    metrics, healthz = _free_ports(2)
    proxy_config = node_config.kube_proxy_config(
        config_file, first.name, plane.cluster_cidr, metrics, healthz
    )
    _write(directory / "kube-proxy.yaml", json.dumps(proxy_config))
    _launch(
        directory,
        "kube-proxy",
        [str(binaries.path("kube-proxy")), f"--config={directory / 'kube-proxy.yaml'}", "--v=1"],
    )


def _start_cluster_dns(client: KubeClient, binaries: Binaries, plane: Plane, address: str) -> None:
    directory = nodes_directory(plane.directory)
    kubeconfig = _machine_kubeconfig(plane, address, "dns", cluster_dns.IDENTITY)
    (port,) = _free_ports(1)
    corefile = _write(directory / "Corefile", cluster_dns.corefile(address, port, kubeconfig))
    sandbox_objects.apply(client, cluster_dns.objects(plane.cluster_dns, address, port))
    _launch(directory, "coredns", [str(binaries.path("coredns")), "-conf", str(corefile)])
    _wait(
        lambda: _listening(address, port),
        60,
        f"CoreDNS did not listen on {address}:{port}",
        (directory, "coredns"),
    )


def _start_policy_engine(
    client: KubeClient,
    binaries: Binaries,
    plane: Plane,
    first: RealNode,
    progress: Callable[[str], None],
) -> None:
    """One engine for the machine, like kube-proxy: every real node shares its address."""
    directory = nodes_directory(plane.directory)
    kubeconfig = _machine_kubeconfig(plane, first.address, "policy", policy_engine.IDENTITY)
    policy_engine.apply_rbac(client)
    policy_engine.start(
        directory,
        kubeconfig,
        first.name,
        plane.cluster_cidr,
        binaries.path("kube-router"),
        progress,
        service_range=plane.service_range,
    )


def _listening(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((address, port)) == 0


def _pod_range(client: KubeClient, name: str) -> str | None:
    try:
        node = client.get(Node, name)
    except NotFound:
        return None
    return node.spec.podCIDR if node.spec else None


def start(
    client: KubeClient,
    plane: Plane,
    count: int,
    zones: tuple[str, ...],
    progress: Callable[[str], None] = lambda message: None,
    timeout: float = 180,
) -> list[str]:
    """Start `count` real nodes and wait until each is Ready; returns their names."""
    check_machine(plane.sandbox)
    binaries = ensure_node_binaries(progress)
    archives = [
        images.build_static(images.PAUSE, binaries.path("pause"), "/pause", progress=progress),
        images.build_static(
            images.CADDY,
            binaries.path("caddy"),
            "/usr/bin/caddy",
            images.CADDY_DIRECTORIES,
            progress,
        ),
        images.build_static(
            images.TRAEFIK, binaries.path("traefik"), "/usr/local/bin/traefik", progress=progress
        ),
        images.build_static(
            images.VERSITYGW,
            binaries.path("versitygw"),
            "/usr/local/bin/versitygw",
            progress=progress,
        ),
        *images.build_all(progress).values(),
    ]
    _set_sysctl("net.ipv4.ip_forward", "1")
    _set_sysctl("net.bridge.bridge-nf-call-iptables", "1")
    nodes = _layout(plane, count, zones)
    for node in nodes:
        progress(f"starting real node {node.name}: containerd, then the kubelet")
        node.directory.mkdir(parents=True, exist_ok=True)
        _issue_identity(plane, node)
        _start_containerd(binaries, node, archives)
        _start_kubelet(binaries, plane, node)
    _start_kube_proxy(binaries, plane, nodes[0])
    progress(f"starting the cluster DNS (CoreDNS) at {plane.cluster_dns}")
    _start_cluster_dns(client, binaries, plane, nodes[0].address)
    routed = (plane.service_range, plane.cluster_cidr, f"{nodes[0].address}/32")
    for node in nodes:
        progress(f"waiting for {node.name} to register and get a pod range")
        _wait(
            lambda node=node: _pod_range(client, node.name) is not None,  # type: ignore[misc]
            timeout,
            f"real node {node.name} did not register with a pod range",
            (node.directory, "kubelet"),
        )
        pod_range = _pod_range(client, node.name)
        assert pod_range is not None
        _write(
            node.cni_conf_dir / "10-campus.conflist",
            json.dumps(node_config.cni_config(node, pod_range, routed)),
        )
    for node in nodes:
        progress(f"waiting for real node {node.name} to be Ready")
        _wait(
            lambda node=node: is_ready(client.get(Node, node.name).to_dict()),  # type: ignore[misc]
            timeout,
            f"real node {node.name} did not become Ready",
            (node.directory, "kubelet"),
        )
    progress("starting the NetworkPolicy engine (kube-router's firewall)")
    _start_policy_engine(client, binaries, plane, nodes[0], progress)
    entry = ingress_controller.address(plane.service_range)
    progress(f"starting the ingress controller (Traefik) at {entry}")
    sandbox_objects.apply(client, ingress_controller.objects(plane.service_range))
    progress(f"starting the backup store (versitygw, S3) at {object_store.endpoint()}")
    _start_object_store(client, plane, nodes[0])
    _wait_running(client, ingress_controller.NAMESPACE, ingress_controller.NAME, timeout)
    _wait_running(client, object_store.NAMESPACE, object_store.NAME, timeout)
    return [node.name for node in nodes]


def _start_object_store(client: KubeClient, plane: Plane, node: RealNode) -> None:
    storage = node.directory / "object-store"
    for folder in (storage / "buckets" / object_store.BUCKET, storage / "meta"):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (storage, *storage.rglob("*")):
        os.chown(folder, object_store.USER, object_store.USER)
    manifests = object_store.objects(plane.service_range, storage)
    sandbox_objects.apply(client, manifests[:1])
    try:
        client.get(Secret, object_store.SECRET, namespace=object_store.NAMESPACE)
    except NotFound:
        # Created once: a new encryption key would make every earlier snapshot unreadable.
        client.create(from_dict(object_store.secret(object_store.secret_data())))
    sandbox_objects.apply(client, manifests[1:])


def _wait_running(client: KubeClient, namespace: str, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        pods = list(client.list(Pod, namespace=namespace, labels={"app.kubernetes.io/name": name}))
        if any(is_ready(pod.to_dict()) for pod in pods):
            return
        if time.monotonic() > deadline:
            states = "; ".join(_pod_state(pod.to_dict()) for pod in pods) or "no pod"
            raise RealNodeError(f"{namespace}/{name} is not Ready: {states}")
        time.sleep(0.5)


def _pod_state(pod: dict[str, Any]) -> str:
    status = pod.get("status", {})
    waiting = [
        f"{c['name']}: {' '.join(c['state']['waiting'].get(k, '') for k in ('reason', 'message'))}"
        for c in status.get("containerStatuses", [])
        if "waiting" in c.get("state", {})
    ]
    return f"{pod['metadata']['name']} {status.get('phase', '')} {' '.join(waiting)}".strip()


def kube_proxy_binary() -> Path:
    """Where kube-proxy is, if it was built (its `--cleanup` removes its rules)."""
    return node_binaries_directory() / "kube-proxy"


def _pids(directory: Path) -> Iterable[tuple[str, int]]:
    # The machine's processes and each node's, never a recursive walk: containerd's
    # snapshot tree is large and changes under a walk while containerd still runs.
    pid_files = [*directory.glob(f"{PIDS}/*.pid"), *directory.glob(f"*/{PIDS}/*.pid")]
    for pid_file in sorted(pid_files):
        with contextlib.suppress(ValueError, OSError):
            yield pid_file.stem, int(pid_file.read_text().strip())


def _kill(pid: int, wait: float = 10) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _cgroup_processes(root: str) -> set[int]:
    base = Path("/sys/fs/cgroup") / "pids" / root.lstrip("/")
    found: set[int] = set()
    for directory in _cgroup_tree(base):
        with contextlib.suppress(OSError, ValueError):
            found.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
    return found


def _cgroup_tree(base: Path) -> list[Path]:
    """A cgroup and every cgroup below it, deepest first. os.walk skips what vanishes
    under it: the kubelet removes pods' cgroups while a node stops."""
    return [Path(folder) for folder, _, _ in os.walk(base, topdown=False)]


def _remove_cgroups(root: str) -> None:
    base = Path("/sys/fs/cgroup")
    for hierarchy in base.iterdir():
        target = hierarchy / root.lstrip("/")
        if not target.is_dir():
            continue
        # Deepest first: a cgroup is removed with rmdir, once it has no children.
        for directory in _cgroup_tree(target):
            with contextlib.suppress(OSError):
                directory.rmdir()


def _unmount_under(directory: Path) -> None:
    prefix = str(directory.resolve())
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def stop(sandbox: str, sandbox_directory: Path, kube_proxy: Path | None) -> None:
    """Stop every real node of the sandbox and undo what they did to the machine."""
    directory = nodes_directory(sandbox_directory)
    if not directory.exists():
        return
    nodes = [path.name for path in directory.iterdir() if (path / "containerd.toml").exists()]
    processes = dict(_pids(directory))
    # The rest is undone even if some of its rules stayed (they carry its own names).
    with contextlib.suppress(CampusError):
        policy_engine.stop(directory)
    for name in ("kube-proxy", "kubelet"):
        for owner, pid in list(_pids(directory)):
            if owner == name:
                _kill(pid)
    if kube_proxy is not None and kube_proxy.exists():
        subprocess.run([str(kube_proxy), "--cleanup"], capture_output=True, timeout=60)
    for name in nodes:
        root = RealNode(sandbox, name, directory / name, "", 0, 0, "").cgroup_root
        for _ in range(3):  # a process may fork while its siblings are killed
            for pid in _cgroup_processes(root):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
    layouts = [RealNode(sandbox, name, directory / name, "", 0, 0, "") for name in nodes]
    shims = _shims([str(layout.run_dir).encode() for layout in layouts])
    for pid in shims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for owner, pid in processes.items():
        if owner == "containerd":
            _kill(pid)
    for _, pid in _pids(directory):
        _kill(pid, wait=2)
    _unmount_under(directory)
    for layout in layouts:
        _unmount_under(layout.run_dir)
        shutil.rmtree(layout.run_dir, ignore_errors=True)
        _remove_cgroups(layout.cgroup_root)
        subprocess.run(["ip", "link", "delete", layout.bridge], capture_output=True)


def _shims(markers: list[bytes]) -> list[int]:
    """containerd's runc shims of these nodes (named by their containerd's socket): each
    outlives its containerd by design."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes()
            if b"containerd-shim" in command and any(marker in command for marker in markers):
                found.append(int(proc.name))
    return found
