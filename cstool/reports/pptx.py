"""The success snapshot as a PowerPoint deck, with native charts (python-pptx).

Native charts stay editable in PowerPoint and LibreOffice. Points and bars take their band's
colour from :mod:`cstool.bands`. The deck is byte-identical for the same inputs: its
document dates, and those of the workbooks behind its charts, are the report's date, and its
zip entries carry a fixed time.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cstool.bands import BAND_TEXT_COLOURS, NO_BAND_COLOUR, colour

if TYPE_CHECKING:
    from cstool.reports.model import AccountReport

INK = "263238"
MUTED = "607D8B"
MEASURES = ("deployment", "depth", "breadth")
# Zip entries get this time, not the clock's, so the same deck is the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_W3CDTF = re.compile(rb'(<dcterms:(?:created|modified) xsi:type="dcterms:W3CDTF">)[^<]*(<)')


def _rgb(hex_colour: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _text(
    slide: Any,
    left: float,
    top: float,
    width: float,
    height: float,
    lines: Sequence[tuple[str, float, bool, str]],
) -> None:
    """A text box: lines of (text, size in points, bold, hex colour)."""
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for i, (text, size, bold, hex_colour) in enumerate(lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = para.add_run()
        run.text = text
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = _rgb(hex_colour)


def _slide(prs: Any, title: str, subtitle: str = "") -> Any:
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    lines = [(title, 26, True, INK)]
    if subtitle:
        lines.append((subtitle, 13, False, MUTED))
    _text(slide, 0.6, 0.35, 12.1, 1.0, lines)
    return slide


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f}%"


def account_deck(r: AccountReport) -> bytes:
    """The success snapshot of :class:`~cstool.reports.model.AccountReport` as PPTX bytes."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    when = datetime(r.as_of.year, r.as_of.month, r.as_of.day)
    props = prs.core_properties
    props.title = f"{r.name}: success snapshot"
    props.author = props.last_modified_by = r.company
    props.created = props.modified = when
    props.revision = 1

    _title_slide(prs, r)
    _measures_slide(prs, r)
    _history_slide(prs, r)
    _users_slide(prs, r)
    _features_slide(prs, r)
    _milestones_slide(prs, r)
    if r.internal is not None:
        _internal_slide(prs, r)
    buf = io.BytesIO()
    prs.save(buf)
    return _fixed_zip_times(buf.getvalue(), when)


def _fixed_zip_times(data: bytes, when: datetime) -> bytes:
    """The same zip with every entry's time set to a constant, and the workbooks that hold the
    charts' data (zips themselves, whose properties say when they were written) dated ``when``.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename.endswith(".xlsx"):
                blob = _fixed_zip_times(blob, when)
            elif info.filename == "docProps/core.xml":
                blob = _W3CDTF.sub(lambda m: m.group(1) + stamp + m.group(2), blob)
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, blob)
    return out.getvalue()


def _title_slide(prs: Any, r: AccountReport) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    lines = [
        (f"{r.company} · Success snapshot", 14, False, MUTED),
        (r.name, 40, True, INK),
        (f"As of {r.as_of.day} {r.as_of.strftime('%B %Y')}", 16, False, MUTED),
    ]
    if r.csm:
        lines.append((f"Prepared by {r.csm}, your Customer Success Manager", 16, False, MUTED))
    if r.internal is not None:
        lines.append(("Internal: not for the customer", 16, True, colour("red")))
    _text(slide, 0.8, 2.2, 11.5, 3.5, lines)


def _measures_slide(prs: Any, r: AccountReport) -> None:
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches, Pt

    slide = _slide(
        prs,
        "How your team uses the product",
        "Each band places a measure among customers like you: green is the top fifth, "
        "red the bottom fifth.",
    )
    for i, m in enumerate(r.measures):
        left = 0.6 + i * 4.1
        box = slide.shapes.add_shape(
            MSO_SHAPE.ROUNDED_RECTANGLE, Inches(left), Inches(2.0), Inches(3.8), Inches(3.2)
        )
        box.fill.solid()
        box.fill.fore_color.rgb = _rgb(colour(m.band))
        box.line.fill.background()
        frame = box.text_frame
        frame.word_wrap = True
        lines = [
            (m.measure.capitalize(), 20, True),
            (_pct(m.value), 44, True),
            (m.band or "no band yet", 18, False),
            (m.meaning, 12, False),
        ]
        for j, (text, size, bold) in enumerate(lines):
            para = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            run = para.add_run()
            run.text = text
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.color.rgb = _rgb(BAND_TEXT_COLOURS.get(m.band or "", "#ffffff"))


def _history_slide(prs: Any, r: AccountReport) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION, XL_MARKER_STYLE
    from pptx.enum.dml import MSO_LINE_DASH_STYLE
    from pptx.util import Inches, Pt

    slide = _slide(prs, "Adoption over time", "Weekly; each point takes the colour of its band.")
    days = sorted({p.day for series in r.history.values() for p in series})
    if not days:
        _text(slide, 0.6, 2.0, 12, 1, [("No weekly history yet.", 16, False, MUTED)])
        return
    data = CategoryChartData()
    data.categories = [d.strftime("%d %b") for d in days]
    by_day = {m: {p.day: p for p in r.history.get(m, [])} for m in MEASURES}
    for m in MEASURES:
        data.add_series(
            m.capitalize(),
            [by_day[m][d].value if d in by_day[m] else None for d in days],
            number_format="0%",
        )
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.LINE_MARKERS, Inches(0.6), Inches(1.6), Inches(12.1), Inches(5.5), data
    )
    chart = frame.chart
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    axis = chart.value_axis
    axis.minimum_scale, axis.maximum_scale = 0, 1
    axis.tick_labels.number_format = "0%"
    axis.tick_labels.number_format_is_linked = False
    dashes = (MSO_LINE_DASH_STYLE.SOLID, MSO_LINE_DASH_STYLE.DASH, MSO_LINE_DASH_STYLE.ROUND_DOT)
    for s, (m, dash) in enumerate(zip(MEASURES, dashes, strict=True)):
        series = chart.plots[0].series[s]
        series.smooth = False
        series.format.line.color.rgb = _rgb(INK)
        series.format.line.width = Pt(1.75)
        series.format.line.dash_style = dash
        series.marker.style = XL_MARKER_STYLE.CIRCLE
        series.marker.size = 9
        for j, d in enumerate(days):
            point = by_day[m].get(d)
            marker = series.points[j].marker
            marker.format.fill.solid()
            marker.format.fill.fore_color.rgb = _rgb(colour(point.band if point else None))
            marker.format.line.color.rgb = _rgb("FFFFFF")


def _bar_chart(
    slide: Any, names: list[str], values: list[float], colours: list[str], top: float, height: float
) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION
    from pptx.util import Inches

    data = CategoryChartData()
    data.categories = names
    data.add_series("value", values)
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.BAR_CLUSTERED, Inches(0.6), Inches(top), Inches(8.5), Inches(height), data
    )
    chart = frame.chart
    chart.has_legend = False
    chart.category_axis.reverse_order = True
    plot = chart.plots[0]
    plot.has_data_labels = True
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    plot.data_labels.number_format = "#,##0"
    plot.data_labels.number_format_is_linked = False
    plot.gap_width = 60
    for i, hex_colour in enumerate(colours):
        fill = plot.series[0].points[i].format.fill
        fill.solid()
        fill.fore_color.rgb = _rgb(hex_colour)


def _users_slide(prs: Any, r: AccountReport) -> None:
    bands = {m.measure: m.band for m in r.measures}
    slide = _slide(prs, "Licenses and users", "Licensed seats, users activated, users active")
    if r.activated is None or r.active is None or r.active_window is None:
        _text(slide, 0.6, 2.0, 12, 1, [("No usage recorded yet.", 16, False, MUTED)])
        return
    _bar_chart(
        slide,
        ["Licenses", "Activated users", "Active users"],
        [r.licenses or 0, r.activated, r.active],
        [NO_BAND_COLOUR, colour(bands["deployment"]), colour(bands["depth"])],
        1.8,
        3.2,
    )
    lic = "n/a" if r.licenses is None else f"{r.licenses:,.0f}"
    start, end = r.active_window
    _text(
        slide,
        9.4,
        2.0,
        3.4,
        3.0,
        [
            (f"{lic} licenses", 18, True, INK),
            (f"{r.activated:,} users activated", 16, False, INK),
            (f"{r.active:,} active {start:%d %b} to {end:%d %b}", 16, False, INK),
        ],
    )


def _features_slide(prs: Any, r: AccountReport) -> None:
    bands = {m.measure: m.band for m in r.measures}
    slide = _slide(prs, "Features in use")
    if not r.features or r.features_window is None:
        _text(slide, 0.6, 2.0, 12, 1, [("No usage recorded yet.", 16, False, MUTED)])
        return
    _bar_chart(
        slide,
        [f for f, _, _ in r.features],
        [n for _, n, _ in r.features],
        [colour(bands["breadth"]) if used else NO_BAND_COLOUR for _, _, used in r.features],
        1.6,
        min(5.6, 0.9 + 0.38 * len(r.features)),
    )
    start, end = r.features_window
    _text(
        slide,
        9.4,
        2.0,
        3.4,
        3.0,
        [
            (f"{r.features_used} of {len(r.features)} enabled features in use", 18, True, INK),
            (f"users per feature, {start:%d %b} to {end:%d %b}", 14, False, MUTED),
        ],
    )


def _milestones_slide(prs: Any, r: AccountReport) -> None:
    slide = _slide(prs, "Milestones and your contact")
    lines = [(f"{m.date:%d %b %Y}   {m.text}", 16, False, INK) for m in r.milestones[-10:]]
    _text(slide, 0.6, 1.6, 7.8, 5.4, lines or [("No milestones recorded yet.", 16, False, MUTED)])
    contact = (
        [
            ("Your Customer Success Manager", 14, False, MUTED),
            (r.csm, 22, True, INK),
            (f"{r.csm_title or 'Customer Success Manager'}, {r.company}", 14, False, INK),
            *([(r.csm_email, 14, False, INK)] if r.csm_email else []),
        ]
        if r.csm
        else [(f"Your {r.company} Customer Success team", 18, True, INK)]
    )
    _text(slide, 8.8, 1.6, 4.0, 2.4, contact)


def _internal_slide(prs: Any, r: AccountReport) -> None:
    from cstool.reports.model import newer_entries

    i = r.internal
    assert i is not None
    slide = _slide(prs, "Internal: not for the customer")
    facts = [
        f"Segment: {i.segment or 'n/a'}",
        f"ARR: {'n/a' if i.arr is None else f'{i.arr:,.0f}'}",
        f"Lifecycle stage: {i.lifecycle_stage or 'n/a'}",
        f"Renewal: {i.renewal_date or 'n/a'}"
        + (f" (in {i.days_to_renewal} days)" if i.days_to_renewal is not None else ""),
        "Latest NPS: "
        + (f"{i.nps['score']} ({i.nps['category']}) on {i.nps['date']}" if i.nps else "none"),
        f"References given: {i.references}",
        f"Open CTAs: {len(i.ctas)}",
        *(f"  {c['playbook']} ({c['priority']}, due {c['due_on']})" for c in i.ctas[:6]),
    ]
    _text(slide, 0.6, 1.5, 5.6, 5.6, [(f, 14, False, INK) for f in facts])
    contacts = [
        (
            f"{c['name']}{' (advocate)' if c['advocate'] else ''}: "
            + ", ".join(x for x in (c["role"], c["level"]) if x),
            12,
            False,
            INK,
        )
        for c in i.contacts
    ] or [("None recorded.", 12, False, MUTED)]
    _text(slide, 6.4, 1.5, 6.4, 5.6, [("Key contacts", 14, True, INK), *contacts])

    slide = _slide(prs, "Internal: latest timeline")
    entries = [(f"{e.date}  {e.type}: {e.text}", 12, False, INK) for e in i.timeline]
    if i.timeline_newer:
        entries.append((newer_entries(i.timeline_newer, r.as_of), 12, False, MUTED))
    _text(slide, 0.6, 1.5, 12.1, 5.6, entries or [("No entries.", 12, False, MUTED)])
