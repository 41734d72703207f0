"""The restore drill's pure parts: the scratch namespace's copies, the counting Jobs and
what they print, the comparison, the report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from test_backup_jobs import NOW, live_cronjob

from campus.output.restore_drill import restore_drill_html
from campus.restore import counts, scratch
from campus.restore.drill import RestoreDrillReport, Stage


def test_the_counting_job_runs_the_dump_container_alone_in_the_given_namespace() -> None:
    [job] = counts.count_jobs(live_cronjob(), "campus-drill-restore-acme", NOW)
    assert job["metadata"]["namespace"] == "campus-drill-restore-acme"
    pod = job["spec"]["template"]["spec"]
    assert "initContainers" not in pod and "volumes" not in pod and "affinity" not in pod
    [counter] = pod["containers"]
    assert counter["name"] == "mysql-count" and counter["image"] == "docker.io/mysql:1"
    assert "volumeMounts" not in counter
    script = counter["command"][-1]
    assert "COUNT(*)" in script and "information_schema" in script


def test_the_count_script_prefixes_each_line_and_the_reader_keeps_only_those(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Stand-in mysql: asked with -e it prints the generated statements; fed them on stdin
    # it prints what the server would answer.
    (bin_dir / "mysql").write_text(
        "#!/bin/sh\n"
        'case "$*" in *" -e "*) echo "SELECT \'openedx.auth_user\', COUNT(*) FROM x;";;\n'
        '  *) cat >/dev/null; printf "openedx.auth_user\\t42\\nprobe.marks\\t1\\n";; esac\n'
    )
    (bin_dir / "mysqladmin").write_text("#!/bin/sh\nexit 0\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    [job] = counts.count_jobs(live_cronjob(), "x", NOW)
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    result = subprocess.run(
        ["/bin/sh", "-c", script],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = ["restic noise", *result.stdout.splitlines(), "rows\tbad\tNaN"]
    assert counts.read_counts(lines) == {"rows openedx.auth_user": 42, "rows probe.marks": 1}


def test_the_comparison_names_every_difference() -> None:
    source = {"rows a.t": 3, "rows a.u": 1, "docs f.c": 9}
    restored = {"rows a.t": 3, "rows a.u": 0, "rows a.v": 2}
    assert [str(m) for m in counts.compare(source, restored)] == [
        "docs f.c: 9 in the source, missing from the restore",
        "rows a.u: 1 in the source, 0 restored",
        "rows a.v: 2 restored, not in the source",
    ]
    assert counts.compare(source, dict(source)) == []


def deployment(name: str, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "acme", "uid": "u", "resourceVersion": "3"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": secret}}}],
                        }
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
                }
            }
        },
        "status": {"replicas": 1},
    }


def named(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "acme", "uid": "u"},
        **spec,
    }


def test_the_scratch_copies_are_the_data_services_on_empty_dirs_and_what_they_read() -> None:
    backup_pod = {
        "containers": [
            {"name": "restic", "env": [{"valueFrom": {"secretKeyRef": {"name": "store"}}}]}
        ]
    }
    made = scratch.copies(
        ["mysql"],
        [deployment("mysql", "mysql-root"), deployment("lms", "lms-secrets")],
        [
            named("Service", "mysql", spec={"clusterIP": "10.96.0.9", "ports": [{"port": 3306}]}),
            named("Service", "lms", spec={}),
        ],
        [named("Secret", n, data={}) for n in ("mysql-root", "lms-secrets", "store")],
        [],
        backup_pod,
        "campus-drill-restore-acme",
    )
    assert [(o["kind"], o["metadata"]["name"]) for o in made] == [
        ("Secret", "mysql-root"),
        ("Secret", "store"),
        ("Service", "mysql"),
        ("Deployment", "mysql"),
    ]
    assert all(o["metadata"]["namespace"] == "campus-drill-restore-acme" for o in made)
    assert all("uid" not in o["metadata"] and "status" not in o for o in made)
    assert "clusterIP" not in made[2]["spec"]
    volumes = made[3]["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "data", "emptyDir": {}}]  # never the source's volume
    labels = scratch.namespace("acme")["metadata"]["labels"]
    assert "campus.openedx.org/environment" not in labels


def test_the_html_report_shows_the_verdict_figures_and_differences() -> None:
    report = RestoreDrillReport("acme", "acme", "campus-drill-restore-acme")
    report.source_counts = {"rows a.t": 3}
    report.restored_counts = {"rows a.t": 2}
    report.mismatches = counts.compare(report.source_counts, report.restored_counts)
    report.stages = [Stage("restoring", 1.0, 4.0)]
    page = restore_drill_html(report)
    assert "FAILED: 1 count(s) differ" in page and 'class="bad"' in page
    assert "margin-left:25.00%;width:75.00%" in page
    assert not report.passed and report.to_dict()["mismatches"][0]["restored"] == 2
