"""YAML as campus writes it for people: block style, long strings on one line, and no
anchors or aliases (`&id001`/`*id001`) where two fields happen to share one object."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, TextIO

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter


class _PlainRepresenter(RoundTripRepresenter):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml() -> YAML:
    yaml = YAML()
    yaml.Representer = _PlainRepresenter
    yaml.default_flow_style = False
    yaml.width = 4096  # keep long strings (scripts, keys) on their own lines
    return yaml


def dump(value: Any, stream: TextIO) -> None:
    _yaml().dump(value, stream)


def dump_all(values: Iterable[Any], stream: TextIO) -> None:
    _yaml().dump_all(values, stream)


def to_text(value: Any) -> str:
    stream = io.StringIO()
    dump(value, stream)
    return stream.getvalue()
