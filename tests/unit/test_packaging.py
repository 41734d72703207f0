"""What `pip install openedx-campus` (no extras) brings is enough to run campus: every
library campus imports comes with a runtime dependency. A fast guard for the full check
(a fresh virtual environment, `pip install .`, `campus lint`; docs/hardening.md)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]


def imported_libraries() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "campus").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "campus"}


def closure(names: list[str]) -> set[str]:
    """The runtime dependencies and everything they require, without extras."""
    seen: set[str] = set()
    pending = [n.lower().replace("_", "-") for n in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            required = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in required:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name.lower().replace("_", "-"))
    return seen


def test_every_library_campus_imports_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "openedx-campus"
    runtime = closure([Requirement(line).name for line in project["dependencies"]])
    providers = packages_distributions()
    missing = sorted(
        library
        for library in imported_libraries()
        if not {d.lower().replace("_", "-") for d in providers.get(library, [library])} & runtime
    )
    assert missing == []
