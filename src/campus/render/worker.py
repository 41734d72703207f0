"""Renders ONE environment with Tutor, in a process of its own.

Tutor keeps its hooks (plugins, filters, template globals) in process-global state, so two
environments rendered in one process would leak into each other. `campus.render.tutor`
starts this module once per environment (`python -m campus.render.worker`): a request as
JSON on stdin, the result as JSON on stdout, Tutor's chatter kept off stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

from campus.atomic import write_atomically
from campus.fleet.tutor_settings import is_secret_setting
from campus.state.model import NOT_STATE


def _secret_values(tutor_utils: Any, base: dict[str, Any], full: dict[str, Any]) -> list[str]:
    values: set[str] = set()
    for key in base:
        value = full.get(key)
        if is_secret_setting(key) and isinstance(value, str) and value.strip():
            values.add(value)
    private_key = full.get("JWT_RSA_PRIVATE_KEY")
    if isinstance(private_key, str) and private_key:
        # Tutor also renders the key as a JWK: its private numbers are secrets too.
        key = tutor_utils.rsa_import_key(private_key)
        for number in ("d", "p", "q", "dp", "dq", "invp", "u"):
            if hasattr(key, number):
                values.add(tutor_utils.long_to_base64(getattr(key, number)))
        values |= {line for line in private_key.splitlines() if len(line) >= 40}
    return sorted(values)


def save_config(root: str, config: dict[str, Any]) -> None:
    """Tutor's `config.yml`, written atomically: it holds the passwords Tutor generated,
    and Tutor's own `save_config_file` truncates it first, so a process killed while it
    writes would lose them."""
    from tutor import config as tutor_config
    from tutor import serialize

    write_atomically(tutor_config.config_path(root), serialize.dumps(config))


def render(request: dict[str, Any]) -> dict[str, Any]:
    # Imported here: importing tutor.commands.cli registers template globals (a Tutor
    # import side effect) and must happen inside the worker process, never in campus's.
    from tutor import config as tutor_config
    from tutor import env as tutor_env
    from tutor import plugins, utils
    from tutor.commands import cli  # noqa: F401  (side effect: template globals)
    from tutor.hooks.catalog import Actions, Filters

    root: str = request["root"]
    wanted: list[str] = request["plugins"]
    Actions.CORE_READY.do()
    installed = set(plugins.iter_installed())
    missing = [name for name in wanted if name not in installed]
    if missing:
        return {
            "error": "Tutor plugin(s) named but not installed: "
            + ", ".join(missing)
            + " (install with: pip install "
            + " ".join(f"tutor-{name}" for name in missing)
            + ")"
        }
    user = tutor_config.get_user(root)
    user.update(request.get("state") or {})  # the cluster's copy, which wins
    user[tutor_config.PLUGINS_CONFIG_KEY] = list(wanted)
    save_config(root, user)
    Actions.PROJECT_ROOT_READY.do(root)  # loads exactly the plugins listed

    config = tutor_config.load_minimal(root)  # generates unique values on first run
    config.update(request["settings"])
    save_config(root, config)
    full = tutor_config.load_full(root)
    tutor_env.save(root, full)

    tasks = []
    for service, script in Filters.CLI_DO_INIT_TASKS.iterate():
        tasks.append({"service": service, "script": tutor_env.render_str(full, script)})
    base = tutor_config.get_base()
    from tutor.__about__ import __version__

    kept = set(base) - set(request["settings"]) - NOT_STATE

    return {
        "config": json.loads(json.dumps(full, default=str)),
        "tasks": tasks,
        "secretValues": _secret_values(utils, base, full),
        "state": json.loads(json.dumps({k: config[k] for k in kept if k in config}, default=str)),
        "tutorVersion": __version__,
        "plugins": sorted(plugins.iter_loaded()),
    }


def main() -> None:
    request = json.load(sys.stdin)
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter):
            result = render(request)
    except Exception as error:  # reported to the parent, which names the environment
        result = {"error": f"{type(error).__name__}: {error}", "log": chatter.getvalue()[-4000:]}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
