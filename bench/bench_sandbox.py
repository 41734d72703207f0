"""Sandbox figures: warm start, control-plane memory idle and loaded, node-failure recovery.

python bench/bench_sandbox.py      # prints a markdown table (needs the binaries built)
"""

from __future__ import annotations

import time
from pathlib import Path

from lightkube import Client, KubeConfig
from lightkube.codecs import from_dict
from lightkube.resources.core_v1 import Pod

from campus.labels import HOSTNAME
from campus.sandbox import cluster
from campus.sandbox.paths import state_dir

NAME = "campus-bench"


def rss_mib(name: str) -> float:
    """Resident memory of every process of the sandbox, summed."""
    total = 0
    for pid in cluster._pids(state_dir(name)):
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def deployment(replicas: int, spread: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "load", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "load"}},
            "template": {
                "metadata": {"labels": {"app": "load"}},
                "spec": {
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": HOSTNAME,
                            "whenUnsatisfiable": spread,
                            "labelSelector": {"matchLabels": {"app": "load"}},
                        }
                    ],
                    "containers": [
                        {"name": "c", "image": "x", "resources": {"requests": {"cpu": "10m"}}}
                    ],
                },
            },
        },
    }


def ready(client: Client) -> list[Pod]:
    return [
        p
        for p in client.list(Pod, namespace="default")
        if not p.metadata.deletionTimestamp
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def wait_ready(client: Client, count: int, timeout: float = 600) -> float:
    started = time.monotonic()
    while len(ready(client)) < count:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{count} pods not ready after {timeout}s")
        time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    cluster.down(NAME)
    rows: list[tuple[str, str]] = []
    started = time.monotonic()
    info = cluster.up(NAME, nodes=3)
    rows.append(("warm `campus sandbox up` (3 nodes)", f"{time.monotonic() - started:.1f} s"))
    time.sleep(10)
    rows.append(("control-plane RSS, idle, 3 nodes", f"{rss_mib(NAME):.0f} MiB"))
    client = Client(KubeConfig.from_file(info.kubeconfig))
    client.create(from_dict(deployment(6, "ScheduleAnyway")))
    wait_ready(client, 6)
    victim = ready(client)[0].spec.nodeName
    failed = time.monotonic()
    cluster.fail_node(NAME, victim)

    def recovered() -> bool:
        pods = ready(client)
        return len(pods) == 6 and all(p.spec.nodeName != victim for p in pods)

    while not recovered():
        time.sleep(0.5)
    rows.append(("fail-node to all 6 pods Ready elsewhere", f"{time.monotonic() - failed:.1f} s"))
    cluster.down(NAME)

    started = time.monotonic()
    info = cluster.up(NAME, nodes=50, zones=("a", "b", "c"))
    rows.append(("`campus sandbox up` (50 nodes)", f"{time.monotonic() - started:.1f} s"))
    client = Client(KubeConfig.from_file(info.kubeconfig))
    client.create(from_dict(deployment(500, "ScheduleAnyway")))
    rows.append(("500 pods scheduled and Ready on 50 nodes", f"{wait_ready(client, 500):.1f} s"))
    time.sleep(10)
    rows.append(("control-plane RSS, 50 nodes, 500 pods", f"{rss_mib(NAME):.0f} MiB"))
    cluster.down(NAME)
    print("| figure | value |\n|---|---|")
    for figure, value in rows:
        print(f"| {figure} | {value} |")


if __name__ == "__main__":
    main()
