"""Which of an environment's Tutor settings `campus secrets rotate` changes, and how; their
ages for `campus secrets list`; what a rotation's outcome leaves in force. Pure.

A rotated setting is removed from the state the render starts from, so Tutor generates a
new value as it did on the first install. What then changes the value where it is held,
before the applications roll with it:

- `MYSQL_ROOT_PASSWORD`: MySQL reads it from its environment only when it creates its data
  folder, so campus adds a Job of its own, first of the init Jobs: it logs in with the old
  password and sets the new one (`ALTER USER`); run again, it sees the new one already
  works and does nothing. Tutor's init Jobs, which log in as root, follow with the new one.
- `OPENEDX_MYSQL_PASSWORD`: Tutor's mysql init task sets the user's password on MySQL
  (`ALTER USER ... IDENTIFIED BY`); its content changes, so the deploy runs it again.
- `CMS_OAUTH2_SECRET`: Tutor's lms init task updates the OAuth application
  (`create_dot_application --update`).
- `MEILISEARCH_MASTER_KEY`: Meilisearch derives every API key from its master key and the
  key's uid (an HMAC), and Tutor derives `MEILISEARCH_API_KEY` the same way, so the API key
  is generated again with it. Meilisearch restarts with the new master key in the backing
  phase (its stored keys keep their uids, so they are valid under the new key), then the
  applications roll with the new API key; search is refused in between.
- `OPENEDX_SECRET_KEY`, `JWT_RSA_PRIVATE_KEY`: no data service holds them; the applications
  roll (sessions and tokens signed with the old key stop being accepted).

Until a rotation is confirmed the cluster's state records it as pending (`TutorState.pending`):
a Job that timed out may still set the new value later, so neither value is safe to deploy
with until the rotation is finished with the same new value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from campus.errors import CampusError
from campus.kube.objects import KubeObject, digest
from campus.labels import NAME
from campus.state.model import TutorState, pending_message

# The deploy's phases in order, by name (`campus.deploy.phases.Phase` values).
PHASES = (
    "foundation",
    "configuration",
    "backing services",
    "upgrade",
    "init jobs",
    "applications",
    "availability",
)
# Once the deploy has started this phase, the applications hold every new value (the init
# Jobs completed): the rotation is done even when the deploy fails later.
APPLICATIONS = "applications"


@dataclass(frozen=True)
class Rotatable:
    how: str
    held_from: str  # the first phase from which a data service may hold the new value
    derived: tuple[str, ...] = ()  # settings Tutor derives from it, generated again too
    service: str | None = None  # the Deployment that must be campus's to rotate it


ROTATABLE = {
    "MYSQL_ROOT_PASSWORD": Rotatable(
        "MySQL root password, changed by campus's Job (logs in with the old one) first",
        "init jobs",
        service="mysql",
    ),
    "OPENEDX_MYSQL_PASSWORD": Rotatable(
        "MySQL user's password, changed by Tutor's mysql init Job first", "init jobs"
    ),
    "CMS_OAUTH2_SECRET": Rotatable(
        "OAuth application secret, updated by Tutor's lms init Job first", "init jobs"
    ),
    "MEILISEARCH_MASTER_KEY": Rotatable(
        "Meilisearch restarts with it, then the applications roll with the API key derived from it",
        "backing services",
        derived=("MEILISEARCH_API_KEY",),
        service="meilisearch",
    ),
    "OPENEDX_SECRET_KEY": Rotatable("held by no database: the applications roll", APPLICATIONS),
    "JWT_RSA_PRIVATE_KEY": Rotatable("held by no database: the applications roll", APPLICATIONS),
}
NEVER = {
    "ID": "part of every Deployment's immutable selector: never rotated",
    "MEILISEARCH_API_KEY": "derived from MEILISEARCH_MASTER_KEY: rotate that",
}

Verdict = Literal["confirmed", "pending", "nothing"]


class RotationRefused(CampusError):
    pass


def check_rotatable(environment: str, names: Sequence[str], state: TutorState) -> None:
    """Refuses names campus does not rotate, and, while a rotation is pending, any other
    rotation than finishing that one."""
    if state.pending and sorted(names) != sorted(state.rotating):
        raise RotationRefused(pending_message(environment, state))
    problems = []
    for name in names:
        if name in NEVER:
            problems.append(f"{name}: {NEVER[name]}")
        elif name not in ROTATABLE:
            problems.append(f"{name}: not one of {', '.join(ROTATABLE)}")
        elif name not in state.values:
            problems.append(f"{name}: not in {environment}'s Tutor state")
    if problems or not names:
        raise RotationRefused(
            f"{environment}: nothing rotated:\n  " + "\n  ".join(problems or ["no name given"])
        )


def generated_again(names: Sequence[str]) -> list[str]:
    """The settings Tutor generates anew: the names and what it derives from them."""
    found = [*names]
    for name in names:
        found += [d for d in ROTATABLE[name].derived if d not in found]
    return found


def services_missing(names: Sequence[str], deployments: set[str]) -> list[str]:
    """Why a name cannot be rotated by this environment's own objects (the data service runs
    elsewhere, out of campus's reach)."""
    return [
        f"{name}: no Deployment {ROTATABLE[name].service} in the environment (the service "
        "runs elsewhere: change it there, then `campus state push`)"
        for name in names
        if ROTATABLE[name].service and ROTATABLE[name].service not in deployments
    ]


def verdict(names: Sequence[str], outcome: str, reached: str, resuming: bool) -> Verdict:
    """What a rotation's deploy leaves in force. `reached`: the last phase the deploy began
    ("" when it began none). Confirmed once the applications began rolling (every init Job
    completed); nothing rotated when it failed before any data service could have taken a
    new value; otherwise pending, to be finished with the same values."""
    if outcome in ("deployed", "unchanged"):
        return "confirmed"
    if reached and PHASES.index(reached) >= PHASES.index(APPLICATIONS):
        return "confirmed"
    first = min(PHASES.index(ROTATABLE[name].held_from) for name in names)
    if resuming or (reached and PHASES.index(reached) >= first):
        return "pending"
    return "nothing"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


ROOT_JOB = "mysql-rotate-root"
_ROOT_SCRIPT = """\
login() {
  MYSQL_PWD="$1" mysql -u "$CAMPUS_ROOT_USER" --host "$CAMPUS_HOST" --port "$CAMPUS_PORT" \\
    "$2" "$3"
}
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if login "$CAMPUS_NEW_PASSWORD" -e 'select 1' >/dev/null 2>&1; then
    echo "MySQL's root user already has the new password"; exit 0
  fi
  if login "$CAMPUS_OLD_PASSWORD" -e "$CAMPUS_ROTATE_SQL"; then
    echo "MySQL's root password changed"; exit 0
  fi
  echo "[$attempt/10] MySQL refused both passwords or is not up yet"; sleep 6
done
exit 1
"""


def root_password_job(
    template: KubeObject, config: Mapping[str, Any], old: str, new: str
) -> tuple[KubeObject, KubeObject]:
    """A Secret holding the old and new root passwords and the Job that sets the new one on
    MySQL, built from Tutor's mysql init Job (`template`, hardened: its image, security
    context and resources), reading every secret from the Secret. Named after the values,
    so the same rotation gives the same Job, which a deploy does not run twice."""
    user = str(config.get("MYSQL_ROOT_USERNAME") or "root")
    statements = " ".join(
        f"ALTER USER IF EXISTS {_sql_string(user)}@{_sql_string(host)} IDENTIFIED BY "
        f"{_sql_string(new)};"
        for host in ("%", "localhost")
    )
    values = {
        "CAMPUS_OLD_PASSWORD": old,
        "CAMPUS_NEW_PASSWORD": new,
        "CAMPUS_ROTATE_SQL": statements,
    }
    metadata = template["metadata"]
    secret_name = f"{ROOT_JOB}-{digest(values)[:8]}"
    secret: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name,
            "namespace": metadata.get("namespace"),
            "labels": dict(metadata.get("labels") or {}),
        },
        "stringData": values,
    }
    job: KubeObject = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": ROOT_JOB,
            "namespace": metadata.get("namespace"),
            "labels": {**(metadata.get("labels") or {}), NAME: ROOT_JOB},
        },
        "spec": {**template["spec"], "backoffLimit": 1},
    }
    pod = dict(job["spec"]["template"])
    spec = dict(pod["spec"])
    container = dict(spec["containers"][0])
    container["command"] = ["sh", "-c"]
    container["args"] = [_ROOT_SCRIPT]
    container["env"] = [
        {"name": "CAMPUS_ROOT_USER", "value": user},
        {"name": "CAMPUS_HOST", "value": str(config.get("MYSQL_HOST") or "mysql")},
        {"name": "CAMPUS_PORT", "value": str(config.get("MYSQL_PORT") or 3306)},
    ] + [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
        for key in values
    ]
    container.pop("envFrom", None)
    spec["containers"] = [container]
    pod["spec"] = spec
    job["spec"]["template"] = pod
    return secret, job


@dataclass(frozen=True)
class SecretAge:
    name: str
    seconds: float | None  # None: not known (stored before campus recorded it)
    rotation: str


def ages(state: TutorState, now: datetime) -> list[SecretAge]:
    """Every setting of the state, with how long its value has been in force."""
    found = []
    for name in sorted(state.values):
        since = state.changed_at.get(name) or state.updated_at
        seconds = (now - datetime.fromisoformat(since)).total_seconds() if since else None
        if name in ROTATABLE:
            how = ROTATABLE[name].how
            if name in state.rotating:
                how = f"pending since {state.pending_since}: finish with `secrets rotate`; {how}"
        else:
            how = f"no: {NEVER.get(name, 'not rotated by campus')}"
        found.append(SecretAge(name, seconds, how))
    return found
