"""The layering docs/architecture.md describes, checked against the code's own imports:
who may import the CLI and the output, who may touch the API client's machinery, and
that the pure modules import nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[2] / "src"

# The pure core: plain data in, plain data out; no cluster, no Tutor, no files, no threads.
PURE = (
    "campus.errors",
    "campus.labels",
    "campus.plain_yaml",
    "campus.fleet.addresses",
    "campus.fleet.backup",
    "campus.fleet.checks",
    "campus.fleet.cron",
    "campus.fleet.errors",
    "campus.fleet.inherit",
    "campus.fleet.model",
    "campus.fleet.monitoring",
    "campus.fleet.quantity",
    "campus.fleet.tutor_settings",
    "campus.render.model",
    "campus.state.model",
    "campus.state.rotation",
    "campus.access.model",
    "campus.harden",
    "campus.monitoring",
    "campus.lint",
    "campus.kube.objects",
    "campus.kube.resources",
    "campus.kube.workloads",
    "campus.deploy.changes",
    "campus.deploy.drift",
    "campus.deploy.gateway",
    "campus.deploy.health",
    "campus.deploy.model",
    "campus.deploy.phases",
    "campus.deploy.prepare",
    "campus.deploy.recovery",
    "campus.deploy.revisions",
    "campus.deploy.upgrade",
    "campus.deploy.maintenance",
    "campus.status.model",
    "campus.plan.demand",
    "campus.plan.model",
    "campus.plan.packing",
    "campus.plan.planner",
    "campus.plan.servers",
    "campus.drill.availability",
    "campus.drill.target",
    "campus.drill.services",
    "campus.drill.drain_plan",
    "campus.drill.rotation",
    "campus.scale.rules",
    "campus.scale.capacity",
    "campus.sandbox.network",
    "campus.sandbox.node_config",
    "campus.sandbox.placement",
    "campus.check.targets",
    "campus.sandbox.nodes",
    "campus.services",
    "campus.toolchain.spec",
    "campus.backup.cadence",
    "campus.backup.jobs",
    "campus.backup.restic",
    "campus.backup.schedule",
    "campus.backup.store",
    "campus.restore.counts",
    "campus.restore.jobs",
    "campus.restore.plan",
    "campus.restore.scratch",
)
# Libraries that reach outside the process (or run code that does).
IO_LIBRARIES = ("httpx2", "tutor", "subprocess", "socket", "threading", "concurrent")
# lightkube is the API client, but for its quantity parser.
PURE_LIGHTKUBE = ("lightkube.utils.quantity",)


def modules() -> dict[str, tuple[str, set[str]]]:
    """Every module of campus: its docstring and what it imports (absolute names)."""
    found = {}
    for path in sorted((SOURCE / "campus").rglob("*.py")):
        name = ".".join(path.relative_to(SOURCE).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        found[name] = (ast.get_docstring(tree) or "", imported)
    return found


MODULES = modules()


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def campus_modules(imported: set[str]) -> set[str]:
    """The campus modules among imported names (`from campus.x import y` names both)."""
    return {name for name in imported if name in MODULES}


# Which campus packages each package may import: the last column of docs/architecture.md.
SHARED = {
    "campus",
    "campus.errors",
    "campus.labels",
    "campus.plain_yaml",
    "campus.atomic",
    "campus.file_lock",
}
MAY_IMPORT = {
    "campus.fleet": set(),
    "campus.services": {"campus.fleet", "campus.kube"},
    "campus.render": {"campus.fleet", "campus.kube", "campus.state", "campus.toolchain"},
    "campus.toolchain": {"campus.fleet"},
    "campus.harden": {"campus.fleet", "campus.render", "campus.kube", "campus.services"}
    | {"campus.backup"},
    "campus.lint": {"campus.harden", "campus.render", "campus.kube", "campus.services"},
    "campus.pipeline": {"campus.fleet", "campus.render", "campus.harden", "campus.deploy"}
    | {"campus.kube", "campus.state", "campus.sandbox", "campus.monitoring"},
    "campus.monitoring": {"campus.fleet", "campus.kube", "campus.backup", "campus.services"},
    "campus.kube": {"campus.fleet", "campus.sandbox"},
    "campus.deploy": {"campus.kube", "campus.fleet", "campus.state", "campus.services"}
    | {"campus.backup"},
    "campus.state": {"campus.kube"},
    "campus.access": {"campus.fleet", "campus.kube"},
    "campus.status": {"campus.kube", "campus.deploy", "campus.fleet", "campus.services"}
    | {"campus.backup"},
    "campus.scale": {"campus.pipeline", "campus.harden", "campus.fleet", "campus.deploy"}
    | {"campus.kube", "campus.render"},
    "campus.promote": {"campus.scale", "campus.fleet", "campus.deploy", "campus.kube"},
    "campus.plan": {"campus.deploy", "campus.kube", "campus.sandbox", "campus.services"},
    "campus.drill": {"campus.kube", "campus.fleet", "campus.harden", "campus.deploy"}
    | {"campus.sandbox", "campus.services"},
    "campus.sandbox": {"campus.kube", "campus.fleet"},
    "campus.check": {"campus.kube"},
    "campus.backup": {"campus.fleet", "campus.kube"},
    "campus.restore": {"campus.backup", "campus.deploy", "campus.kube", "campus.services"},
}


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_layers_it_may(package: str) -> None:
    allowed = MAY_IMPORT[package] | SHARED | {package}
    found = sorted(
        f"{name} imports {target}"
        for name, (_, imported) in MODULES.items()
        if package_of(name) == package
        for target in campus_modules(imported)
        if package_of(target) not in allowed
    )
    assert found == []


def test_only_the_cli_imports_the_cli_and_the_output() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, (_, imported) in MODULES.items()
        if not within(name, "campus.cli")
        for target in campus_modules(imported)
        if within(target, "campus.cli")
        or (within(target, "campus.output") and not within(name, "campus.output"))
    ]
    assert offenders == []


def test_only_kube_touches_the_client_machinery() -> None:
    """Elsewhere a client is received and called, and its failures are `campus.kube.errors`."""
    offenders = [
        f"{name} imports {target}"
        for name, (_, imported) in MODULES.items()
        # `campus check` sends its requests to the site, never to the API server.
        if not within(name, "campus.kube") and name != "campus.check.request"
        for target in imported
        if within(target, "httpx2", "lightkube.core", "lightkube.config")
        or target == "lightkube.KubeConfig"
    ]
    assert offenders == []
    source = [
        path
        for path in (SOURCE / "campus").rglob("*.py")
        if "status.code" in path.read_text() and path.parent.name != "kube"
    ]
    assert source == []


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_only_pure_modules(name: str) -> None:
    package = [m for m in MODULES if within(m, name)]
    assert package, f"{name} is not a module of campus"
    for module in package:
        _, imported = MODULES[module]
        impure = sorted(
            target
            for target in campus_modules(imported)
            if not any(within(target, pure) for pure in PURE) and target != "campus"
        )
        libraries = sorted(
            target
            for target in imported
            if within(target, *IO_LIBRARIES)
            or (within(target, "lightkube") and not within(target, *PURE_LIGHTKUBE))
        )
        assert (impure, libraries) == ([], []), module


def test_a_module_that_says_it_is_pure_is_in_the_pure_core() -> None:
    claims = [
        name
        for name, (docstring, _) in MODULES.items()
        if "Pure." in docstring and not any(within(name, pure) for pure in PURE)
    ]
    assert claims == []


def test_test_modules_have_unique_names() -> None:
    """pytest imports unit, API and sandbox tests into one namespace: two test files of
    the same name in different folders stop the whole run at collection."""
    names = [path.name for path in (SOURCE.parent / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
