"""Which interpreter runs the render worker and fork server, and with which code.

An environment that pins nothing renders with the Python campus runs on (`python -m
campus.render.worker`, as always). One that pins a release renders with its toolchain's
interpreter (`campus.toolchain`), a virtual environment holding Tutor and its plugins but
not campus: there the worker runs from a copy of its own modules and the few campus modules
they import (`worker_modules`: the standard library, Tutor and what Tutor requires only,
which a test holds), in packages
whose `__init__` is left empty, so nothing beyond them is imported and nothing installed
beside campus (another Tutor) can leak in.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import campus

ENTRY_MODULES = ("campus.render.worker", "campus.render.forkserver")
# Variables that would let the interpreter find other code than the toolchain's and the copy.
_PYTHON_PATHS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")


def _module_file(package: Path, module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (package / relative.with_suffix(".py"), package / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, by absolute name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def worker_modules(package: Path | None = None) -> dict[str, Path]:
    """The campus modules the worker and fork server need, by name: themselves and what
    they import from campus, transitively (names that are not modules are dropped)."""
    package = package or Path(campus.__file__).parent
    wanted = list(ENTRY_MODULES)
    found: dict[str, Path] = {}
    while wanted:
        name = wanted.pop()
        path = _module_file(package, name)
        if name in found or path is None or path.name == "__init__.py":
            continue
        found[name] = path
        wanted += [m for m in _imports(path) if m.split(".")[0] == "campus"]
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tutor_modules() -> set[str]:
    """Tutor and the modules of what it requires (Jinja2, PyYAML, Click...): in every
    toolchain, since each holds a Tutor."""
    required = {
        _normal(re.split(r"[\s;<>=!~\[]", line, maxsplit=1)[0])
        for line in requires("tutor") or []
        if "extra ==" not in line
    }
    return {"tutor"} | {
        module
        for module, owners in packages_distributions().items()
        if any(_normal(owner) in required for owner in owners)
    }


def foreign_imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Per module, the top-level packages it imports that are neither the standard library,
    Tutor (with what it requires), nor campus: what a toolchain could not import."""
    allowed = {*sys.stdlib_module_names, *tutor_modules(), "campus", "__future__"}
    result = {}
    for name, path in modules.items():
        foreign = {m.split(".")[0] for m in _imports(path)} - allowed
        if foreign:
            result[name] = foreign
    return result


def copy_worker(target: Path, package: Path | None = None) -> Path:
    """The worker's modules under `target` (packages with empty `__init__`), for the
    toolchain interpreter's path; returns `target`."""
    for name, path in worker_modules(package).items():
        parts = name.split(".")
        for depth in range(1, len(parts)):
            init = target.joinpath(*parts[:depth], "__init__.py")
            init.parent.mkdir(parents=True, exist_ok=True)
            init.touch()
        shutil.copyfile(path, target.joinpath(*parts[:-1], f"{parts[-1]}.py"))
    return target


@dataclass(frozen=True)
class Interpreter:
    """How to start a worker or fork server: the interpreter, its options, its environment
    (None: campus's own)."""

    python: str = sys.executable
    options: tuple[str, ...] = ()
    environment: dict[str, str] | None = field(default=None, compare=False)

    def command(self, module: str) -> list[str]:
        return [self.python, *self.options, "-m", module]

    def env(self, **extra: str) -> dict[str, str]:
        return {**(self.environment if self.environment is not None else os.environ), **extra}


CAMPUS = Interpreter()


def toolchain_interpreter(python: Path, worker_copy: Path) -> Interpreter:
    """A toolchain's interpreter running the worker from `worker_copy` (`copy_worker`):
    `-P` keeps the current folder off the path; the copy is the only code added to it."""
    environment = {k: v for k, v in os.environ.items() if k not in _PYTHON_PATHS}
    environment["PYTHONPATH"] = str(worker_copy)
    environment["PYTHONNOUSERSITE"] = "1"
    return Interpreter(str(python), ("-P",), environment)
