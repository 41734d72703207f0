"""The status view's pod table, written line by line, prints what rich's Table prints:
the same characters with the same styles, and rich's own folding when rows do not fit."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, RenderableType
from rich.style import Style

from campus.output.columns import Columns


def rows() -> Columns:
    table = Columns(["ENVIRONMENT", "POD", "READY", "STATUS", "NODE"])
    table.add_row(["acme-dev", "lms-7d9f-abcde", "1/1", "Running", "node-1"])
    table.add_row(["acme-dev", "mysql-0", "0/1", "Pending", "<none>"], style="yellow")
    table.add_row(["acme-prod", "redis-5c8b-ünï", "1/1", "Running", "node-12"])
    table.add_row(
        ["acme-prod", "字幕-worker", "0/1", "CrashLoopBackOff", "node-3"], style="bold red"
    )
    return table


def printed(renderable: RenderableType, width: int) -> list[tuple[str, Style]]:
    """What a colour terminal `width` columns wide receives: each character and its style."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="standard")
    return [
        (character, segment.style or Style.null())
        for segment in console.render(renderable)
        for character in segment.text
    ]


def text(renderable: RenderableType, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


@pytest.mark.parametrize("width", [160, 60, 50])
def test_rows_print_as_richs_table_prints_them(width: int) -> None:
    table = rows()
    assert printed(table, width) == printed(table.table(), width)
    assert text(table, width) == text(table.table(), width)


def test_rows_that_fit_are_padded_columns_two_spaces_apart() -> None:
    lines = text(rows(), 160).splitlines()
    assert lines[0] == "ENVIRONMENT  POD             READY  STATUS            NODE   "
    assert lines[2] == "acme-dev     mysql-0         0/1    Pending           <none> "
    assert lines[4] == "acme-prod    字幕-worker     0/1    CrashLoopBackOff  node-3 "


def test_rows_wider_than_the_console_are_folded_by_rich() -> None:
    table = rows()
    narrow = text(table, 40)
    assert max(len(line) for line in narrow.splitlines()) <= 40
    assert narrow == text(table.table(), 40)
