"""A picture of a drill as operators read availability: a heatmap with one row per
service (production environments first, then by name) and time across in seconds since
the drill started; each cell's colour is the service's ready replicas as a share of its
desired count (red: none ready, amber to pale yellow: some, pale blue: all). The drill's
moments (failed, NotReady, a node drained, whole again...) are vertical lines across the
whole heatmap, each labelled once above it with its time; labels that would collide are
stacked on levels so that no two overlap and no line runs through another's label.

Every service is drawn, also those that kept every replica: at one small row each, a
hundred services stay readable, and a calm row says the service was watched and held,
which a count in a footnote did not show. Only past `MOST_ROWS` rows, where the picture
would be too tall to take in, are services left out, those that never dipped first, and
counted in one line.

The layout is computed in inches here (row heights, margins from the labels' drawn
widths, label levels) rather than left to matplotlib, so that it is pure and testable
and so that the figure grows with the number of rows. Drawn with matplotlib's object API
(no pyplot, no display). `.png` writes the image; `.html` writes one page with the
picture inline as SVG whose text is drawn as paths, so the file opens in any browser with
nothing else installed and nothing fetched.
"""

from __future__ import annotations

import html
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.collections import PolyCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from campus.drill.availability import Moment, ServiceKey, Timeline
from campus.errors import CampusError

FORMATS = (".html", ".png")
# Beyond this many rows the picture is too tall to take in (about 25 in at the smallest
# row height): services that never dipped are left out first.
MOST_ROWS = 150

NONE_READY = "#d7191c"  # alarming: the service could not answer
SOME_READY = ("#f5832a", "#fbe6a2")  # from a few of the desired replicas to nearly all
ALL_READY = "#c6dbef"  # calm, and still distinct from the white page
NONE_DESIRED = "#d9d9d9"  # scaled to zero: nothing to be ready
LINE = "#1a1a1a"
# Shares strictly between 0 and 1 take the gradient; exactly none and all take the
# colormap's under and over colours, so "none ready" is never a shade of "some ready".
EDGE = 1e-6
# Fewer colours than matplotlib's colorbar rasterizes at (50): the SVG stays all vectors.
SHADES = 32

WIDTH = 12.0  # inches; every other size below is in inches too, or points for fonts
ROW_SMALLEST, ROW_LARGEST = 0.16, 0.36
ROW_FILL = 0.86  # of each row's height coloured: the rest is a white rule between rows
NAME_SIZE = 8.0  # points: a row's environment/service
FLAG_SIZE = 8.5  # points: a moment's label
TICK_SIZE = 8.0
TITLE_HEIGHT = 0.5
LEGEND_HEIGHT = 0.8
LEGEND_BAR = 3.0  # the colour scale's length
LEGEND_NOTES = 6.6  # where the notes on lines and names start
LEVEL_HEIGHT = 0.21  # one level of moment labels
FLAG_PAD = 0.04  # between a moment's line and its label
FLAG_GAP = 0.12  # between two labels on one level
AXIS_HEIGHT = 0.6  # tick labels and the axis label under the heatmap
NOTE_HEIGHT = 0.25
NOTE_SIZE = 7.5  # points: a row's note, right of the heatmap, of when it had none ready
ROWS_HEIGHT = 5.0  # a few services' rows share about this much, up to ROW_LARGEST each


@dataclass(frozen=True)
class Run:
    """A stretch of one row in one colour: `share` is ready/desired (at most 1) from
    `start` to `end`, None where the service desires no replica."""

    start: float
    end: float
    share: float | None


@dataclass(frozen=True)
class Row:
    """One service's row: its ready replicas at each sample, and the runs to colour."""

    key: ServiceKey
    production: bool
    must_stay_up: bool
    desired: int
    times: list[float]
    ready: list[int]
    runs: list[Run]

    @property
    def label(self) -> str:
        return f"{self.key[0]}/{self.key[1]}"

    @property
    def gaps(self) -> list[tuple[float, float]]:
        """The spans (from, to) with no ready replica."""
        return [(run.start, run.end) for run in self.runs if run.share == 0]

    @property
    def dipped(self) -> bool:
        return min(self.ready, default=self.desired) < self.desired


def sample_edges(times: Sequence[float]) -> list[float]:
    """Where each sample's state starts and ends: a sample holds until the next one (the
    sampler's resolution), the last for a typical interval (the median; 1 s alone)."""
    if not times:
        return []
    steps = [b - a for a, b in pairwise(times)]
    last = statistics.median(steps) if steps else 1.0
    return [*times, times[-1] + (last if last > 0 else 1.0)]


def runs_of(edges: Sequence[float], ready: Sequence[int], desired: int) -> list[Run]:
    """Consecutive samples of the same share merged into one run: a steady service is one
    rectangle, not one per second."""
    runs: list[Run] = []
    for index, count in enumerate(ready):
        share = None if desired <= 0 else min(count / desired, 1.0)
        start, end = edges[index], edges[index + 1]
        if runs and runs[-1].share == share and runs[-1].end == start:
            runs[-1] = Run(runs[-1].start, end, share)
        else:
            runs.append(Run(start, end, share))
    return runs


def rows_of(timeline: Timeline) -> tuple[list[Row], list[ServiceKey]]:
    """The rows to draw, production environments' services first, then the others, each
    by name; and the services left out (only past MOST_ROWS: those that never dipped
    first, production stateless services kept to show they held)."""
    times = [s.at for s in timeline.samples]
    edges = sample_edges(times)
    rows = []
    for key, desired in timeline.desired.items():
        ready = [s.serving.get(key, 0) for s in timeline.samples]
        rows.append(
            Row(
                key,
                timeline.production.get(key[0], False),
                timeline.must_stay_up(key),
                desired,
                times,
                ready,
                runs_of(edges, ready, desired),
            )
        )
    rows.sort(key=lambda r: (not r.production, r.key))
    if len(rows) <= MOST_ROWS:
        return rows, []
    # A stable sort: within each half the rows keep their order.
    telling_first = sorted(rows, key=lambda r: not (r.dipped or r.must_stay_up))
    kept = {r.key for r in telling_first[:MOST_ROWS]}
    return [r for r in rows if r.key in kept], sorted(r.key for r in rows if r.key not in kept)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in inches `text` is drawn at, from the font the SVG's glyph paths come
    from (its advance widths: measuring the paths themselves is 40 times slower)."""
    font = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = text_to_path.get_text_width_height_descent(text, font, ismath=False)
    return float(width) / 72


def stagger(spans: Sequence[tuple[float, float, float]], gap: float = FLAG_GAP) -> list[int]:
    """Levels for labels above a chart, each given as (line, start, end): its line's x
    and the x extent of its text. A label's line rises from the chart to its own level,
    so besides keeping apart the texts on one level, no line may cross a text on a lower
    level. Labels reading rightwards of their line go in from the last (a later label
    stands lower, under the earlier one's text), those reading leftwards from the first.
    Where a label of each kind face each other across their lines (`facing` turns such
    labels one way) no level avoids every crossing: a label then takes the lowest level
    free of other texts, so texts never overlap (and lines pass behind them)."""

    def free(level: int, line: float, start: float, end: float, margin: float | None) -> bool:
        # margin: how far a line keeps from a lower text (None: lines may cross texts)
        for other_level, other_line, other_start, other_end in placed:
            if other_level == level and start < other_end + gap and other_start < end + gap:
                return False
            if margin is None:
                continue
            if other_level < level and other_start - margin < line < other_end + margin:
                return False
            if other_level > level and start - margin < other_line < end + margin:
                return False
        return True

    rightwards = [i for i, (line, start, _) in enumerate(spans) if start >= line]
    leftwards = [i for i, (line, start, _) in enumerate(spans) if start < line]
    order = sorted(rightwards, key=lambda i: -spans[i][0]) + sorted(
        leftwards, key=lambda i: spans[i][0]
    )
    placed: list[tuple[int, float, float, float]] = []
    levels = [0] * len(spans)
    for index in order:
        line, start, end = spans[index]
        # Lines clear of texts by the gap if that can be had; else merely not crossing
        # them (labels at nearly one moment); else, facing labels, texts apart only.
        # Above every placed label only a crossing of a lower text can still fail, and it
        # fails on every higher level too: no need to look further.
        level = next(
            k
            for margin in (gap, 0.0, None)
            for k in range(len(placed) + 1)
            if free(k, line, start, end, margin)
        )
        placed.append((level, line, start, end))
        levels[index] = level
    return levels


@dataclass(frozen=True)
class Flag:
    """A moment's label above the heatmap, on its level (0 lowest): its line's x and its
    text's extent, in inches, the text reading rightwards from the line or leftwards."""

    at: float
    text: str
    level: int
    line: float
    start: float
    end: float

    @property
    def leftwards(self) -> bool:
        return self.start < self.line


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in inches from the figure's bottom left corner."""

    width: float
    height: float
    left: float  # the heatmap
    bottom: float
    plot_width: float
    plot_height: float
    row_height: float
    start: float  # seconds at the heatmap's left and right edges
    end: float
    flags: list[Flag]

    @property
    def top(self) -> float:
        return self.bottom + self.plot_height

    def box(
        self, left: float, bottom: float, width: float, height: float
    ) -> tuple[float, float, float, float]:
        """A rectangle in inches as the figure's fractions, as `add_axes` takes it."""
        return (left / self.width, bottom / self.height, width / self.width, height / self.height)

    def x(self, seconds: float) -> float:
        return self.left + (seconds - self.start) / (self.end - self.start) * self.plot_width

    def level_y(self, level: int) -> float:
        """Where the text of a label on `level` stands (its baseline)."""
        return self.top + 0.08 + level * LEVEL_HEIGHT


def seconds(value: float) -> str:
    return f"{round(value, 1):g}"


def gap_note(gaps: Sequence[tuple[float, float]]) -> str:
    """What the right margin says of a row with none ready: when, so that an operator far
    from the time axis need not measure; or, for several gaps, how many and how long."""
    if len(gaps) == 1:
        return f"none ready {seconds(gaps[0][0])}\N{EN DASH}{seconds(gaps[0][1])} s"
    total = sum(end - start for start, end in gaps)
    return f"none ready {seconds(total)} s, {len(gaps)} times"


def flag_text(moment: Moment) -> str:
    return f"{moment.label} · {seconds(moment.at)} s"


def facing(
    lines: Sequence[float], widths: Sequence[float], limit: float = WIDTH - 0.05
) -> list[tuple[float, float, float]]:
    """Which way each label reads from its line, as `stagger` takes them: rightwards,
    unless its text would run past `limit`, or reach the line of a later label that
    reads leftwards (two labels facing each other across their lines could not both be
    kept from crossing the other's line). Labels that fit neither way read rightwards."""
    spans: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(lines)
    backwards: list[float] = []  # lines of the labels reading leftwards
    for index in sorted(range(len(lines)), key=lambda i: -lines[i]):
        line, wide = lines[index], widths[index]
        start, end = line + FLAG_PAD, line + FLAG_PAD + wide
        blocked = end > limit or any(
            start - FLAG_GAP < other < end + FLAG_GAP for other in backwards
        )
        if blocked and line - FLAG_PAD - wide >= 0.05:
            spans[index] = (line, line - FLAG_PAD - wide, line - FLAG_PAD)
            backwards.append(line)
        else:
            spans[index] = (line, start, end)
    return spans


def layout(
    rows: Sequence[Row], moments: Sequence[Moment], start: float, end: float, noted: bool
) -> Layout:
    """Rows get a height between ROW_SMALLEST and ROW_LARGEST, smaller as they grow in
    number, and the figure as tall as they need; the left margin is the widest service
    name; each moment's label is placed on a level by `stagger`."""
    count = max(len(rows), 1)
    row_height = min(max(ROWS_HEIGHT / count, ROW_SMALLEST), ROW_LARGEST)
    names = [text_width(r.label, NAME_SIZE, r.production) for r in rows]
    notes = [text_width(gap_note(r.gaps), NOTE_SIZE) for r in rows if r.gaps]
    left = max([1.0, *names]) + 0.25
    plot_width = WIDTH - left - max([0.3, *notes]) - 0.2
    end = end if end > start else start + 1.0
    texts = [flag_text(m) for m in moments]
    lines = [left + (m.at - start) / (end - start) * plot_width for m in moments]
    spans = facing(lines, [text_width(text, FLAG_SIZE) for text in texts])
    levels = stagger(spans)
    strip = (max(levels) + 1) * LEVEL_HEIGHT + 0.15 if levels else 0.1
    bottom = AXIS_HEIGHT + (NOTE_HEIGHT if noted else 0.0)
    plot_height = count * row_height
    return Layout(
        width=WIDTH,
        height=bottom + plot_height + strip + LEGEND_HEIGHT + TITLE_HEIGHT,
        left=left,
        bottom=bottom,
        plot_width=plot_width,
        plot_height=plot_height,
        row_height=row_height,
        start=start,
        end=end,
        flags=[
            Flag(m.at, text, level, *span)
            for m, text, level, span in zip(moments, texts, levels, spans, strict=True)
        ],
    )


def colours() -> tuple[Colormap, Normalize]:
    some = LinearSegmentedColormap.from_list("some_ready", SOME_READY, N=SHADES)
    scale = some.with_extremes(under=NONE_READY, over=ALL_READY, bad=NONE_DESIRED)
    return scale, Normalize(vmin=EDGE, vmax=1 - EDGE)


def draw(timeline: Timeline, title: str) -> Figure:
    rows, left_out = rows_of(timeline)
    edges = sample_edges([s.at for s in timeline.samples]) or [0.0, 1.0]
    moments = sorted(timeline.moments, key=lambda m: m.at)
    at = layout(rows, moments, min(0.0, edges[0]), edges[-1], noted=bool(left_out))
    figure = Figure(figsize=(at.width, at.height))
    inches = figure.dpi_scale_trans
    figure.text(0.15, at.height - 0.35, title, transform=inches, fontsize=13, fontweight="bold")
    axis = figure.add_axes(at.box(at.left, at.bottom, at.plot_width, at.plot_height))
    scale, norm = colours()
    cells, shares = [], []
    for index, row in enumerate(rows):
        low, high = index + (1 - ROW_FILL) / 2, index + (1 + ROW_FILL) / 2
        for run in row.runs:
            cells.append([(run.start, low), (run.end, low), (run.end, high), (run.start, high)])
            shares.append(np.nan if run.share is None else run.share)
    heat = PolyCollection(
        cells,
        array=np.ma.masked_invalid(np.array(shares, dtype=float)),
        cmap=scale,
        norm=norm,
        edgecolors="face",
        linewidths=0.3,  # covers the hairline a browser leaves between two runs
    )
    axis.add_collection(heat)
    axis.set_xlim(at.start, at.end)
    axis.set_ylim(max(len(rows), 1), 0)
    for spine in ("left", "right", "top"):
        axis.spines[spine].set_visible(False)
    axis.set_yticks([index + 0.5 for index in range(len(rows))])
    axis.set_yticklabels([row.label for row in rows], fontsize=NAME_SIZE)
    for name, row in zip(axis.get_yticklabels(), rows, strict=True):
        name.set_fontweight("bold" if row.production else "normal")
        name.set_color(NONE_READY if row.gaps and row.must_stay_up else "black")
    axis.tick_params(axis="y", length=0, pad=4)
    axis.xaxis.set_major_locator(MaxNLocator(nbins=14, steps=[1, 2, 5, 10]))
    axis.tick_params(axis="x", labelsize=TICK_SIZE)
    axis.set_xlabel("seconds since the drill started", fontsize=9)
    for index, (row, below) in enumerate(pairwise(rows)):
        # A rule where the environment changes, a heavier one after production.
        if row.production != below.production:
            axis.axhline(index + 1, color="black", linewidth=1.2)
        elif row.key[0] != below.key[0]:
            axis.axhline(index + 1, color="#8c8c8c", linewidth=0.6)
    for index, row in enumerate(rows):
        if row.gaps:
            axis.text(
                1.0,
                index + 0.5,
                gap_note(row.gaps),
                transform=axis.get_yaxis_transform() + ScaledTranslation(0.08, 0, inches),
                fontsize=NOTE_SIZE,
                color=NONE_READY,
                va="center",
            )
    for flag in at.flags:
        axis.axvline(flag.at, color=LINE, linewidth=0.8)
        x, y = flag.line, at.level_y(flag.level)
        figure.add_artist(
            Line2D([x, x], [at.top, y + 0.13], transform=inches, color=LINE, linewidth=0.8)
        )
        figure.text(
            flag.end if flag.leftwards else flag.start,
            y,
            flag.text,
            transform=inches,
            fontsize=FLAG_SIZE,
            ha="right" if flag.leftwards else "left",
            va="baseline",
            # Where lines had to cross a label (see `stagger`), they pass behind it.
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
            zorder=3,
        )
    legend(figure, at, heat, any(run.share is None for row in rows for run in row.runs))
    if left_out:
        dipped = sum(
            min(s.serving.get(key, 0) for s in timeline.samples) < timeline.desired[key]
            for key in left_out
        )
        figure.text(
            at.left,
            0.08,
            f"{len(left_out)} more services not drawn"
            + (f" ({dipped} of them dipped)" if dipped else ": each kept every replica throughout"),
            transform=inches,
            fontsize=8,
        )
    return figure


def legend(figure: Figure, at: Layout, heat: PolyCollection, scaled_to_zero: bool) -> None:
    """What the colours and lines mean, under the title: the colour scale with its two
    ends as swatches, then the lines and the names' styles."""
    inches = figure.dpi_scale_trans
    top = at.height - TITLE_HEIGHT
    swatch = 0.2 * LEGEND_BAR  # the colorbar's extensions: "none" and "all"
    left = 0.3 + swatch
    bar = figure.add_axes(at.box(left, top - 0.44, LEGEND_BAR, 0.16))
    scale = figure.colorbar(
        heat,
        cax=bar,
        orientation="horizontal",
        extend="both",
        extendrect=True,
        extendfrac=0.2,
        ticks=[0.25, 0.5, 0.75],
    )
    scale.ax.set_xticklabels(["25%", "50%", "75%"])
    scale.ax.tick_params(labelsize=TICK_SIZE)
    scale.outline.set_linewidth(0.5)
    if scale.solids is not None:
        scale.solids.set_edgecolor("face")  # no seams between its shades in a browser

    def text(x: float, y: float, words: str, **style: Any) -> None:
        figure.text(x, y, words, transform=inches, fontsize=8, **style)

    text(left - swatch, top - 0.2, "ready replicas, as a share of the desired count")
    centre = {"ha": "center", "va": "center"}
    text(left - swatch / 2, top - 0.58, "none ready", color=NONE_READY, weight="bold", **centre)
    text(left + LEGEND_BAR + swatch / 2, top - 0.58, "all ready", **centre)
    if scaled_to_zero:
        grey = left + LEGEND_BAR + swatch + 0.3
        figure.add_artist(
            Rectangle((grey, top - 0.44), 0.3, 0.16, transform=inches, color=NONE_DESIRED)
        )
        text(grey + 0.38, top - 0.36, "none desired", va="center")
    notes = LEGEND_NOTES
    figure.add_artist(
        Line2D([notes, notes], [top - 0.28, top - 0.08], transform=inches, color=LINE, lw=0.8)
    )
    text(notes + 0.1, top - 0.22, "a moment of the drill, labelled above with its time")
    text(notes, top - 0.44, "bold: a production environment's service", weight="bold")
    text(notes, top - 0.66, "red: a production stateless service with none ready", color=NONE_READY)


def write_picture(timeline: Timeline | None, path: Path, title: str) -> None:
    """Draw the drill into `path`, an .html or a .png file."""
    if timeline is None or not timeline.samples:
        raise CampusError("the drill took no sample: there is nothing to draw")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CampusError(f"--report {path}: give a file ending in .html or .png")
    figure = draw(timeline, title)
    if suffix == ".png":
        figure.savefig(path, dpi=110)
        return
    svg = io.StringIO()
    with rc_context({"svg.fonttype": "path"}):
        figure.savefig(svg, format="svg")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}svg{max-width:100%;height:auto}"
        "p{margin:0 0 .5em}</style></head><body>\n"
        "<p>One row per service, time across in seconds since the drill started; the "
        "colour is the service's ready replicas as a share of its desired count (red: "
        "none ready). Vertical lines: the drill's moments.</p>\n"
        f"{svg.getvalue()[svg.getvalue().index('<svg') :]}\n</body></html>\n"
    )
    path.write_text(page)
