"""A borderless table of plain text cells, kubectl-style, written line by line.

rich's `Table` measures, wraps and pads every cell as a renderable of its own: a second for
a fleet's 1,500 pod rows. `Columns` lays out the same table as `Table(box=None,
pad_edge=False)` does when its rows fit the console (each cell padded to its column's
width, two spaces between columns, the header bold, a row's style over the whole row), in
one pass. Rows wider than the console are handed to rich's `Table`, which folds them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.table import Table

_GAP = "  "  # a cell's right padding and the next one's left padding


class Columns:
    def __init__(self, headers: Sequence[str]) -> None:
        self.headers = list(headers)
        self.rows: list[tuple[list[str], str | None]] = []

    def add_row(self, cells: Sequence[str], style: str | None = None) -> None:
        self.rows.append((list(cells), style))

    def _widths(self) -> list[int]:
        widths = [cell_len(h) for h in self.headers]
        for cells, _ in self.rows:
            widths = [max(w, cell_len(c)) for w, c in zip(widths, cells, strict=True)]
        return widths

    def table(self) -> Table:
        """The same table as rich's own."""
        table = Table(box=None, pad_edge=False)
        for header in self.headers:
            table.add_column(header)
        for cells, style in self.rows:
            table.add_row(*cells, style=style)
        return table

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[Table | Segment]:
        widths = self._widths()
        if sum(widths) + len(_GAP) * (len(widths) - 1) > options.max_width:
            yield self.table()
            return
        for cells, style in [(self.headers, "table.header"), *self.rows]:
            padded = (c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=True))
            yield Segment(_GAP.join(padded), console.get_style(style) if style else None)
            yield Segment.line()
