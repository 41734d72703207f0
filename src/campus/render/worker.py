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
import posixpath
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


def _kustomize_inputs(renderer: Any, targets: list[tuple[str, str]]) -> dict[str, str]:
    """The env files Tutor's kustomization reads (itself, its resources, generated
    ConfigMaps' files, patches), rendered in memory by their path under env/, as
    `tutor.env.save` would write them; the rest of the tree (image build contexts, compose
    files) is never rendered."""
    from tutor import serialize

    templates: dict[str, str] = {}  # env path -> template; a later target wins, as in save
    for source, destination in targets:
        for template in renderer.iter_templates_in(source):
            templates[posixpath.normpath(posixpath.join(destination, template))] = template
    files: dict[str, str] = {}

    def add(path: str) -> None:
        name = posixpath.normpath(str(path))
        if name in files or name not in templates:
            return  # one Tutor did not render: the build names it
        content = renderer.render_template(templates[name])
        files[name] = content.decode() if isinstance(content, bytes) else content

    add("kustomization.yml")
    kustomization = serialize.load(files.get("kustomization.yml", "")) or {}
    wanted = list(kustomization.get("resources") or [])
    for generator in kustomization.get("configMapGenerator") or []:
        wanted += [str(entry).rpartition("=")[2] for entry in generator.get("files") or []]
    wanted += list(kustomization.get("patchesStrategicMerge") or [])
    wanted += [patch["path"] for patch in kustomization.get("patches") or [] if "path" in patch]
    for path in wanted:
        add(path)
    return files


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
    renderer = tutor_env.Renderer(full)
    files = None
    if request.get("saveEnv"):  # the env folder on disk, as `tutor config save` writes it
        tutor_env.save(root, full)
    else:
        files = _kustomize_inputs(renderer, list(Filters.ENV_TEMPLATE_TARGETS.iterate()))

    tasks = []
    for service, script in Filters.CLI_DO_INIT_TASKS.iterate():
        tasks.append({"service": service, "script": renderer.render_str(script)})
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
        **({} if files is None else {"files": files}),
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
