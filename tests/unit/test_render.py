"""Rendering through Tutor: stable secrets kept private, plugins checked, init tasks, the
JWT key campus generates for a new environment."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from campus.fleet.model import Fleet
from campus.render import render_environment
from campus.render.model import RenderedEnvironment
from campus.render.state import CONFIG_FILE, JWT_KEY, UNCONFIRMED, provide_jwt_key
from campus.render.tutor import RenderError


def test_secrets_are_stable_from_one_render_to_the_next(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    environment = example_fleet.environment("acme-dev")
    first = render_environment(environment, tmp_path)
    second = render_environment(environment, tmp_path)
    assert first.secret_values and first.secret_values == second.secret_values
    assert first.tutor_config["MYSQL_ROOT_PASSWORD"] == second.tutor_config["MYSQL_ROOT_PASSWORD"]


def test_state_is_private_and_kept_out_of_git(example_fleet: Fleet, tmp_path: Path) -> None:
    render_environment(example_fleet.environment("acme-dev"), tmp_path)
    for folder in (tmp_path, tmp_path / "acme-dev"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Tutor writes its settings world-readable; campus keeps them to their owner.
    assert stat.S_IMODE((tmp_path / "acme-dev" / "config.yml").stat().st_mode) == 0o600
    assert (tmp_path / ".gitignore").read_text().strip().endswith("*")


def test_environments_get_different_secrets(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    dev, prod = rendered_example["acme-dev"], rendered_example["acme-prod"]
    assert dev.tutor_config["OPENEDX_SECRET_KEY"] != prod.tutor_config["OPENEDX_SECRET_KEY"]


def test_a_plugin_named_but_not_installed_is_an_error(example_fleet: Fleet, tmp_path: Path) -> None:
    environment = example_fleet.environment("acme-dev").model_copy(
        update={"plugins": ("mfe", "no-such-plugin")}
    )
    with pytest.raises(RenderError, match=r"no-such-plugin.*pip install tutor-no-such-plugin"):
        render_environment(environment, tmp_path)


def test_init_tasks_in_tutors_order_with_plugins(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    tasks = rendered_example["acme-dev"].init_tasks
    services = [task.service for task in tasks]
    assert services.index("mysql") < services.index("cms")  # databases before migrations
    for task in tasks:
        container = task.job["spec"]["template"]["spec"]["containers"][0]
        assert task.script in container["args"]
        assert task.job["metadata"]["namespace"] == "acme-dev"


def test_ingress_mode_turns_off_caddys_own_tls(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    config = rendered_example["acme-dev"].tutor_config
    assert config["ENABLE_WEB_PROXY"] is False
    assert config["K8S_NAMESPACE"] == "acme-dev"
    caddy = next(
        o
        for o in rendered_example["acme-dev"].objects
        if o["kind"] == "Service" and o["metadata"]["name"] == "caddy"
    )
    assert caddy["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_a_new_environment_gets_its_jwt_key_from_campus_and_no_env_folder(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    rendered = render_environment(example_fleet.environment("acme-dev"), tmp_path)
    key = serialization.load_pem_private_key(rendered.tutor_config[JWT_KEY].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert rendered.tutor_config[JWT_KEY].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert rendered.tutor_state[JWT_KEY] == rendered.tutor_config[JWT_KEY]
    assert (tmp_path / "acme-dev" / UNCONFIRMED).exists()  # generated here, never deployed
    # Tutor rendered it as the JWK the applications read, and nothing wrote an env folder.
    assert not (tmp_path / "acme-dev" / "env").exists()
    public = key.public_key().public_numbers()
    modulus = base64.urlsafe_b64encode(public.n.to_bytes(256, "big")).rstrip(b"=").decode()
    assert any(modulus in text for text in _config_map_texts(rendered))


def test_a_cache_is_never_given_another_key(tmp_path: Path) -> None:
    assert provide_jwt_key(tmp_path, "acme-dev")
    config = tmp_path / "acme-dev" / CONFIG_FILE
    written = config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert not provide_jwt_key(tmp_path, "acme-dev")
    assert config.read_text() == written


def _config_map_texts(rendered: RenderedEnvironment) -> list[str]:
    return [
        value
        for obj in rendered.objects
        if obj["kind"] == "ConfigMap"
        for value in (obj.get("data") or {}).values()
    ]


def test_compiled_templates_are_shared_and_hold_no_secret(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    rendered = render_environment(example_fleet.environment("acme-dev"), tmp_path)
    [folder] = tmp_path.glob(".jinja-*")
    compiled = list(folder.iterdir())
    assert len(compiled) > 20  # Tutor's files, plugins' patches, settings' templates
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in compiled)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    data = b"".join(path.read_bytes() for path in compiled)
    assert rendered.secret_values and not [v for v in rendered.secret_values if v.encode() in data]
    # Another environment loads what the first compiled, and compiles only its own values.
    render_environment(example_fleet.environment("acme-test"), tmp_path)
    assert len(list(folder.iterdir())) - len(compiled) < len(compiled) // 4
