"""What the restore drill counts and compares: rows of every MySQL table and documents of
every MongoDB collection, in the source and in the restored copy. Pure: the counting
Jobs (built from the backup CronJob's dump containers, so they have the database's own
client and credentials), the lines they print read back, and the comparison.

Counts are exact (`COUNT(*)`, `countDocuments`), not the engines' estimates: an InnoDB
`table_rows` is a guess that differs between two copies of one table.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campus.backup.jobs import job_object, job_template, stamp
from campus.kube.objects import KubeObject
from campus.kube.workloads import command_line
from campus.labels import NAME
from campus.restore.jobs import JOB_NAME, Parts, connection, parts, server_wait, told

COUNT_PREFIX = "campus-restore-count-"
COUNT_DEADLINE = 1800
ROWS, DOCUMENTS = "rows", "docs"
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
SYSTEM_DATABASES = ("admin", "local", "config")
_MYSQL_TABLES = (
    "SELECT CONCAT('SELECT ', QUOTE(CONCAT(table_schema, '.', table_name)), ', COUNT(*) "
    "FROM `', table_schema, '`.`', table_name, '`;') FROM information_schema.tables "
    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ("
    + ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS)
    + ") ORDER BY table_schema, table_name"
)
_MONGODB_COLLECTIONS = (
    "db.adminCommand({listDatabases: 1}).databases.forEach(function (d) {"
    f" if ({list(SYSTEM_DATABASES)!r}.indexOf(d.name) >= 0) return;"
    " var s = db.getSiblingDB(d.name);"
    " s.getCollectionNames().forEach(function (c) {"
    f" print('{DOCUMENTS}\\t' + d.name + '.' + c + '\\t'"
    " + s.getCollection(c).countDocuments({}));"
    " }); });"
)


def mysql_count_script(container: dict[str, Any]) -> str:
    client = shlex.join(["mysql", *connection(container), "-N", "-B"])
    return "\n".join(
        [
            "set -eu",
            server_wait(connection(container)),
            f"{client} -e {shlex.quote(_MYSQL_TABLES)} | {client} | sed 's/^/{ROWS}\t/'",
        ]
    )


def mongodb_count_command(container: dict[str, Any]) -> list[str]:
    server = [w for w in command_line(container) if w.startswith(("--host=", "--port="))]
    return ["mongosh", "--quiet", *server, "--eval", _MONGODB_COLLECTIONS]


def count_jobs(cronjob: KubeObject, namespace: str, now: datetime) -> list[KubeObject]:
    """One Job per database the backup dumps, in `namespace` (the source's or the scratch
    one), its pod the backup pod's (the policies admit it to the databases) with the
    dump container alone, counting."""
    found: Parts = parts(cronjob)
    result = []
    for service, container in (("mysql", found.mysql), ("mongodb", found.mongodb)):
        if container is None:
            continue
        counter = copy.deepcopy(container)
        counter["name"] = f"{service}-count"
        counter.pop("volumeMounts", None)
        if service == "mysql":
            told(counter, ["/bin/sh", "-c", mysql_count_script(container)])
        else:
            told(counter, mongodb_count_command(container))
        template = job_template(cronjob)
        spec = template["spec"]
        spec.update(backoffLimit=0, activeDeadlineSeconds=COUNT_DEADLINE)
        pod = spec["template"]["spec"]
        for key in ("initContainers", "affinity", "volumes"):
            pod.pop(key, None)
        pod["containers"] = [counter]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), NAME: JOB_NAME}
        job = job_object(f"{COUNT_PREFIX}{service}-{stamp(now)}", cronjob, spec, labels=labels)
        job["metadata"]["namespace"] = namespace
        result.append(job)
    return result


def read_counts(lines: Iterable[str]) -> dict[str, int]:
    """`rows|docs <TAB> name <TAB> count` lines as {"rows db.table": n}; others ignored."""
    found = {}
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 3 and fields[0] in (ROWS, DOCUMENTS) and fields[2].isdigit():
            found[f"{fields[0]} {fields[1]}"] = int(fields[2])
    return found


@dataclass(frozen=True)
class Mismatch:
    what: str  # "rows openedx.auth_user"
    source: int | None  # None: not in the source
    restored: int | None  # None: not restored

    def __str__(self) -> str:
        if self.restored is None:
            return f"{self.what}: {self.source} in the source, missing from the restore"
        if self.source is None:
            return f"{self.what}: {self.restored} restored, not in the source"
        return f"{self.what}: {self.source} in the source, {self.restored} restored"


def compare(source: Mapping[str, int], restored: Mapping[str, int]) -> list[Mismatch]:
    return [
        Mismatch(what, source.get(what), restored.get(what))
        for what in sorted({*source, *restored})
        if source.get(what) != restored.get(what)
    ]
