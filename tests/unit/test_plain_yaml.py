"""YAML written for people has no anchors or aliases, even where objects are shared."""

from __future__ import annotations

import io

from ruamel.yaml import YAML

from campus import plain_yaml
from campus.output.manifests import write_stream
from campus.render.model import RenderedEnvironment


def test_shared_objects_are_written_out_in_full() -> None:
    shared = {"app": "lms"}
    text = plain_yaml.to_text({"selector": shared, "labels": shared, "list": [shared, shared]})
    assert "&" not in text and "*" not in text
    assert text.count("app: lms") == 4
    assert YAML(typ="safe").load(text)["labels"] == shared


def test_no_rendered_manifest_holds_an_alias(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    from campus.harden import harden_all

    for rendered in rendered_example.values():
        objects, jobs = harden_all(rendered)
        stream = io.StringIO()
        write_stream(objects + jobs, stream)
        lines = stream.getvalue().splitlines()
        assert not [line for line in lines if ": &id" in line or ": *id" in line]
        assert not [line for line in lines if line.lstrip("- ").startswith(("&id", "*id"))]
