"""A value is secret because of its setting, not its length: a short password kept in
Tutor's state for the environment never reaches anything but a Secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campus.fleet.model import Fleet
from campus.fleet.tutor_settings import is_secret_setting
from campus.harden import harden_all
from campus.harden.secrets import secret_values
from campus.render import render_fleet
from campus.render.model import RenderedEnvironment

SHORT = "Zq7#x9!"  # 7 characters, a quote-free symbol mix


def test_a_seven_character_password_stays_in_secrets(example_fleet: Fleet, tmp_path: Path) -> None:
    root = tmp_path / "acme-dev"
    root.mkdir()
    (root / "config.yml").write_text(f'MYSQL_ROOT_PASSWORD: "{SHORT}"\n')
    [rendered] = render_fleet(example_fleet, ["acme-dev"], state_dir=tmp_path)
    assert rendered.tutor_config["MYSQL_ROOT_PASSWORD"] == SHORT
    assert SHORT in secret_values(rendered)
    raw = [*rendered.objects, *(task.job for task in rendered.init_tasks)]
    assert SHORT in json.dumps([o for o in raw if o["kind"] != "Secret"])  # Tutor leaks it
    objects, jobs = harden_all(rendered)
    outside = [o for o in objects + jobs if o["kind"] != "Secret"]
    assert SHORT not in json.dumps(outside)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("JUPYTER_HUB_CRYPT_KEY", True),  # tutor-jupyter: encrypts JupyterHub's auth state
        ("MEILISEARCH_MASTER_KEY", True),
        ("MEILISEARCH_API_KEY", True),
        ("OPENEDX_SECRET_KEY", True),
        ("JWT_RSA_PRIVATE_KEY", True),
        ("MYPLUGIN_SIGNING_KEY", True),
        ("MYPLUGIN_FERNET_KEY", True),
        ("CREDENTIALS_OAUTH2_KEY", False),  # an OAuth2 client's name
        ("CMS_OAUTH2_KEY_SSO", False),
        ("JUPYTER_LTI_CLIENT_KEY", False),
        ("OPENEDX_AWS_ACCESS_KEY", False),  # an access key ID
        ("MEILISEARCH_API_KEY_UID", False),  # names the key, useless without the master key
        ("MYPLUGIN_KEY_ID", False),
    ],
)
def test_key_names_that_are_key_material_are_secret(name: str, secret: bool) -> None:
    assert is_secret_setting(name) is secret


def test_jupyterhub_crypt_key_never_reaches_a_deployment_or_job(
    rendered_plugins: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_plugins["plug-prod"]
    key = str(rendered.tutor_config["JUPYTER_HUB_CRYPT_KEY"])
    raw = [*rendered.objects, *(task.job for task in rendered.init_tasks)]
    assert key in json.dumps([o for o in raw if o["kind"] == "Deployment"])  # Tutor's env value
    objects, jobs = harden_all(rendered)
    assert key not in json.dumps([o for o in objects + jobs if o["kind"] != "Secret"])
