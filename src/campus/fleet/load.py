"""Reading a fleet file: YAML with positions, validation, errors that point at the line."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from campus.fleet.errors import FleetFileError, Problem
from campus.fleet.inherit import resolve
from campus.fleet.model import EnvironmentSpec, Fleet, FleetFile, Settings


def read_yaml(path: Path) -> Any:
    """The file as ruamel's round-trip structures, which remember every key's position."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FleetFileError(path, [Problem(0, 0, "", "no such file")]) from None
    except OSError as error:
        raise FleetFileError(path, [Problem(0, 0, "", f"cannot read: {error}")]) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise FleetFileError(
            path, [Problem(line, column, "", f"invalid YAML: {message}")]
        ) from None


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


def load_fleet(path: Path) -> Fleet:
    """Read, validate and resolve a fleet file; every problem found is reported at once."""
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
    problems = [
        Problem(*_position(document, location), ".".join(map(str, location)), message)
        for location, message in cross_checks(fleet_file)
    ]
    if problems:
        raise FleetFileError(path, problems)
    return resolve(fleet_file, source=str(path))


def cross_checks(fleet_file: FleetFile) -> list[tuple[list[str | int], str]]:
    """What no single key can check: uniqueness across environments, replicas within the
    autoscaling range once defaults are inherited."""
    problems: list[tuple[list[str | int], str]] = []
    namespaces: dict[str, str] = {}
    hosts: dict[str, str] = {}
    for name, spec in fleet_file.environments.items():
        namespace = spec.namespace or name
        if namespace in namespaces:
            where: list[str | int] = ["environments", name]
            if spec.namespace:
                where.append("namespace")
            problems.append(
                (where, f"namespace {namespace!r} is also used by {namespaces[namespace]}")
            )
        namespaces.setdefault(namespace, name)
        for role in ("lms", "cms"):
            host = getattr(spec.hosts, role)
            if host is None:
                continue
            if host in hosts:
                problems.append(
                    (
                        ["environments", name, "hosts", role],
                        f"host {host!r} is also used by {hosts[host]}",
                    )
                )
            hosts.setdefault(host, f"{name} ({role})")
        problems += _replica_checks(name, fleet_file.defaults, spec)
    return problems


def _replica_checks(
    name: str, defaults: Settings, spec: EnvironmentSpec
) -> list[tuple[list[str | int], str]]:
    replicas = {**(defaults.replicas or {}), **(spec.replicas or {})}
    autoscaling = {**(defaults.autoscaling or {}), **(spec.autoscaling or {})}
    problems: list[tuple[list[str | int], str]] = []
    for service, count in replicas.items():
        scaling = autoscaling.get(service)
        if scaling and not scaling.min <= count <= scaling.max:
            problems.append(
                (
                    ["environments", name, "replicas", service],
                    f"{count} replicas is outside the autoscaling range "
                    f"{scaling.min}-{scaling.max}",
                )
            )
    return problems
