"""Charts drawn with matplotlib as inline SVG: byte-identical between runs, text kept as text.

Every chart uses the band colours of :mod:`cstool.bands`. The SVG is made for embedding in an
HTML page: no XML prologue, no metadata, a ``viewBox`` and a width that follows the page.
Text from the data is never read as mathtext (``$`` stays a dollar sign).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from cstool.bands import BAND_TEXT_COLOURS, BANDS, NO_BAND_COLOUR, colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MEASURES = ("deployment", "depth", "breadth")
INK = "#263238"
GRID = "#e0e0e0"
FONT = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "sans-serif"]


@contextmanager
def _style(name: str) -> Iterator[None]:
    """Settings that make the SVG deterministic and plain; ``name`` keeps ids unique per chart."""
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.hashsalt": f"cstool-{name}",
            "svg.fonttype": "none",
            "text.parse_math": False,
            "font.family": "sans-serif",
            "font.sans-serif": FONT,
            "font.size": 9,
            "axes.edgecolor": GRID,
            "axes.labelcolor": INK,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "text.color": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        yield


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    # The page decides the width; the viewBox keeps the proportions.
    text = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        r'<svg\1 width="100%" preserveAspectRatio="xMinYMin meet"',
        text,
        count=1,
    )
    return text.strip() + "\n"


# Margins are set by hand: matplotlib's automatic layouts measure every label first, which
# more than doubled the time to draw a chart.
CHAR_INCHES = 0.075  # the width of an average character at 9 points
EDGE = 0.12  # inches


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.45,
    bottom: float = 0.35,
    top: float = 0.3,
    right: float = 0.15,
    wspace: float = 0.25,
) -> Figure:
    """A figure of ``width`` x ``height`` inches with margins in inches."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
    )
    return fig


def _label_inches(labels: Sequence[str], size: float = 9) -> float:
    """Room for the longest of ``labels`` beside an axis."""
    return EDGE + CHAR_INCHES * size / 9 * max((len(x) for x in labels), default=0)


def _pct_axis(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


@dataclass(frozen=True)
class Point:
    """One snapshot of one measure: its date, value (0-1 or None) and band."""

    day: date
    value: float | None
    band: str | None


def _bare(ax: Axes) -> None:
    """No axis lines, ticks or tick labels: labels are drawn as plain text instead.

    Tick objects are the slowest part of drawing a small chart; a plain text per label is a
    fraction of the cost, which matters when a CSM's whole book is drawn at once.
    """
    ax.set_axis_off()


def _labels_left(ax: Axes, names: Sequence[str], size: float = 9) -> None:
    """Category names right-aligned just left of the axes, one per row (row i at y = i)."""
    from matplotlib.transforms import blended_transform_factory, offset_copy

    where = offset_copy(
        blended_transform_factory(ax.transAxes, ax.transData),
        fig=ax.get_figure(root=True),
        x=-4,
        units="points",
    )
    for y, name in enumerate(names):
        ax.text(0, y, name, ha="right", va="center", fontsize=size, transform=where)


def adoption_over_time(series: Mapping[str, Sequence[Point]], title: str = "") -> str:
    """One panel per measure: the value over the snapshots, each point in its band colour.

    The three panels share one axes side by side, and only the percentages are ticks; the
    dates are plain text under each panel.
    """
    with _style("adoption-over-time"):
        fig = _figure(7.5, 2.4, top=0.45 if not title else 0.7, left=0.5)
        ax = fig.add_subplot()
        width = max((len(v) for v in series.values()), default=0) or 1
        gap = max(2, round(width / 4))
        for k, measure in enumerate(MEASURES):
            start = k * (width + gap)
            points = [p for p in series.get(measure, ()) if p.value is not None]
            ax.text(start - 0.5, 1.1, measure.capitalize(), fontweight="bold", fontsize=10)
            if k:
                ax.axvline(start - gap / 2, color=GRID, linewidth=0.8)
            if not points:
                ax.text(start + width / 2, 0.5, "no data", ha="center", va="center")
                continue
            xs = [start + i for i in range(len(points))]
            values = [p.value for p in points if p.value is not None]
            ax.plot(xs, values, color=INK, linewidth=1.2, zorder=2)
            ax.scatter(
                xs,
                values,
                s=36,
                c=[colour(p.band) for p in points],
                edgecolors="white",
                linewidths=0.8,
                zorder=3,
            )
            for i in sorted({0, len(points) - 1}):
                ax.text(
                    xs[i], -0.08, points[i].day.strftime("%d %b"), ha="center", va="top", fontsize=9
                )
        ax.set_xticks([])
        ax.set_xlim(-0.8, len(MEASURES) * (width + gap) - gap - 0.2)
        ax.set_ylim(0, 1.05)
        ax.set_yticks([0, 0.5, 1])
        _pct_axis(ax)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        return to_svg(fig)


def band_distribution(
    groups: Sequence[str],
    before: dict[str, dict[str, dict[str, int]]],
    after: dict[str, dict[str, dict[str, int]]],
    labels: tuple[str, str],
) -> str:
    """Accounts per band, per group, a bar for the previous snapshot above one for this one.

    ``before[measure][group][band]`` counts accounts; one panel per measure. Without a
    previous snapshot (an empty first label) each group has this snapshot's bar only.
    """
    with _style("band-distribution"):
        which_bars = (0, 1) if labels[0] else (1,)
        rows = [(g, which) for g in groups for which in which_bars]
        row_labels = [f"{g}  {labels[which]}" if labels[0] else g for g, which in rows]
        fig = _figure(
            7.5,
            0.9 + 0.32 * len(rows),
            left=_label_inches(row_labels, 8),
            bottom=0.5,
            wspace=0.08,
        )
        axes = fig.subplots(1, len(MEASURES), sharey=True)
        for ax, measure in zip(axes, MEASURES, strict=True):
            ax.set_title(measure.capitalize())
            for y, (g, which) in enumerate(rows):
                counts = (before if which == 0 else after).get(measure, {}).get(g, {})
                total = sum(counts.values()) or 1
                left = 0.0
                for band in (*BANDS, None):
                    n = counts.get(band or "n/a", 0)
                    if not n:
                        continue
                    width = n / total
                    ax.barh(
                        y,
                        width,
                        left=left,
                        height=0.8,
                        color=colour(band),
                        edgecolor="white",
                        linewidth=0.5,
                    )
                    if width >= 0.08:
                        ax.text(
                            left + width / 2,
                            y,
                            f"{n:,}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color=BAND_TEXT_COLOURS.get(band or "", "#ffffff"),
                        )
                    left += width
            ax.set_xlim(0, 1)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            _bare(ax)
        _labels_left(axes[0], row_labels, 8)
        _legend(fig)
        return to_svg(fig)


def _legend(fig: Figure) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=colour(b), label=b) for b in BANDS]
    handles.append(Patch(color=NO_BAND_COLOUR, label="n/a"))
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), frameon=False, fontsize=8)


def _hbars(
    ax: Axes,
    names: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str],
    shown: Sequence[str],
) -> None:
    """Horizontal bars, top to bottom, named on the left and with their value at the end."""
    ax.barh(range(len(names)), values, color=list(colours), height=0.65)
    top = max(values, default=0) or 1
    for y, (v, text) in enumerate(zip(values, shown, strict=True)):
        ax.text(v + top * 0.01, y, text, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.2)
    ax.set_ylim(len(names) - 0.5, -0.5)
    _bare(ax)
    _labels_left(ax, names)


def users_bars(
    licenses: float | None,
    activated: int,
    active: int,
    deployment_band: str | None,
    depth_band: str | None,
) -> str:
    """Licenses against activated and active users; the bars take the bands of their measures."""
    with _style("users"):
        labels = ["Licenses", "Activated users", "Active users"]
        fig = _figure(4.2, 1.5, left=_label_inches(labels), top=0.1, bottom=0.1)
        ax = fig.add_subplot()
        values = [licenses or 0, activated, active]
        shown = ["n/a" if licenses is None else f"{licenses:,.0f}", f"{activated:,}", f"{active:,}"]
        colours = [NO_BAND_COLOUR, colour(deployment_band), colour(depth_band)]
        _hbars(ax, labels, values, colours, shown)
        return to_svg(fig)


def features_bars(
    features: Sequence[tuple[str, int]], band: str | None, xlabel: str = "users"
) -> str:
    """Users per enabled feature in the breadth window: used ones in the breadth band's colour.

    ``xlabel`` says what the numbers count; it is written under the bars.
    """
    with _style("features"):
        names = [f for f, _ in features]
        fig = _figure(
            4.2,
            0.55 + 0.24 * max(len(features), 1),
            left=_label_inches(names),
            top=0.1,
            bottom=0.35,
        )
        ax = fig.add_subplot()
        if not features:
            ax.text(0.5, 0.5, "no enabled features", ha="center", va="center")
            ax.set_axis_off()
            return to_svg(fig)
        users = [n for _, n in features]
        shown = [f"{n:,}" if n else "not used" for n in users]
        _hbars(ax, names, users, [colour(band) if n else NO_BAND_COLOUR for n in users], shown)
        fig.text(0.5, 0.02, xlabel, ha="center", va="bottom", fontsize=8, color=INK)
        return to_svg(fig)
