"""Reading a fleet file: YAML with positions, validation, errors that point at the line."""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    ScalarEvent,
)

from campus.fleet.checks import Finding, cross_checks, overrides
from campus.fleet.errors import FleetFileError, FleetWarning, Problem
from campus.fleet.inherit import resolve
from campus.fleet.model import INT32_MAX, Fleet, FleetFile

# Bounds that keep a hostile or mistaken file from taking the machine: a fleet of hundreds
# of environments stays far below each.
MAX_BYTES = 512 * 1024
MAX_DEPTH = 32  # nested mappings and lists
MAX_VALUES = 50_000  # values once aliases are expanded (an alias bomb expands to billions)
# The YAML core schema: anything else (`!!python/object`, `!!binary`, `!Ref`) is refused.
CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
# Characters YAML does not allow in a stream (its c-printable set), or a decoder would.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def _where(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FleetFileError(path, [Problem(0, 0, "", "UTF-16 text: save the file as UTF-8")])
    if b"\x00" in data:
        problem = "a binary file (or UTF-16 without a byte-order mark), not UTF-8 YAML text"
        raise FleetFileError(path, [Problem(0, 0, "", problem)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", "replace")
        line, column = _where(before, len(before))
        problem = f"not UTF-8 text: byte {data[error.start]:#04x}; save the file as UTF-8"
        raise FleetFileError(path, [Problem(line, column, "", problem)]) from None
    unprintable = _UNPRINTABLE.search(text)
    if unprintable:
        character = unprintable.group()  # the file has no NUL: that was found above
        problem = f"control character U+{ord(character):04X} is not allowed in YAML"
        line, column = _where(text, unprintable.start())
        raise FleetFileError(path, [Problem(line, column, "", problem)])
    return text.removeprefix("\ufeff")


def _check_structure(path: Path, text: str) -> None:
    """Walk the YAML events (no objects built) and refuse, at its position, what would
    take unbounded time or memory to build, or what no fleet file needs: nesting deeper
    than MAX_DEPTH, more than MAX_VALUES values once aliases are expanded, an alias inside
    the collection it names (a structure that contains itself), tags outside the core
    schema. Stops at the first such event."""
    # Per open collection: its anchor and how many values it holds so far (expanded).
    open_collections: list[tuple[str | None, int]] = [(None, 0)]
    anchored: dict[str, int] = {}
    # Per open collection: whether it is a mapping, and how many nodes it holds directly
    # (in a mapping, an even count means the next node is a key).
    children: list[tuple[bool, int]] = [(False, 0)]
    collection_anchors: set[str] = set()
    for event in YAML(typ="rt").parse(text):
        mark = event.start_mark
        here = (mark.line + 1, mark.column + 1)
        if isinstance(event, (CollectionStartEvent, ScalarEvent, AliasEvent)):
            is_mapping, count = children[-1]
            is_key = is_mapping and count % 2 == 0
            children[-1] = (is_mapping, count + 1)
            if is_key and (
                isinstance(event, CollectionStartEvent)
                or (isinstance(event, AliasEvent) and event.anchor in collection_anchors)
            ):
                # A list or mapping as a key cannot be built (Python cannot hash it), and
                # no key of a fleet file is anything but a name.
                problem = "a mapping key must be a plain value, not a list or mapping"
                raise FleetFileError(path, [Problem(*here, "", problem)])
        if isinstance(event, CollectionStartEvent):
            children.append((isinstance(event, MappingStartEvent), 0))
            if event.anchor is not None:
                collection_anchors.add(event.anchor)
        elif isinstance(event, CollectionEndEvent):
            children.pop()
        tag = getattr(event, "tag", None)
        if tag is not None and str(tag) not in CORE_TAGS and str(tag) != "!":
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            problem = f"YAML tag {shown} is not allowed: a fleet file holds plain values"
            raise FleetFileError(path, [Problem(*here, "", problem)])
        if isinstance(event, CollectionStartEvent):
            open_collections.append((event.anchor, 1))
            if len(open_collections) - 1 > MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
                raise FleetFileError(path, [Problem(*here, "", problem)])
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, size = open_collections.pop()
            if anchor is not None:
                anchored[anchor] = size
        elif isinstance(event, AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_collections):
                # Built, it would contain itself: no value of a fleet file can be infinite,
                # and whatever walked it (validation, inheritance, Tutor) would never end.
                problem = (
                    f"alias *{event.anchor} refers to the collection it is inside "
                    "(a recursive structure)"
                )
                raise FleetFileError(path, [Problem(*here, "", problem)])
            size = anchored.get(str(event.anchor), 1)
        elif isinstance(event, ScalarEvent):
            size = 1
            if event.anchor is not None:
                anchored[event.anchor] = 1
        else:
            continue
        anchor, held = open_collections[-1]
        open_collections[-1] = (anchor, held + size)
        if held + size > MAX_VALUES:
            problem = (
                f"more than {MAX_VALUES} values once aliases are expanded"
                if isinstance(event, AliasEvent)
                else f"more than {MAX_VALUES} values"
            )
            raise FleetFileError(path, [Problem(*here, "", problem)])


def _yaml_problem(error: YAMLError) -> Problem:
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        return Problem(line, column, "", f"invalid YAML: {message}")
    return Problem(0, 0, "", f"invalid YAML: {error}")


def read_yaml(path: Path) -> Any:
    """The file as ruamel's round-trip structures, which remember every key's position.
    Bounded: a file too large, not UTF-8 text, nested too deep, expanding through aliases
    beyond MAX_VALUES or using tags is refused before anything is built."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise FleetFileError(path, [Problem(0, 0, "", "no such file")]) from None
    except IsADirectoryError:
        raise FleetFileError(path, [Problem(0, 0, "", "a folder, not a fleet file")]) from None
    except OSError as error:
        raise FleetFileError(path, [Problem(0, 0, "", f"cannot read: {error.strerror}")]) from None
    if len(data) > MAX_BYTES:
        problem = f"larger than {MAX_BYTES // 1024} KiB: not a fleet file"
        raise FleetFileError(path, [Problem(0, 0, "", problem)])
    text = _decode(path, data)
    try:
        _check_structure(path, text)
        return YAML(typ="rt").load(text)
    except YAMLError as error:
        raise FleetFileError(path, [_yaml_problem(error)]) from None


def _position(document: Any, location: Sequence[str | int]) -> tuple[int, int]:
    """Line and column (1-based) of the deepest key of `location` found in the document."""
    node, line, column = document, 1, 1
    for part in location:
        if isinstance(node, CommentedMap) and part in node:
            key_line, key_column = node.lc.key(part)
            line, column = key_line + 1, key_column + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            item_line, item_column = node.lc.item(part)
            line, column = item_line + 1, item_column + 1
            node = node[part]
        else:
            break
    return line, column


def _fields_at(location: Sequence[str | int]) -> list[str]:
    """The keys allowed where an unknown key was found, for "did you mean"."""
    current: Any = FleetFile
    for part in location[:-1]:
        current = _step(current, part)
    model = _unwrap(current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    arguments = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(arguments) == 1:
        return arguments[0]
    return annotation


def _step(annotation: Any, part: str | int) -> Any:
    """The type found one key deeper: a model's field, or a mapping's values."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    if get_origin(annotation) is dict:
        return get_args(annotation)[1]
    return None


def _problems(document: Any, error: ValidationError) -> list[Problem]:
    problems = []
    for detail in error.errors():
        location = [part for part in detail["loc"] if not str(part).startswith("function-")]
        key = ".".join(str(part) for part in location)
        line, column = _position(document, location)
        message = detail["msg"].removeprefix("Value error, ")
        given = detail.get("input")
        if (detail.get("ctx") or {}).get("le") == INT32_MAX:
            message = f"must be at most {INT32_MAX} (an int32 in the Kubernetes API)"
        if detail["type"].startswith(("literal", "int", "bool", "greater", "less")) and isinstance(
            given, str | int | float
        ):
            message += f", not {given!r}"
        if detail["type"] == "extra_forbidden":
            message = f"unknown key {location[-1]!r}"
            close = difflib.get_close_matches(str(location[-1]), _fields_at(location), n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        problems.append(Problem(line, column, key, message))
    return problems


def _located(document: Any, findings: list[Finding]) -> list[Problem]:
    return [
        Problem(*_position(document, location), ".".join(map(str, location)), message)
        for location, message in findings
    ]


def locate(path: Path, findings: list[Finding]) -> FleetFileError:
    """Findings made after loading (against what Tutor rendered, say) as one error that
    points at the fleet file's lines."""
    return FleetFileError(path, _located(read_yaml(path), findings))


def load_fleet(path: Path) -> Fleet:
    """Read, validate and resolve a fleet file; every problem found is reported at once.
    What campus overrides on purpose is said as a `FleetWarning`."""
    path = Path(path)
    document = read_yaml(path)
    if document is None:
        raise FleetFileError(path, [Problem(1, 1, "", "the file is empty")])
    if not isinstance(document, dict):
        raise FleetFileError(path, [Problem(1, 1, "", "the top level must be a mapping of keys")])
    try:
        fleet_file = FleetFile.model_validate(document)
    except ValidationError as error:
        raise FleetFileError(path, _problems(document, error)) from None
    problems = _located(document, cross_checks(fleet_file))
    if problems:
        raise FleetFileError(path, problems)
    for problem in _located(document, overrides(fleet_file)):
        warnings.warn(FleetWarning(problem.render(path)), stacklevel=2)
    return resolve(fleet_file, source=str(path))
