"""Tutor's YAML read through libyaml gives what ruamel's safe loader gives, value for value
and type for type, and whatever it cannot read that way is read by ruamel."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError

from campus.fleet.model import Fleet
from campus.render import documents
from campus.render.state import environment_root
from campus.render.tutor import _run_worker, _worker_request

PLUGINS = ["mfe", "forum", "minio", "notes", "xqueue", "credentials", "discovery", "jupyter"]


def ruamel_all(text: str) -> list[Any]:
    return list(YAML(typ="safe").load_all(text))


def typed(value: Any) -> Any:
    """`value` with each scalar's type beside it, so that 1 and True or 1.0 differ."""
    if isinstance(value, dict):
        return [(typed(k), typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def fast_all(text: str) -> list[Any]:
    """libyaml's reading, never ruamel's (which `load_all` falls back to)."""
    return documents._fast(text)


def test_tutors_kubernetes_files_read_alike(example_fleet: Fleet, tmp_path: Path) -> None:
    acme = example_fleet.environment("acme-prod")
    environment = acme.model_copy(update={"plugins": tuple(PLUGINS)})
    root = environment_root(tmp_path, environment.name)
    result = _run_worker(environment, _worker_request(root, environment, {}))
    files = {name: text for name, text in result["files"].items() if name.startswith("k8s/")}
    assert len(files) >= 5
    for name, text in [("kustomization.yml", result["files"]["kustomization.yml"]), *files.items()]:
        expected = ruamel_all(text)
        assert typed(fast_all(text)) == typed(expected), name


SCALARS = [
    *("yes", "no", "on", "off", "y", "n", "true", "True", "TRUE", "false", "FALSE", "tRue"),
    *("~", "null", "Null", "NULL", "", "nUll", "'1'", '"true"', "!!str 12", "!!int '7'"),
    *("0", "-0", "+12", "012", "0o17", "0x1F", "0b101", "1_000", "08", "0o", "1:20", "-0x1a"),
    *("1.5", "1.", ".5", "-.5", "1e3", "1.0e+3", "1E-2", ".inf", "-.Inf", ".NaN", "1_0.5"),
    *("1.2.3", "0.1.0", "2026-12-06x", "v1", "10m", "512Mi", "'*.example.org'", "a: b"),
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_resolve_as_yaml_1_2(scalar: str) -> None:
    text = f"key: {scalar}\nlist: [{scalar}]\n" if ": " not in scalar else f"key: '{scalar}'\n"
    assert typed(documents.load_all(text)) == typed(ruamel_all(text))
    assert typed(fast_all(text)) == typed(ruamel_all(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789_-+.:eExobaOBXnNtrufl~ ", min_size=1, max_size=8))
def test_any_plain_scalar_reads_as_ruamel_reads_it(scalar: str) -> None:
    text = f"key: {scalar}\n"
    try:
        expected = ruamel_all(text)
    except Exception:
        return  # not YAML that ruamel reads: nothing to compare
    assert typed(documents.load_all(text)) == typed(expected)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1}\nother: *b\n",  # an alias
        "base: &b {x: 1}\nmerged: {<<: *b, y: 2}\n",  # a merge key
        "when: 2026-12-06\n",  # a timestamp
        "%YAML 1.1\n---\nflag: yes\n",  # YAML 1.1 by its directive
        "s: !!set {a, b}\n",
    ],
)
def test_what_libyaml_is_not_used_for_reads_as_ruamel_reads_it(text: str) -> None:
    with pytest.raises(documents._Unusual):
        fast_all(text)
    assert json.dumps(documents.load_all(text), default=str) == json.dumps(
        ruamel_all(text), default=str
    )


def test_ruamels_errors_stay_the_errors() -> None:
    with pytest.raises(DuplicateKeyError):
        documents.load("a: 1\na: 2\n")
    with pytest.raises(Exception, match="expected a single document"):
        documents.load("a: 1\n---\nb: 2\n")
    assert documents.load("") is None
    assert documents.load_all("---\n---\na: 1\n") == [None, {"a": 1}]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab {}%#\r\n\t-", max_size=12))
def test_text_without_jinja_syntax_renders_as_tutor_renders_it(text: str) -> None:
    """The render worker answers Tutor's `render_str` itself for text without Jinja
    syntax (most settings' values): exactly what Jinja makes of it."""
    from tutor import env

    from campus.render.worker import _JINJA_SYNTAX, as_jinja_renders

    if any(mark in text for mark in _JINJA_SYNTAX):
        return
    assert as_jinja_renders(text) == env.render_str({}, text)
