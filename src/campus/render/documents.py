"""Reading the YAML Tutor renders into plain objects, as ruamel's safe loader reads it
(YAML 1.2: `yes`, `on` and `010` stay what 1.2 makes of them), through libyaml.

ruamel's parser is pure Python here and took most of the parent's time in a cold render of
a fleet: a few tenths of a second per environment, one environment after another. libyaml
(PyYAML's C parser) builds the same node tree about ten times faster; campus resolves its
plain scalars with ruamel's own YAML 1.2 rules and builds the objects itself. Whatever it
does not build exactly as ruamel would (aliases and merge keys, timestamps, other tags,
duplicate keys, a `%YAML` directive, text libyaml refuses) is read by ruamel instead, so
the result, and the error, are always ruamel's.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.resolver import Resolver as _RuamelResolver

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Unusual(Exception):
    """A document this reader leaves to ruamel."""


class _Resolver(yaml.resolver.BaseResolver):
    """PyYAML's resolving, with ruamel's YAML 1.2 implicit rules (its plain `Resolver`
    holds exactly the 1.2 ones) instead of PyYAML's 1.1 rules."""

    yaml_implicit_resolvers = _RuamelResolver.yaml_implicit_resolvers


def _libyaml_parser() -> Any:
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml: ruamel reads everything
        return None
    return CParser


_PARSER: Any = _libyaml_parser()


class _NoParser:
    """Stands in for libyaml's parser where it is missing (never instantiated)."""


class _Loader(_PARSER or _NoParser, _Resolver):  # type: ignore[misc]
    """libyaml's scanner, parser and composer, resolving as `_Resolver`; objects are
    built by `_build`."""

    def __init__(self, text: str) -> None:
        _PARSER.__init__(self, text)
        _Resolver.__init__(self)


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[0] == "-" else 1.0
    digits = digits.lstrip("+-")
    if digits == ".inf":
        return sign * math.inf
    if digits == ".nan":
        return math.nan
    return sign * float(digits)


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() == "true"
    if tag == _INT:
        return _int(text)
    if tag == _FLOAT:
        return _float(text)
    raise _Unusual(tag)


def _build(node: yaml.Node, seen: set[int]) -> Any:
    if id(node) in seen:
        raise _Unusual("alias")  # ruamel shares the object; left to it
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_build(item, seen) for item in node.value]
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        result = {}
        for key_node, value_node in node.value:
            key = _build(key_node, seen)
            try:
                if key in result:
                    raise _Unusual("duplicate key")  # ruamel refuses it, with its message
            except TypeError:
                raise _Unusual("unhashable key") from None
            result[key] = _build(value_node, seen)
        return result
    raise _Unusual(node.tag)


def _fast(text: str) -> list[Any]:
    if _PARSER is None or "%YAML" in text:
        raise _Unusual("no libyaml, or a version directive")
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            documents.append(None if node is None else _build(node, set()))
        return documents
    except yaml.YAMLError:
        raise _Unusual("libyaml refused it") from None
    finally:
        loader.dispose()


def load_all(text: str) -> list[Any]:
    """Every document of `text`, as `YAML(typ="safe").load_all` reads them."""
    try:
        return _fast(text)
    except _Unusual:
        return list(YAML(typ="safe").load_all(text))


def load(text: str) -> Any:
    """The single document of `text` (None when empty), as `YAML(typ="safe").load` reads it."""
    try:
        documents = _fast(text)
    except _Unusual:
        return YAML(typ="safe").load(text)
    if len(documents) > 1:
        return YAML(typ="safe").load(text)  # ruamel's error for a second document
    return documents[0] if documents else None
