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
# SMTP_PASSWORD, ...). Not every `_KEY` is one: an OAuth2 or LTI client key and an access
# key ID name a client ("discovery", "openedx"), and are written in plain sight.
SECRET_SETTING = re.compile(r"PASSWORD|SECRET|PRIVATE_KEY|TOKEN|API_KEY|MASTER_KEY")


def is_secret_setting(name: str) -> bool:
    return bool(SECRET_SETTING.search(name))


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
