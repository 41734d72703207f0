"""Reading and writing an environment's Tutor state Secret (see `campus.state.model`)."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime

from lightkube import Client
from lightkube.resources.core_v1 import Secret

from campus.errors import CampusError
from campus.kube.apply import apply_object
from campus.kube.errors import ApiFailure, NotFound
from campus.state.model import (
    SECRET_NAME,
    TutorState,
    decode,
    encode,
    pending_message,
    stamped,
    to_store,
)


def read_state(client: Client, namespace: str, environment: str) -> TutorState | None:
    """The cluster's copy, or None when it holds none (or not even the namespace)."""
    try:
        secret = client.get(Secret, SECRET_NAME, namespace=namespace)
    except NotFound:
        return None
    except ApiFailure as error:
        raise error.saying(
            f"{environment}: cannot read its Tutor state (Secret {SECRET_NAME} in namespace "
            f"{namespace}): {error.reason}"
        ) from None
    return decode(secret.to_dict())


def write_state(
    client: Client, namespace: str, state: TutorState, previous: TutorState | None
) -> TutorState:
    """Store `state` as the cluster's copy (replacing `previous`), stamped with when and by
    whom, and when each setting was set."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    written = stamped(previous, state, now, f"{getpass.getuser()}@{socket.gethostname()}")
    apply_object(client, encode(written, namespace))
    return written


def store_before_deploy(
    client: Client,
    namespace: str,
    environment: str,
    rendered: TutorState | None,
    rotating: tuple[str, ...] = (),
) -> str | None:
    """Called by a deploy holding the environment's Lease, before it applies anything: the
    first deploy stores the state it rendered with (`rendered`, None for a rollback); a
    later one adds settings the cluster lacks. A render whose values differ from the
    cluster's is refused (`StateConflict`): another machine stored its own since this one
    rendered. So is any deploy but the rotation's (`rotating`) while a rotation is pending.
    What was done, or None."""
    stored = read_state(client, namespace, environment)
    if stored is not None and stored.pending and not set(stored.rotating) <= set(rotating):
        raise CampusError(pending_message(environment, stored))
    if rendered is None:
        return None
    wanted = to_store(rendered.environment, namespace, stored, rendered)
    if wanted is None:
        return None
    write_state(client, namespace, wanted, stored)
    if stored is None:
        return f"stored its Tutor state in Secret {SECRET_NAME}"
    return f"added {len(wanted.values) - len(stored.values)} new setting(s) to its Tutor state"
