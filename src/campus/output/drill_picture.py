"""A picture of a drill: each service's ready replicas over time, one small panel per
service, production services first, a gap at zero shaded red, and the drill's moments
(failure, detection, recovery...) drawn as vertical lines across every panel.

Drawn with matplotlib's object API (no pyplot, no display). `.png` writes the image;
`.html` writes one page with the picture inline as SVG whose text is drawn as paths, so
the file opens in any browser with nothing else installed and nothing fetched.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from campus.drill.availability import ServiceKey, Timeline
from campus.errors import CampusError

FORMATS = (".html", ".png")
# Services that never dipped are summarised in one line, not drawn: a fleet of 60
# services would otherwise hide its few gaps among flat lines.
MOST_PANELS = 40


@dataclass(frozen=True)
class Row:
    """One panel: a service's ready replicas at each sample, and its spans at zero."""

    key: ServiceKey
    production: bool
    must_stay_up: bool
    desired: int
    times: list[float]
    ready: list[int]
    gaps: list[tuple[float, float]]  # (from, to) with no ready replica

    @property
    def label(self) -> str:
        return f"{self.key[0]}/{self.key[1]}" + (" (production)" if self.production else "")


def rows_of(timeline: Timeline) -> tuple[list[Row], list[ServiceKey]]:
    """The panels to draw, production services that must stay up first, then other
    production services, then the rest; and the services that never dipped (not drawn,
    except production stateless services, drawn to show they held)."""
    times = [s.at for s in timeline.samples]
    rows, steady = [], []
    for key, desired in timeline.desired.items():
        production = timeline.production.get(key[0], False)
        ready = [s.serving.get(key, 0) for s in timeline.samples]
        gaps: list[tuple[float, float]] = []
        for index, count in enumerate(ready):
            if count == 0 and desired > 0:
                end = times[index + 1] if index + 1 < len(times) else times[index]
                if gaps and gaps[-1][1] == times[index]:
                    gaps[-1] = (gaps[-1][0], end)
                else:
                    gaps.append((times[index], end))
        row = Row(key, production, timeline.must_stay_up(key), desired, times, ready, gaps)
        if min(ready, default=desired) < desired or row.must_stay_up:
            rows.append(row)
        else:
            steady.append(key)
    rows.sort(key=lambda r: (not r.must_stay_up, not r.production, r.key))
    return rows[:MOST_PANELS], sorted(steady) + [r.key for r in rows[MOST_PANELS:]]


def draw(timeline: Timeline, title: str) -> Figure:
    rows, steady = rows_of(timeline)
    figure = Figure(figsize=(11, 1.1 * max(len(rows), 1) + 1.4), layout="constrained")
    figure.suptitle(title, fontsize=12, fontweight="bold")
    axes = figure.subplots(max(len(rows), 1), 1, sharex=True, squeeze=False)[:, 0]
    end = timeline.samples[-1].at if timeline.samples else 1.0
    for axis, row in zip(axes, rows, strict=False):
        colour = "#1f5fa8" if row.production else "#6b6b6b"
        axis.step(row.times, row.ready, where="post", color=colour, linewidth=1.6)
        axis.axhline(row.desired, color=colour, linestyle=":", linewidth=0.8)
        for start, stop in row.gaps:
            axis.axvspan(start, max(stop, start + 0.5), color="#d62728", alpha=0.35, linewidth=0)
        axis.set_ylim(-0.2, max([row.desired, *row.ready]) + 0.6)
        axis.set_xlim(0, max(end, 1.0))
        axis.set_yticks(sorted({0, row.desired}))
        axis.set_ylabel(
            row.label,
            rotation=0,
            ha="right",
            va="center",
            fontsize=8,
            color="#d62728" if row.gaps and row.must_stay_up else "black",
        )
        axis.tick_params(labelsize=7)
        for moment in timeline.moments:
            axis.axvline(moment.at, color="#2ca02c", linewidth=0.8, alpha=0.7)
    top = axes[0]
    for index, moment in enumerate(timeline.moments):
        top.annotate(
            moment.label,
            xy=(moment.at, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2 + 9 * (index % 3)),
            textcoords="offset points",
            fontsize=7,
            color="#2ca02c",
        )
    axes[-1].set_xlabel("seconds since the drill acted (red: no ready replica)")
    if steady:
        figure.text(
            0.01,
            0.0,
            f"{len(steady)} services kept every replica throughout (not drawn)",
            fontsize=7,
            va="bottom",
        )
    return figure


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
        "<style>body{font-family:sans-serif;margin:1.5em}svg{max-width:100%;height:auto}"
        "</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Each panel: one service's ready replicas each second (dotted: its desired "
        "count). Red: no ready replica. Green lines: the drill's moments.</p>\n"
        f"{svg.getvalue()[svg.getvalue().index('<svg') :]}\n</body></html>\n"
    )
    path.write_text(page)
