"""Whether this machine can run a real node, and what it is missing if not.

A real node runs containers: it needs root, the cgroup controllers the kubelet manages,
the kernel's overlay filesystem, bridges and bridge netfilter, and a few programs from
the distribution. Each is checked before anything starts, so that a machine without
them gets one clear error naming what is missing, and the KWOK-only sandbox still works.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from campus.sandbox.node_config import CNI_BIN_DIR, RUNC

# The cgroup v1 controllers the kubelet's cgroupfs manager writes (or, on cgroup v2, the
# unified hierarchy's controllers of the same names).
CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")
DEBIAN_PACKAGES = {
    "runc": "runc",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "ipset": "ipset",
    "iptables-restore": "iptables",
    "bridge": "containernetworking-plugins",
    "host-local": "containernetworking-plugins",
    "loopback": "containernetworking-plugins",
}


@dataclass(frozen=True)
class Machine:
    """What was found; `missing` says, in words, what a real node would lack."""

    cgroup_version: int
    missing: tuple[str, ...]


def _cgroup_version(root: Path) -> int:
    return 2 if (root / "cgroup.controllers").exists() else 1


def _missing_controllers(root: Path, version: int) -> list[str]:
    if version == 2:
        present = set((root / "cgroup.controllers").read_text().split())
        wanted = {name for name in CONTROLLERS if name not in ("cpuacct", "devices", "freezer")}
        return sorted(wanted - present)
    return [name for name in CONTROLLERS if not (root / name / "tasks").exists()]


def inspect(
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    proc: Path = Path("/proc"),
    cni_bin_dir: Path = CNI_BIN_DIR,
    runc: Path = RUNC,
) -> Machine:
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root: a real node mounts filesystems and creates cgroups (run as root)")
    version = _cgroup_version(cgroup_root)
    controllers = _missing_controllers(cgroup_root, version) if cgroup_root.exists() else []
    if not cgroup_root.exists():
        missing.append(f"cgroups: nothing is mounted at {cgroup_root}")
    elif controllers:
        missing.append(f"cgroup controllers {', '.join(controllers)} (not mounted)")
    filesystems = (proc / "filesystems").read_text() if (proc / "filesystems").exists() else ""
    if "overlay" not in filesystems.split():
        missing.append("the kernel's overlay filesystem (containerd's snapshotter)")
    if not (proc / "sys" / "net" / "bridge" / "bridge-nf-call-iptables").exists():
        missing.append("bridge netfilter (kernel module br_netfilter): Services need it")
    if not runc.exists():
        missing.append(f"{runc} (Debian package runc)")
    for program in ("iptables", "iptables-restore", "conntrack", "ipset"):
        if shutil.which(program) is None:
            missing.append(f"{program} (Debian package {DEBIAN_PACKAGES[program]})")
    for plugin in ("bridge", "host-local", "loopback"):
        if not (cni_bin_dir / plugin).exists():
            missing.append(
                f"CNI plugin {cni_bin_dir / plugin} (Debian package {DEBIAN_PACKAGES[plugin]})"
            )
    return Machine(version, tuple(missing))


def install_hint(machine: Machine) -> str:
    packages = sorted(
        {
            package
            for item in machine.missing
            for package in DEBIAN_PACKAGES.values()
            if package in item
        }
    )
    return f" (apt-get install {' '.join(packages)})" if packages else ""
