"""Changing a few keys of the fleet file in place, every other byte kept.

ruamel.yaml parses the file and says where each key and value starts; an edit replaces,
inserts or removes only the text of that entry, in the style of its neighbours (flow or
block, their indentation). A ruamel round-trip dump is not enough: it re-indents
sequences, re-spaces flow mappings and folds long lines, so a one-key change would rewrite
lines nobody touched. After each edit the text is parsed again and compared with the
intended data: a splice that went wrong is an error, never a damaged fleet file.

Pure but for `staged`, which writes the result atomically.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from campus.errors import CampusError

Value: TypeAlias = "bool | int | str | Mapping[str, Value]"
# Where a key sits among an environment's keys when it is added, as in docs/fleet-file.md.
KEY_ORDER = (
    "namespace",
    "hosts",
    "plugins",
    "size",
    "production",
    "replicas",
    "autoscaling",
    "resources",
    "ingress",
    "tutor",
    "release",
)


class FleetEditError(CampusError):
    """The fleet file cannot be changed as asked (its shape, or a change under our feet)."""


@dataclass(frozen=True)
class LineChange:
    """Lines of the file before and after an edit, each block with its first line number
    (from 1) in the old and in the new text."""

    old_line: int
    new_line: int
    removed: tuple[str, ...]
    added: tuple[str, ...]


def _load(text: str) -> Any:
    return YAML(typ="rt").load(text)


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq | list):
        return [_plain(v) for v in node]
    return node


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _offset(text: str, line: int, column: int) -> int:
    return _line_starts(text)[line] + column


def _mapping(document: Any, path: Sequence[str]) -> CommentedMap:
    node = document
    for index, part in enumerate(path):
        if not isinstance(node, CommentedMap) or part not in node:
            raise FleetEditError(f"{'.'.join(path[: index + 1])} is not in the fleet file")
        node = node[part]
    if not isinstance(node, CommentedMap):
        raise FleetEditError(f"{'.'.join(path)} is not a mapping in the fleet file")
    return node


def _quoted_end(text: str, start: int) -> int:
    quote, index = text[start], start + 1
    while index < len(text):
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2  # '' is a quote inside a single-quoted scalar
                continue
            return index + 1
        index += 1
    raise FleetEditError("unterminated quoted scalar in the fleet file")


def _value_end(text: str, start: int, in_flow: bool) -> int:
    """Where the value starting at `start` ends: a quoted or plain scalar, or a whole flow
    collection (brackets matched, quotes skipped)."""
    if text[start] in "\"'":
        return _quoted_end(text, start)
    if text[start] in "{[":
        depth, index = 0, start
        while index < len(text):
            char = text[index]
            if char in "\"'":
                index = _quoted_end(text, index)
                continue
            depth += char in "{["
            depth -= char in "}]"
            index += 1
            if depth == 0:
                return index
        raise FleetEditError("unterminated flow collection in the fleet file")
    index = start
    stops = "\n,}]" if in_flow else "\n"
    while index < len(text) and text[index] not in stops:
        if text[index] == "#" and text[index - 1] in " \t":
            break
        index += 1
    while index > start and text[index - 1] in " \t":
        index -= 1
    return index


def _entry_end(lines: list[str], key_line: int, column: int) -> int:
    """The last line of a block entry: its key line and every deeper-indented line after it
    (blank lines between them included, comments and blank lines after it not)."""
    last = key_line
    for index in range(key_line + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if len(lines[index]) - len(lines[index].lstrip(" ")) <= column:
            break
        last = index
    return last


def _flow(value: Value) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool | str):  # JSON's true/false and quoted strings are YAML too
        return json.dumps(value)
    return str(value)


def _block_lines(key: str, value: Value, column: int, step: int, flow_from: int) -> list[str]:
    """`key: value` as lines at `column`; mappings nested `flow_from` levels down or deeper
    are written in flow style."""
    if isinstance(value, Mapping) and flow_from > 0:
        lines = [f"{' ' * column}{key}:\n"]
        for inner_key, inner_value in value.items():
            lines += _block_lines(inner_key, inner_value, column + step, step, flow_from - 1)
        return lines
    return [f"{' ' * column}{key}: {_flow(value)}\n"]


def _indent_step(document: Any, path: Sequence[str], mapping: CommentedMap) -> int:
    """How far this file indents a mapping under its key (2 unless it says otherwise)."""
    if len(path) >= 2:
        parent = _mapping(document, path[:-1])
        if not parent.fa.flow_style():
            step = int(mapping.lc.col) - int(parent.lc.key(path[-1])[1])
            if step > 0:
                return step
    return 2


def _insert(
    text: str,
    document: Any,
    path: Sequence[str],
    key: str,
    value: Value,
    flow_from: int,
) -> str:
    mapping = _mapping(document, path)
    if mapping.fa.flow_style():
        start = _offset(text, mapping.lc.line, mapping.lc.col)
        close = _value_end(text, start, in_flow=True) - 1
        last = close - 1
        while text[last] in " \t\n":
            last -= 1
        entry = f"{key}: {_flow(value)}"
        separator = "" if text[last] == "{" else ", "
        return text[: last + 1] + separator + entry + text[last + 1 :]
    lines = text.splitlines(keepends=True)
    column = int(mapping.lc.col)
    anchor = _anchor(mapping, key)
    end = _entry_end(lines, int(mapping.lc.key(anchor)[0]), column)
    if not lines[end].endswith("\n"):
        lines[end] += "\n"
    new = _block_lines(key, value, column, _indent_step(document, path, mapping), flow_from)
    return "".join(lines[: end + 1] + new + lines[end + 1 :])


def _anchor(mapping: CommentedMap, key: str) -> str:
    """The key a new key goes after: the last one that precedes it in `KEY_ORDER`, else the
    mapping's last key (services, or keys `KEY_ORDER` does not know, are appended)."""
    keys = list(mapping)
    if key in KEY_ORDER:
        before = set(KEY_ORDER[: KEY_ORDER.index(key)])
        earlier = [k for k in keys if k in before]
        if earlier:
            return str(max(earlier, key=lambda k: int(mapping.lc.key(k)[0])))
    return str(max(keys, key=lambda k: int(mapping.lc.key(k)[0])))


def _set(text: str, path: Sequence[str], key: str, value: Value, flow_from: int) -> str:
    document = _load(text)
    mapping = _mapping(document, path)
    if key not in mapping or mapping[key] is None:
        if key in mapping:  # `key:` with nothing after it: replace the empty entry
            text = _remove(text, path, key, keep=len(path))
            document = _load(text)
        return _insert(text, document, path, key, value, flow_from)
    current = mapping[key]
    if isinstance(value, Mapping) and isinstance(current, CommentedMap):
        for inner_key, inner_value in value.items():
            text = _set(text, [*path, key], inner_key, inner_value, flow_from - 1)
        return text
    if isinstance(current, CommentedMap | CommentedSeq) and not current.fa.flow_style():
        raise FleetEditError(f"{'.'.join([*path, key])} is a block; expected a single value")
    start = _offset(text, *mapping.lc.value(key))
    end = _value_end(text, start, in_flow=bool(mapping.fa.flow_style()))
    return text[:start] + _flow(value) + text[end:]


def _remove(text: str, path: Sequence[str], key: str, keep: int) -> str:
    """Remove `key` from the mapping at `path`; a mapping left empty goes too, but never
    above `keep` keys of depth (an environment stays, even if empty)."""
    document = _load(text)
    mapping = _mapping(document, path)
    if len(mapping) == 1 and len(path) > keep:
        return _remove(text, path[:-1], path[-1], keep)
    if mapping.fa.flow_style():
        start = _offset(text, *mapping.lc.key(key))
        end = _value_end(text, _offset(text, *mapping.lc.value(key)), in_flow=True)
        after = end
        while text[after] in " \t\n":
            after += 1
        if text[after] == ",":
            after += 1
            while text[after] in " \t\n":
                after += 1
            return text[:start] + text[after:]
        before = start
        while text[before - 1] in " \t\n":
            before -= 1
        if text[before - 1] == ",":
            start = before - 1
        return text[:start] + text[end:]
    lines = text.splitlines(keepends=True)
    key_line = int(mapping.lc.key(key)[0])
    end = _entry_end(lines, key_line, int(mapping.lc.col))
    return "".join(lines[:key_line] + lines[end + 1 :])


def _checked(before: str, after: str, intended: Callable[[dict[str, Any]], None]) -> str:
    """`after`, once proven to hold exactly the data of `before` with `intended` applied."""
    expected = _plain(_load(before))
    intended(expected)
    if _plain(_load(after)) != expected:
        raise FleetEditError(
            "campus could not edit the fleet file without changing other keys; "
            "nothing was written (edit it by hand)"
        )
    return after


def _environment(document: dict[str, Any], environment: str) -> dict[str, Any]:
    found: dict[str, Any] = document["environments"][environment]
    return found


def _style_of(document: Any, environment: str, key: str) -> bool:
    """Whether a new `key:` mapping should be written in flow style: as the same key is
    written in the defaults or another environment, else as its environment's other
    mappings (hosts aside, which is short and usually flow), else block."""
    environments = document.get("environments") or {}
    for settings in [document.get("defaults"), *environments.values()]:
        if isinstance(settings, CommentedMap) and isinstance(settings.get(key), CommentedMap):
            return bool(settings[key].fa.flow_style())
    own = environments[environment]
    others = [v for k, v in own.items() if isinstance(v, CommentedMap) and k not in ("hosts", key)]
    return bool(others) and all(v.fa.flow_style() for v in others)


def _entries_flow(document: Any, environment: str) -> bool:
    """Autoscaling entries are written `lms: {min: 2, max: 4}` unless the file writes them
    as blocks."""
    environments = document.get("environments") or {}
    for settings in [
        environments.get(environment),
        document.get("defaults"),
        *environments.values(),
    ]:
        scaling = settings.get("autoscaling") if isinstance(settings, CommentedMap) else None
        if isinstance(scaling, CommentedMap):
            for entry in scaling.values():
                if isinstance(entry, CommentedMap):
                    return bool(entry.fa.flow_style())
    return True


def _set_in_environment(
    text: str, environment: str, section: str, service: str, value: Value
) -> str:
    """`environments.<environment>.<section>.<service>: value`, the section created (in the
    style the file uses for it) when the environment has none of its own."""
    document = _load(text)
    path = ["environments", environment]
    entry_flow = _entries_flow(document, environment)
    if isinstance(_mapping(document, path).get(section), CommentedMap):
        return _set(text, [*path, section], service, value, 0 if entry_flow else 99)
    text = _remove_empty(text, environment, section)
    document = _load(text)
    flow_from = 0 if _style_of(document, environment, section) else (1 if entry_flow else 99)
    return _insert(text, document, path, section, {service: value}, flow_from)


def _remove_empty(text: str, environment: str, section: str) -> str:
    own = _mapping(_load(text), ["environments", environment])
    if section in own:
        return _remove(text, ["environments", environment], section, keep=2)
    return text


def set_replicas(text: str, environment: str, service: str, count: int) -> str:
    """`environments.<environment>.replicas.<service>: count`."""

    def intended(data: dict[str, Any]) -> None:
        own = _environment(data, environment)
        own["replicas"] = {**(own.get("replicas") or {}), service: count}

    after = _set_in_environment(text, environment, "replicas", service, count)
    return _checked(text, after, intended)


def set_autoscaling(
    text: str, environment: str, service: str, minimum: int, maximum: int, cpu: int | None
) -> str:
    """`environments.<environment>.autoscaling.<service>: {min, max[, cpu]}`; a `cpu`
    already written stays unless another is given."""
    value = {"min": minimum, "max": maximum, **({"cpu": cpu} if cpu is not None else {})}

    def intended(data: dict[str, Any]) -> None:
        own = _environment(data, environment)
        scaling = dict(own.get("autoscaling") or {})
        scaling[service] = {**(scaling.get(service) or {}), **value}
        own["autoscaling"] = scaling

    after = _set_in_environment(text, environment, "autoscaling", service, value)
    return _checked(text, after, intended)


def _remove_service(text: str, environment: str, section: str, service: str) -> str:
    def intended(data: dict[str, Any]) -> None:
        own = _environment(data, environment)
        del own[section][service]
        if not own[section]:
            del own[section]

    after = _remove(text, ["environments", environment, section], service, keep=2)
    return _checked(text, after, intended)


def remove_replicas(text: str, environment: str, service: str) -> str:
    return _remove_service(text, environment, "replicas", service)


def remove_autoscaling(text: str, environment: str, service: str) -> str:
    return _remove_service(text, environment, "autoscaling", service)


def set_release(
    text: str, environment: str, tutor: str | None, plugins: Mapping[str, str] | None = None
) -> str:
    """`environments.<environment>.release.tutor: "VERSION"` and its plugin pins (added to
    the ones the environment writes)."""
    after = text
    if tutor is not None:
        after = _set_in_environment(after, environment, "release", "tutor", tutor)
    if plugins:
        after = _set_in_environment(after, environment, "release", "plugins", dict(plugins))

    def intended(data: dict[str, Any]) -> None:
        own = _environment(data, environment)
        release = dict(own.get("release") or {})
        if tutor is not None:
            release["tutor"] = tutor
        if plugins:
            release["plugins"] = {**(release.get("plugins") or {}), **plugins}
        own["release"] = release

    return _checked(text, after, intended)


def set_setting(text: str, environment: str, key: str, value: bool | int | str) -> str:
    """`environments.<environment>.tutor.<key>: value`."""

    def intended(data: dict[str, Any]) -> None:
        own = _environment(data, environment)
        own["tutor"] = {**(own.get("tutor") or {}), key: value}

    after = _set_in_environment(text, environment, "tutor", key, value)
    return _checked(text, after, intended)


def written_value(text: str, path: Sequence[str]) -> Any:
    """The value at `path` as written in the file (not inherited), or None."""
    node = _load(text)
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return _plain(node)


def line_changes(before: str, after: str) -> list[LineChange]:
    """What an edit changed, line by line, for the operator to see."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        LineChange(i1 + 1, j1 + 1, tuple(old[i1:i2]), tuple(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


class StagedFile:
    """The edited text in a temporary file beside the fleet file (so that the loader and
    the renderer see it exactly as it will be, secrets folder included), moved over the
    fleet file only by `commit`."""

    def __init__(self, path: Path, original: str, text: str) -> None:
        self.target = path.resolve()
        self.original = original
        descriptor, name = tempfile.mkstemp(
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".campus-edit"
        )
        self.path = Path(name)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        self.path.chmod(stat.S_IMODE(self.target.stat().st_mode))

    def commit(self) -> None:
        """Replace the fleet file atomically, unless someone changed it meanwhile."""
        if self.target.read_text() != self.original:
            raise FleetEditError(
                f"{self.target} changed while campus was editing it; nothing written, run again"
            )
        self.path.replace(self.target)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def staged(path: Path, original: str, text: str) -> Iterator[StagedFile]:
    """A `StagedFile` removed on the way out unless committed."""
    staged_file = StagedFile(path, original, text)
    try:
        yield staged_file
    finally:
        staged_file.discard()
