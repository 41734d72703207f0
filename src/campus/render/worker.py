"""Renders ONE environment with Tutor, in a process of its own.

Tutor keeps its hooks (plugins, filters, template globals) in process-global state, so two
environments rendered in one process would leak into each other. `campus.render.tutor`
starts this module once per environment (`python -m campus.render.worker`): a request as
JSON on stdin, the result as JSON on stdout, Tutor's chatter kept off stdout.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from campus.atomic import write_atomically
from campus.fleet.tutor_settings import is_secret_setting
from campus.render.patches import PATCHES
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


_JINJA_SYNTAX = ("{{", "{%", "{#")


def _computes_while_compiling(tree: Any) -> bool:
    """Whether compiling `tree` may call a filter or a test: Jinja folds one whose input
    and arguments are all constants into the code (`{{ 24|random_string }}` compiles to
    the string it drew), which must then never serve another environment."""
    from jinja2 import nodes

    return any(
        next(call.find_all(nodes.Name), None) is None
        for call in tree.find_all((nodes.Filter, nodes.Test))
    )


@contextlib.contextmanager
def _compiled_once(directory: str) -> Any:
    """Jinja compiles each template (a file, a plugin's patch, a setting's value) where it
    is used: in every environment again, and a patch once per file that includes it, most
    of a render's time. While this is open, compiled code is kept in `directory` through
    Jinja's own bytecode cache, keyed by the source and by everything in the environment
    that compiling reads (its options, the names of its filters and tests), so the other
    environments of a fleet, in other processes, load it instead. A source without Jinja
    syntax (a plain value: a password) is never kept, nor anything a filter computed."""
    import jinja2

    store = jinja2.FileSystemBytecodeCache(directory)
    compile_source: Any = jinja2.Environment.compile

    def compile_once(
        environment: jinja2.Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if (
            raw
            or defer_init
            or not isinstance(source, str)
            or not any(mark in source for mark in _JINJA_SYNTAX)
        ):
            return compile_source(environment, source, name, filename, raw, defer_init)
        options = (
            type(environment).__qualname__,
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.optimized,
            environment.autoescape,
            sorted(environment.extensions),
            sorted(environment.filters),
            sorted(environment.tests),
        )
        # The key names the source too: every string is compiled under the same name (None).
        key = f"{name}\0{options!r}\0{hashlib.sha256(source.encode()).hexdigest()}"
        bucket = store.get_bucket(environment, key, filename, source)
        if bucket.code is None:
            tree = environment.parse(source, name, filename)
            code = compile_source(environment, tree, name, filename)
            if _computes_while_compiling(tree):
                return code  # this environment's own: never kept
            bucket.code = code
            store.set_bucket(bucket)
        return bucket.code

    jinja2.Environment.compile = compile_once  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        jinja2.Environment.compile = compile_source  # type: ignore[method-assign]


_NEWLINE = re.compile(r"\r\n|\r|\n")


def as_jinja_renders(text: str) -> str:
    """What Jinja renders for a template without Jinja syntax (Tutor's defaults): the
    text, its line ends made \\n and one trailing line end dropped (no
    keep_trailing_newline)."""
    lines = _NEWLINE.split(text)
    if lines[-1] == "":
        del lines[-1]
    return "\n".join(lines)


@contextlib.contextmanager
def _tutor_shortcuts() -> Any:
    """Three of Tutor's costs, paid again in every environment, cut while this is open:
    importing the environment's JWT key, which its templates do four times and
    pycryptodome checks each time with primality tests (the same key gives the same
    object); reading YAML (Tutor's defaults, `config.yml`, plugin files) through PyYAML's
    pure-Python parser: libyaml's gives the same objects (the same resolver and
    constructor) several times faster; and rendering each setting's value, which copies
    the whole configuration and compiles a template even for a value without Jinja
    syntax (most of them), whose rendering `as_jinja_renders` gives directly."""
    import yaml
    from Crypto.PublicKey import RSA
    from tutor import env, serialize

    import_key, load, load_all = RSA.import_key, serialize.load, serialize.load_all
    render_str = env.render_str
    imported: dict[Any, Any] = {}

    def import_once(extern_key: Any, passphrase: Any = None, **options: Any) -> Any:
        if passphrase is not None or options:
            return import_key(extern_key, passphrase, **options)
        if extern_key not in imported:
            imported[extern_key] = import_key(extern_key)
        return imported[extern_key]

    def render_plain_once(config: Any, text: str) -> Any:
        if any(mark in text for mark in _JINJA_SYNTAX):
            return render_str(config, text)
        return as_jinja_renders(text)

    RSA.import_key = import_once
    env.render_str = render_plain_once
    loader = getattr(yaml, "CSafeLoader", None)  # None: PyYAML built without libyaml
    if loader is not None:
        serialize.load = lambda stream: yaml.load(stream, Loader=loader)
        serialize.load_all = lambda stream: yaml.load_all(stream, Loader=loader)
    try:
        yield
    finally:
        RSA.import_key, serialize.load, serialize.load_all = import_key, load, load_all
        env.render_str = render_str


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


def _add_patches(tutor_plugins: Any) -> None:
    """campus's own patches (`campus.render.patches`), after the plugins' in each patch."""
    from tutor.hooks.catalog import Filters

    for name, content in PATCHES:
        Filters.ENV_PATCHES.add_item((name, content))
    cached = getattr(tutor_plugins, "_env_patches", None)  # Tutor's cache of every patch
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def render(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("saveEnv"):
        return _render(request)  # the path before, as it was
    # Compiled templates are shared by the fleet's environments, beside their roots (the
    # state folder, 0700); per Jinja and Python version, as compiled code is.
    import jinja2

    version = f"{jinja2.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    compiled = Path(request["root"]).parent / f".jinja-{version}"
    compiled.mkdir(mode=0o700, exist_ok=True)
    with _compiled_once(str(compiled)), _tutor_shortcuts():
        return _render(request)


def _render(request: dict[str, Any]) -> dict[str, Any]:
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
    _add_patches(plugins)

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
