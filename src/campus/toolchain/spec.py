"""What a toolchain holds and how it is named. Pure.

A toolchain is the exact pins an environment's `release:` resolves to (`tutor==X.Y.Z` and
`tutor-NAME==X.Y.Z` per plugin), for one Python: the same pins on the same Python give the
same key, so environments pinning one release share one virtual environment, and any other
pin or Python gives another."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

from campus.fleet.model import Release

TUTOR = "tutor"


def distribution(plugin: str, overrides: dict[str, str] | None = None) -> str:
    """The distribution that provides the Tutor plugin `plugin`: `tutor-NAME` (`mfe`:
    `tutor-mfe`) unless `release.distributions` names another."""
    return (overrides or {}).get(plugin) or f"{TUTOR}-{plugin}"


@dataclass(frozen=True)
class ToolchainSpec:
    """The pins of one toolchain (sorted, `name==version`) and the Python it runs on
    (`implementation-major.minor-machine`, as `python_tag` spells it); `distributions`:
    plugin -> distribution, for plugins not published as `tutor-NAME`."""

    tutor: str
    plugins: tuple[tuple[str, str], ...]
    python: str
    distributions: tuple[tuple[str, str], ...] = ()

    KEY_PREFIX: ClassVar[str] = f"{TUTOR}-"  # every key starts so (`key`)

    @property
    def pins(self) -> tuple[str, ...]:
        named = dict(self.distributions)
        return (
            f"{TUTOR}=={self.tutor}",
            *(f"{distribution(name, named)}=={version}" for name, version in self.plugins),
        )

    @property
    def key(self) -> str:
        """The toolchain's folder name: readable Tutor version, then a digest of every pin
        and the Python."""
        text = json.dumps({"pins": self.pins, "python": self.python}, separators=(",", ":"))
        return f"{TUTOR}-{self.tutor}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def describe(self) -> str:
        """`tutor 21.0.9, mfe 21.0.2`: the release in the fleet file's words."""
        return ", ".join([f"{TUTOR} {self.tutor}", *(f"{n} {v}" for n, v in self.plugins)])


def python_tag(implementation: str, version: tuple[int, int], machine: str) -> str:
    """A virtual environment works for the Python that made it: same implementation and
    minor version (its site-packages folder is named after it), same machine."""
    return f"{implementation}-{version[0]}.{version[1]}-{machine}"


def spec_for(release: Release | None, python: str, installed_tutor: str) -> ToolchainSpec | None:
    """The toolchain an environment's resolved `release` asks for; None when it pins nothing
    (the Tutor installed beside campus). Plugin pins without a Tutor pin go with the Tutor
    installed beside campus (`installed_tutor`), pinned exactly."""
    if release is None or (release.tutor is None and not release.plugins):
        return None
    plugins = tuple(sorted((release.plugins or {}).items()))
    pinned = dict(plugins)
    named = tuple(sorted((k, v) for k, v in (release.distributions or {}).items() if k in pinned))
    return ToolchainSpec(release.tutor or installed_tutor, plugins, python, named)


def unpinned_plugins(
    plugins: tuple[str, ...] | list[str], spec: ToolchainSpec, folder_plugins: frozenset[str]
) -> list[str]:
    """Plugins an environment enables that its toolchain would not hold: neither pinned nor
    a single-file plugin of Tutor's plugin folder (which every toolchain sees)."""
    pinned = {name for name, _ in spec.plugins}
    return [name for name in plugins if name not in pinned and name not in folder_plugins]
