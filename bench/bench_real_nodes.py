"""Real-node figures: warm `sandbox up --real-nodes 1` against a KWOK-only `sandbox up` in
the same run (ratio), pod start latency on the real node (create -> Ready, a hardened
pod of the Open edX stand-in), and the resident memory of each real-node process.

python bench/bench_real_nodes.py   # root; prints a markdown table (binaries built)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from lightkube import KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Pod

from campus.kube.client import KubeClient
from campus.sandbox import cluster
from campus.sandbox.node_config import REAL_NODE
from campus.sandbox.paths import state_dir
from campus.sandbox.placement import IMAGES, STANDIN

NAME = "campus-bench-real"
RUNS = 3
PODS = 10


def timed_up(real_nodes: int) -> float:
    cluster.down(NAME)
    started = time.monotonic()
    cluster.up(NAME, nodes=2, zones=("a", "b"), real_nodes=real_nodes)
    return time.monotonic() - started


def pod(index: int) -> Pod:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"start-{index}", "namespace": "default"},
            "spec": {
                "nodeSelector": {REAL_NODE: "true"},
                "tolerations": [{"key": REAL_NODE, "operator": "Exists"}],
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "main",
                        "image": IMAGES[STANDIN],
                        "imagePullPolicy": "Never",
                        "readinessProbe": {"httpGet": {"path": "/heartbeat", "port": 8000}},
                        "securityContext": {
                            "runAsUser": 1000,
                            "runAsNonRoot": True,
                            "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                    }
                ],
            },
        }
    )


def start_latency(client: KubeClient, index: int) -> float:
    started = time.monotonic()
    client.create(pod(index))
    while True:
        status = client.get(Pod, f"start-{index}", namespace="default").status
        if status and any(
            c.type == "Ready" and c.status == "True" for c in status.conditions or []
        ):
            return time.monotonic() - started
        time.sleep(0.05)


def rss_mib(pid_file: Path) -> float:
    pid = pid_file.read_text().strip()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    kwok = [timed_up(0) for _ in range(RUNS)]
    real = [timed_up(1) for _ in range(RUNS)]
    info = cluster.SandboxInfo(NAME, state_dir(NAME) / "kubeconfig", "", [])
    client = KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="bench")
    latencies = [start_latency(client, index) for index in range(PODS)]
    nodes = state_dir(NAME) / "real-nodes"
    memory = {
        f.stem: rss_mib(f) for f in sorted([*nodes.glob("pids/*.pid"), *nodes.glob("*/pids/*.pid")])
    }
    cluster.down(NAME)
    k, r = statistics.median(kwok), statistics.median(real)
    print("| figure | value |")
    print("|---|---|")
    print(f"| warm `sandbox up --nodes 2` (KWOK only), median of {RUNS} | {k:.1f} s |")
    ratio = f"{r / k:.1f}x"
    print(f"| warm `sandbox up --nodes 2 --real-nodes 1`, median of {RUNS} | {r:.1f} s ({ratio}) |")
    print(
        f"| pod start on the real node (create -> Ready, stand-in), median of {PODS} | "
        f"{statistics.median(latencies):.2f} s (max {max(latencies):.2f} s) |"
    )
    for process, mib in memory.items():
        print(f"| RSS of {process} with {PODS} pods | {mib:.0f} MiB |")


if __name__ == "__main__":
    main()
