"""The encrypted bundle `campus state export` writes for disaster recovery, and reading it
back: Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived from
a passphrase with scrypt. No I/O: bytes in, bytes out."""

from __future__ import annotations

import base64
import json
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from campus.errors import CampusError
from campus.state.model import TutorState

HEADER = b"campus-state-bundle 1\n"
# scrypt's cost: 2**15 takes about 0.1 s and 32 MiB, as `cryptography` recommends for
# interactive use; a guess costs an attacker the same.
_COST = 2**15


class BundleError(CampusError):
    pass


def _key(passphrase: str, salt: bytes) -> bytes:
    derived = Scrypt(salt=salt, length=32, n=_COST, r=8, p=1).derive(passphrase.encode())
    return base64.urlsafe_b64encode(derived)


def seal(states: list[TutorState], passphrase: str) -> bytes:
    if not passphrase:
        raise BundleError("an empty passphrase would not protect the bundle")
    payload = json.dumps(
        [
            {
                "environment": s.environment,
                "values": dict(s.values),
                "tutorVersion": s.tutor_version,
                "updatedAt": s.updated_at,
                "updatedBy": s.updated_by,
            }
            for s in states
        ],
        sort_keys=True,
    ).encode()
    salt = os.urandom(16)
    token = Fernet(_key(passphrase, salt)).encrypt(payload)
    return HEADER + base64.urlsafe_b64encode(salt) + b"\n" + token + b"\n"


def unseal(data: bytes, passphrase: str) -> list[TutorState]:
    if not data.startswith(HEADER):
        raise BundleError("not a bundle written by `campus state export`")
    try:
        salt_line, token = data[len(HEADER) :].split(b"\n", 2)[:2]
        payload = Fernet(_key(passphrase, base64.urlsafe_b64decode(salt_line))).decrypt(token)
    except (InvalidToken, ValueError):
        raise BundleError(
            "cannot decrypt the bundle: wrong passphrase, or a damaged file"
        ) from None
    return [
        TutorState(
            item["environment"],
            item["values"],
            item["tutorVersion"],
            item["updatedAt"],
            item["updatedBy"],
        )
        for item in json.loads(payload)
    ]
