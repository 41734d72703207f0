"""Backup and restore of a generated MySQL database (about 1 GB by default) on the
sandbox's real node, against the plain `mysqldump | mysql` pipe an operator would write
(in the same run: ratios), and what 10 backups with little change between them store
(dedup).

The pipe runs inside the MySQL container (dump and load on one server, no network, no
storage, no encryption): the least a copy of the data costs. campus's backup dumps in its
own pod, encrypts and deduplicates with restic and writes to the sandbox's S3 store;
its restore reads the snapshot whole first, switches the site to maintenance, stops the
applications, loads, runs the init Jobs again and brings everything back.

python bench/bench_backup.py   # root; prints a markdown table (binaries built)
CAMPUS_BENCH_BACKUP_MB=200 python bench/bench_backup.py   # a smaller database
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from lightkube import KubeConfig
from lightkube.resources.core_v1 import Pod

from campus.cli.main import cli
from campus.kube.client import KubeClient
from campus.sandbox import cluster, object_store, real_nodes
from campus.sandbox.build import ensure_binaries
from campus.sandbox.paths import state_dir

NAME = "campus-bench-backup"
ENV = "bb"
MEGABYTES = int(os.environ.get("CAMPUS_BENCH_BACKUP_MB", "1024"))
BACKUPS = 10
# A row's 1 KiB of hex from eight hashes: varied as real rows are (a repeated string gives
# restic's content-defined chunker no cut points, and zstd would squeeze it to nothing).
VARIED_KIB = "CONCAT(" + ", ".join(f"SHA2(seq + {k * 10**9}, 512)" for k in range(8)) + ")"
FLEET = """\
cluster:
  sandbox: {sandbox}
  real_nodes: [bb]
defaults:
  plugins: []
  size: small
  ingress: {{mode: ingress, class: traefik, controller_namespace: traefik}}
  backup:
    schedule: "0 3 * * *"
    keep: {{daily: 7}}
    store:
      repository: "{repository}"
      secret: campus-backups/store
      namespace: campus-backups
environments:
  bb:
    hosts: {{lms: learn.bb.example.org}}
"""


def campus(*args: str) -> tuple[float, Any]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, list(args))
    took = time.monotonic() - started
    if result.exit_code != 0:
        raise SystemExit(f"campus {' '.join(args)} failed:\n{result.output}")
    return took, result


def mysql(info: cluster.SandboxInfo, script: str, timeout: float = 3600) -> float:
    """Run a shell script in the MySQL container, its root password in $MYSQL_PWD."""
    client = KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="bench")
    [pod] = client.list(Pod, namespace=ENV, labels={"app.kubernetes.io/name": "mysql"})
    assert pod.metadata and pod.metadata.name
    kubectl = str(ensure_binaries().path("kubectl"))
    started = time.monotonic()
    subprocess.run(
        [
            kubectl,
            f"--kubeconfig={info.kubeconfig}",
            *("-n", ENV, "exec", pod.metadata.name, "--", "sh", "-c"),
            f'export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"; set -e; {script}',
        ],
        check=True,
        timeout=timeout,
    )
    return time.monotonic() - started


def sql(statement: str) -> str:
    return f'mariadb -uroot -h127.0.0.1 -e "{statement}"'


def store_bytes(info: cluster.SandboxInfo) -> int:
    nodes = real_nodes.nodes_directory(state_dir(info.name))
    return sum(
        p.stat().st_size
        for p in nodes.glob(f"*/object-store/buckets/campus/{ENV}/**/*")
        if p.is_file()
    )


def mib(amount: float) -> str:
    return f"{amount / 1024**2:.0f} MiB"


def main() -> None:
    cluster.down(NAME)
    info = cluster.up(NAME, nodes=1, zones=("a",), real_nodes=1)
    fleet = Path(tempfile.mkdtemp()) / "fleet.yml"
    fleet.write_text(FLEET.format(sandbox=NAME, repository=object_store.repository()))
    try:
        campus("deploy", "-f", str(fleet), "--timeout", "600")
        rows = MEGABYTES * 1024  # rows of about 1 KiB
        generated = mysql(
            info,
            sql(
                "CREATE DATABASE bench; CREATE TABLE bench.t (n INT PRIMARY KEY, v TEXT); "
                f"INSERT INTO bench.t SELECT seq, {VARIED_KIB} FROM bench.seq_1_to_{rows};"
            ),
        )
        pipe = mysql(
            info,
            sql("CREATE DATABASE bench_copy")
            + " && mysqldump -uroot -h127.0.0.1 --single-transaction bench"
            + " | mariadb -uroot -h127.0.0.1 bench_copy && "
            + sql("DROP DATABASE bench_copy"),
        )
        took, result = campus("backup", ENV, "-f", str(fleet), "-o", "json")
        first = json.loads(result.stdout)["snapshot"]
        stored_first = store_bytes(info)
        restore_took, result = campus("restore", ENV, "-f", str(fleet), "--yes", "-o", "json")
        down = json.loads(result.stdout)["down_seconds"]
        added, read = [], []
        for index in range(BACKUPS - 1):
            mysql(
                info,
                sql(
                    f"INSERT INTO bench.t SELECT {rows} + seq + {index} * 100, 'x'"
                    f" FROM bench.seq_1_to_100;"
                ),
            )
            _, result = campus("backup", ENV, "-f", str(fleet), "-o", "json")
            summary = json.loads(result.stdout)["snapshot"]
            added.append(summary["data_added"])
            read.append(summary["total_bytes_processed"])
        stored_last = store_bytes(info)
    finally:
        cluster.down(NAME)
    dump = first["total_bytes_processed"]
    mean_added, mean_read = sum(added) / len(added), sum(read) / len(read)
    rows_printed = [
        ("`mysqldump | mysql` pipe in the MySQL container (dump and load)", f"{pipe:.1f} s"),
        (
            "`campus backup` (dump, restic to the S3 store), whole command",
            f"{took:.1f} s ({took / pipe:.2f}x the pipe)",
        ),
        (
            "`campus restore --yes` (read whole, maintenance, load, init Jobs, back)",
            f"{restore_took:.1f} s ({restore_took / pipe:.2f}x the pipe); "
            f"site down {down:.1f} s ({down / pipe:.2f}x)",
        ),
        ("dump read by the first backup / stored after it", f"{mib(dump)} / {mib(stored_first)}"),
        (
            f"backups 2 to {BACKUPS} (100 rows added before each): data added / read, mean",
            f"{mib(mean_added)} / {mib(mean_read)} ({mean_added / mean_read:.1%})",
        ),
        (
            f"store after {BACKUPS} backups (keep one a day) / {BACKUPS} plain dumps",
            f"{mib(stored_last)} / {mib(sum(read) + dump)}",
        ),
    ]
    print(f"| figure ({MEGABYTES} MB generated in {generated:.0f} s) | value |")
    print("|---|---|")
    for figure, value in rows_printed:
        print(f"| {figure.replace('|', chr(92) + '|')} | {value} |")


if __name__ == "__main__":
    main()
