"""What campus knows about Tutor's settings, as the fleet file meets them. Pure.

Some settings campus decides for every environment from its own keys (refused under
`tutor`, with the key to use instead); some are secrets, recognised by the setting they
belong to and never by how their value looks; some hosts Tutor derives from `LMS_HOST`.
"""

from __future__ import annotations

import re

# Tutor setting -> the fleet-file key that sets it.
CAMPUS_OWNED = {
    "K8S_NAMESPACE": "namespace",
    "LMS_HOST": "hosts.lms",
    "CMS_HOST": "hosts.cms",
    "PLUGINS": "plugins",
}

# Settings whose value is a secret: Tutor's passwords, keys and tokens say so in their names
# (MYSQL_ROOT_PASSWORD, OPENEDX_SECRET_KEY, JWT_RSA_PRIVATE_KEY, MEILISEARCH_MASTER_KEY,
# SMTP_PASSWORD, JUPYTER_HUB_CRYPT_KEY, ...). Any name ending in `_KEY` is key material
# (a crypt, signing, encryption or API key) unless the word before names a client: an
# OAuth2 or LTI client key and an access key ID name a client ("discovery", "openedx") and
# are written in plain sight (`*_OAUTH2_KEY`, `*_CLIENT_KEY`, `*_ACCESS_KEY`, and the
# `_KEY_SSO`, `_KEY_DEV` variants). What only identifies a key (`_KEY_ID`, `_KEY_UID`,
# `_KEY_NAME`) is not secret either; MEILISEARCH_API_KEY_UID names the API key Meilisearch
# derives from its master key, useless without it.
SECRET_SETTING = re.compile(r"PASSWORD|PASSPHRASE|SECRET|TOKEN|PRIVATE_KEY")
_NAMES_A_CLIENT = ("OAUTH2", "CLIENT", "CONSUMER", "ACCESS", "PUBLIC")


def is_secret_setting(name: str) -> bool:
    name = name.upper()
    if SECRET_SETTING.search(name):
        return True
    words = name.split("_")
    return len(words) >= 2 and words[-1] == "KEY" and words[-2] not in _NAMES_A_CLIENT


# Hosts Tutor derives from LMS_HOST unless set: setting -> (plugin needed or None, prefix).
DERIVED_HOSTS = {
    "CMS_HOST": (None, "studio."),
    "MEILISEARCH_HOST": (None, "meilisearch."),
    "MFE_HOST": ("mfe", "apps."),
}


def derived_hosts(
    lms: str, cms: str | None, plugins: tuple[str, ...], tutor: dict[str, object]
) -> dict[str, str]:
    """Every public host an environment answers on, by Tutor setting: LMS_HOST, CMS_HOST
    (`studio.<lms>` unless given), MEILISEARCH_HOST (`meilisearch.<lms>`) and, with the mfe
    plugin, MFE_HOST (`apps.<lms>`), each as the `tutor` settings may set it."""
    hosts = {"LMS_HOST": lms}
    for setting, (plugin, prefix) in DERIVED_HOSTS.items():
        if plugin is not None and plugin not in plugins:
            continue
        given = cms if setting == "CMS_HOST" else tutor.get(setting)
        hosts[setting] = given if isinstance(given, str) and given else f"{prefix}{lms}"
    return hosts
