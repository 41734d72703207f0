"""Which of an environment's Tutor settings `campus secrets rotate` changes, and how; their
ages for `campus secrets list`. Pure.

A rotated setting is removed from the state the render starts from, so Tutor generates a
new value as it did on the first install. What then changes the value where it is held:

- `OPENEDX_MYSQL_PASSWORD`: Tutor's mysql init task sets the user's password on MySQL
  (`ALTER USER ... IDENTIFIED BY`); its content changes, so the deploy runs it again, in
  the init phase, before the applications roll with the new Secret.
- `CMS_OAUTH2_SECRET`: Tutor's lms init task updates the OAuth application
  (`create_dot_application --update`), also before the applications roll.
- `OPENEDX_SECRET_KEY`, `JWT_RSA_PRIVATE_KEY`: no database holds them; the applications
  roll (sessions and tokens signed with the old key stop being accepted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from campus.errors import CampusError
from campus.state.model import TutorState

ROTATABLE = {
    "OPENEDX_MYSQL_PASSWORD": "MySQL user's password, changed by Tutor's mysql init Job first",
    "CMS_OAUTH2_SECRET": "OAuth application secret, updated by Tutor's lms init Job first",
    "OPENEDX_SECRET_KEY": "held by no database: the applications roll",
    "JWT_RSA_PRIVATE_KEY": "held by no database: the applications roll",
}
# Not rotated yet, and why: said instead of a bare refusal.
NOT_YET = {
    "MYSQL_ROOT_PASSWORD": "needs a Job that logs in with the old password; not built yet",
    "MEILISEARCH_MASTER_KEY": "Meilisearch keeps keys derived from it; not built yet",
    "ID": "part of every Deployment's immutable selector: never rotated",
}


class RotationRefused(CampusError):
    pass


def check_rotatable(environment: str, names: Sequence[str], state: TutorState) -> None:
    problems = []
    for name in names:
        if name in NOT_YET:
            problems.append(f"{name}: {NOT_YET[name]}")
        elif name not in ROTATABLE:
            problems.append(f"{name}: not one of {', '.join(ROTATABLE)}")
        elif name not in state.values:
            problems.append(f"{name}: not in {environment}'s Tutor state")
    if problems or not names:
        raise RotationRefused(
            f"{environment}: nothing rotated:\n  " + "\n  ".join(problems or ["no name given"])
        )


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
        how = ROTATABLE.get(name) or NOT_YET.get(name) or "not rotated by campus"
        found.append(SecretAge(name, seconds, how if name in ROTATABLE else f"no: {how}"))
    return found
