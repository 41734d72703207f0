"""NetworkPolicy on the real nodes: kube-router's network policy controller, and nothing
else of kube-router, run on the machine beside kube-proxy.

kube-router (built from its pinned Go module, `tools/kube-router`) watches Pods,
Namespaces and NetworkPolicies and keeps the machine's iptables filter table and ipsets
in step with them: every pod on the node gets a chain (KUBE-POD-FW-*) its traffic
passes through, and traffic no policy selecting the pod allows is rejected. Only the
firewall runs: no BGP, no routes, no CNI configuration, no IPVS service proxy (kube-proxy
keeps the Services), no pod egress SNAT, no load-balancer allocator.

A pod is the controller's when its status.hostIP is the node's address. The real nodes
of a sandbox share the machine and its address (and one network namespace), so one
kube-router, named after the first real node, polices the pods of every real node, as
one kube-proxy serves them all.

It reads the API as `system:campus-sandbox-policy`, allowed to list and watch what its
informers ask for (Pods, Namespaces, NetworkPolicies, Nodes, and Services, Endpoints and
EndpointSlices, which its informer factory starts whichever controllers run), nothing
more. `stop` kills it and removes every chain, rule and ipset it made (kube-router's own
`--cleanup-config` does not, in this release: see `stop`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from campus.errors import CampusError
from campus.kube.client import KubeClient
from campus.kube.objects import KubeObject
from campus.sandbox import sandbox_objects

IDENTITY = "system:campus-sandbox-policy"
NAME = "kube-router"
PIDS = "pids"
LOG = f"{NAME}.log"
# kube-router logs this (at --v=1) at the end of every full sync of the filter table,
# and "Aborting sync" before it when the sync failed.
SYNCED = "sync iptables took"
FAILED = "Aborting sync"

# What kube-router's network policy controller names (pkg/controllers/netpol).
TOP_CHAINS = ("KUBE-ROUTER-INPUT", "KUBE-ROUTER-FORWARD", "KUBE-ROUTER-OUTPUT")
CHAIN_PREFIXES = ("KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-")
IPSET_PREFIXES = ("KUBE-SRC-", "KUBE-DST-")
# ipsets of the IPv6 family carry this prefix (IPv6 is not enabled here; removed anyway).
IPV6_IPSET_PREFIX = "inet6:"


class PolicyEngineError(CampusError):
    pass


def rbac() -> list[KubeObject]:
    """The least a firewall-only kube-router needs: it only reads."""
    read = ["get", "list", "watch"]
    rules = [
        {
            "apiGroups": [""],
            "resources": ["pods", "namespaces", "nodes", "services", "endpoints"],
            "verbs": read,
        },
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
    ]
    return sandbox_objects.cluster_role(IDENTITY, rules, sandbox_objects.user(IDENTITY))


def apply_rbac(client: KubeClient) -> None:
    sandbox_objects.apply(client, rbac())


def flags(
    kubeconfig: Path,
    node_name: str,
    health_port: int,
    service_range: str,
    node_port_range: str = "30000-32767",
) -> list[str]:
    """kube-router's command line: the firewall, and every other part of it turned off."""
    return [
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={node_name}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--run-loadbalancer=false",
        # The router's parts, off even if it were asked for: no CNI config written, no
        # tunnels, no SNAT of pod egress, no BGP peering.
        "--enable-cni=false",
        "--enable-overlay=false",
        "--enable-pod-egress=false",
        "--enable-ibgp=false",
        "--enable-ipv4=true",
        "--enable-ipv6=false",
        # Its rules let traffic to Services and node ports through to kube-proxy's.
        f"--service-cluster-ip-range={service_range}",
        f"--service-node-port-range={node_port_range}",
        f"--health-port={health_port}",
        "--metrics-port=0",
        "--enable-pprof=false",
        "--v=1",
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _pid_file(directory: Path) -> Path:
    return directory / PIDS / f"{NAME}.pid"


def pid(directory: Path) -> int | None:
    """kube-router's process, if it runs."""
    with contextlib.suppress(OSError, ValueError):
        found = int(_pid_file(directory).read_text().strip())
        if _alive(found):
            return found
    return None


def _log_tail(directory: Path, lines: int = 10) -> str:
    path = directory / LOG
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _synced(directory: Path, offset: int) -> bool:
    """Whether kube-router has finished a full sync since it started (its log past
    `offset`); a failed first sync is an error."""
    with (directory / LOG).open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    if FAILED in text:
        raise PolicyEngineError(f"kube-router could not write its rules; its log ends:\n{text}")
    return SYNCED in text


def start(
    directory: Path,
    kubeconfig: Path,
    node_name: str,
    cluster_cidr: str,
    binary: Path,
    progress: Callable[[str], None] = lambda message: None,
    *,
    service_range: str = "10.96.0.0/12",
    timeout: float = 120,
) -> None:
    """Start kube-router's firewall for the real node `node_name` (and every real node of
    the machine: see the module's note) and wait until it has written the machine's rules.

    `cluster_cidr` is the pods' range: this release of kube-router takes none (it learns
    each pod's address from the API), so it is only checked to be a range."""
    ipaddress.ip_network(cluster_cidr)
    ipaddress.ip_network(service_range)
    if not binary.exists():
        raise PolicyEngineError(f"kube-router is not built: {binary} does not exist")
    running = pid(directory)
    if running is not None:
        raise PolicyEngineError(f"kube-router already runs here (pid {running})")
    health_port = _free_port()
    (directory / PIDS).mkdir(parents=True, exist_ok=True)
    log_path = directory / LOG
    offset = log_path.stat().st_size if log_path.exists() else 0
    progress(f"starting the NetworkPolicy engine (kube-router's firewall) for {node_name}")
    started = time.monotonic()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary), *flags(kubeconfig, node_name, health_port, service_range)],
            # kube-router looks for its node by NODE_NAME first, then the machine's
            # hostname, then --hostname-override.
            env={**os.environ, "NODE_NAME": node_name},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    _pid_file(directory).write_text(f"{process.pid}\n")
    deadline = started + timeout
    while not (_healthy(health_port) and _synced(directory, offset)):
        if process.poll() is not None:
            raise PolicyEngineError(
                f"kube-router exited with {process.returncode}; its log ends:\n"
                + _log_tail(directory)
            )
        if time.monotonic() > deadline:
            raise PolicyEngineError(
                f"kube-router did not sync its rules in {timeout:.0f}s; its log ends:\n"
                + _log_tail(directory)
            )
        time.sleep(0.2)
    progress(f"NetworkPolicy engine enforcing after {time.monotonic() - started:.1f}s")


# --- stopping, and what it leaves behind ------------------------------------------------


@dataclass(frozen=True)
class Leftovers:
    """What of kube-router's is on the machine."""

    chains: tuple[str, ...]
    jumps: tuple[str, ...]  # rules of other chains that jump to its chains
    ipsets: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.chains or self.jumps or self.ipsets)


def _ours(chain: str) -> bool:
    return chain.startswith(CHAIN_PREFIXES)


def owned_ipsets(names: Iterable[str]) -> list[str]:
    return [
        name for name in names if name.removeprefix(IPV6_IPSET_PREFIX).startswith(IPSET_PREFIXES)
    ]


def parse_filter(save: str) -> tuple[list[str], list[str]]:
    """kube-router's chains in `iptables-save -t filter` output, and the rules of other
    chains that jump to them (as they were appended, `-A CHAIN ...`)."""
    chains: list[str] = []
    jumps: list[str] = []
    for line in save.splitlines():
        if line.startswith(":"):
            name = line[1:].split()[0]
            if _ours(name):
                chains.append(name)
        elif line.startswith("-A "):
            words = line.split()
            target = words[words.index("-j") + 1] if "-j" in words[:-1] else ""
            if not _ours(words[1]) and _ours(target):
                jumps.append(line)
    return chains, jumps


def cleanup_script(save: str) -> str:
    """An `iptables-restore --noflush` input that removes kube-router's chains and the
    jumps to them from the filter table, leaving every other rule as it is."""
    chains, jumps = parse_filter(save)
    lines = ["*filter"]
    lines += ["-D" + jump[2:] for jump in jumps]
    lines += [f"-F {chain}" for chain in chains]
    lines += [f"-X {chain}" for chain in chains]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _run(args: list[str], stdin: str | None = None) -> str:
    result = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise PolicyEngineError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _ipsets() -> list[str]:
    return _run(["ipset", "list", "-n"]).split()


def leftovers() -> Leftovers:
    chains, jumps = parse_filter(_run(["iptables-save", "-t", "filter"]))
    return Leftovers(tuple(chains), tuple(jumps), tuple(owned_ipsets(_ipsets())))


def remove_rules() -> None:
    """Remove kube-router's chains, jumps and ipsets (those it may still be using first
    unreferenced: an ipset in use by a rule cannot be destroyed)."""
    save = _run(["iptables-save", "-t", "filter"])
    if any(parse_filter(save)):
        _run(["iptables-restore", "--noflush"], cleanup_script(save))
    for name in owned_ipsets(_ipsets()):
        _run(["ipset", "destroy", name])


def _kill(process: int, wait: float = 10) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(process):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process, os.WNOHANG)
            time.sleep(0.1)
        if _alive(process):
            os.kill(process, signal.SIGKILL)


def stop(directory: Path, binary: Path | None = None) -> None:
    """Stop kube-router and remove everything it wrote to the machine; safe to call when
    it does not run (it then removes what an earlier run may have left).

    kube-router's own `--cleanup-config` is not used: in this release it cleans with
    controllers it never initialised, so it removes none of the network policy
    controller's chains or ipsets, and it flushes every IPVS service of the machine,
    whoever made it. `binary` is accepted for a caller that has it, and not needed."""
    del binary
    running = pid(directory)
    if running is not None:
        _kill(running)
    _pid_file(directory).unlink(missing_ok=True)
    remove_rules()
    left = leftovers()
    if left:
        raise PolicyEngineError(f"kube-router's rules remain after cleaning up: {left}")
