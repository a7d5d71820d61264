"""HTML reports: one self-contained file each, rendered with the house Jinja environment.

Charts are inline SVG; the page has no script and fetches nothing (a Content-Security-Policy
of ``default-src 'none'`` makes sure); styles are inline and include print rules. Values
reach the templates as plain data, HTML-escaped on the way; the charts are the only markup
handed over as is, drawn by :mod:`cstool.reports.charts`.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any

from cstool.bands import BAND_TEXT_COLOURS, BANDS, NO_BAND_COLOUR, colour
from cstool.conditions import TOUCH_TIERS

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from cstool.reports.model import AccountReport, Dashboard

MEASURES = ("deployment", "depth", "breadth")


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import FileSystemLoader

    from cstool.templating import environment

    folder = resources.files("cstool.reports") / "templates"
    return environment(FileSystemLoader(str(folder)))


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _long(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def _days(window: tuple[date, date] | None) -> int:
    return (window[1] - window[0]).days + 1 if window else 0


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f}%"


def _bands() -> list[dict[str, str]]:
    return [{"name": b, "colour": colour(b)} for b in BANDS]


def account_html(r: AccountReport) -> str:
    """The success snapshot as one HTML page."""
    from markupsafe import Markup

    from cstool.reports import charts

    measures = [
        {
            "measure": m.measure,
            "value": _pct(m.value),
            "band": m.band or "no band yet",
            "colour": colour(m.band),
            "text_colour": BAND_TEXT_COLOURS.get(m.band or "", "#ffffff"),
            "meaning": m.meaning,
        }
        for m in r.measures
    ]
    points = [p for series in r.history.values() for p in series]
    days = sorted({p.day for p in points})
    bands = {m.measure: m.band for m in r.measures}
    lic = "n/a" if r.licenses is None else f"{r.licenses:,.0f}"
    users = (
        f"{lic} licenses; {r.activated:,} users activated; {r.active:,} active between "
        f"{_long(r.active_window[0])} and {_long(r.active_window[1])}."
        if r.activated is not None and r.active is not None and r.active_window
        else "No usage recorded yet."
    )
    n_feat = len(r.features)
    features = (
        f"{r.features_used} of {n_feat} enabled features in use between "
        f"{_long(r.features_window[0])} and {_long(r.features_window[1])}."
        if r.features_window
        else "No usage recorded yet."
    )
    view: dict[str, Any] = {
        "company": r.company,
        "name": r.name,
        "as_of": r.as_of.isoformat(),
        "as_of_long": _long(r.as_of),
        "csm": r.csm,
        "csm_title": r.csm_title,
        "csm_email": r.csm_email,
        "measures": measures,
        "has_history": bool(points),
        "history_chart": Markup(charts.adoption_over_time(r.history)) if points else "",
        "history_span": f"{_long(days[0])} to {_long(days[-1])}" if days else "",
        "users_chart": Markup(
            charts.users_bars(
                r.licenses, r.activated or 0, r.active or 0, bands["deployment"], bands["depth"]
            )
        ),
        "users_sentence": users,
        "features_chart": Markup(
            charts.features_bars(
                [(f, n) for f, n, _ in r.features],
                bands["breadth"],
                f"users in the last {_days(r.features_window)} days",
            )
        ),
        "features_sentence": features,
        "milestones": [
            {"date": m.date.isoformat(), "date_long": _long(m.date), "text": m.text}
            for m in r.milestones
        ],
        "internal": _internal_view(r) if r.internal else None,
    }
    return _render("account.html.j2", r=view, bands=_bands())


def _internal_view(r: AccountReport) -> dict[str, Any]:
    from cstool.reports.model import newer_entries

    i = r.internal
    assert i is not None
    nps = "no responses"
    if i.nps:
        who = ", ".join(x for x in (i.nps.get("name"), i.nps.get("role")) if x)
        nps = f"{i.nps['score']} ({i.nps['category']}) on {i.nps['date']}" + (
            f" from {who}" if who else ""
        )
        if i.nps.get("comment"):
            nps += f": “{i.nps['comment']}”"
    renewal = "n/a"
    if i.renewal_date:
        renewal = i.renewal_date + (
            f" (in {i.days_to_renewal} days)" if i.days_to_renewal is not None else ""
        )
    return {
        "segment": i.segment or "n/a",
        "arr": "n/a" if i.arr is None else f"{i.arr:,.0f}",
        "lifecycle_stage": i.lifecycle_stage or "n/a",
        "renewal": renewal,
        "nps": nps,
        "references": i.references,
        "contacts": [
            {
                "name": c["name"],
                "role": c["role"] or "",
                "level": c["level"] or "",
                "advocate": "yes" if c["advocate"] else "",
            }
            for c in i.contacts
        ],
        "timeline": [
            {"date": e.date.isoformat(), "type": e.type, "text": e.text, "detail": e.detail}
            for e in i.timeline
        ],
        "timeline_newer": newer_entries(i.timeline_newer, r.as_of),
        "ctas": [
            {
                "playbook": c["playbook"],
                "type": c["type"],
                "priority": c["priority"],
                "due_on": c["due_on"],
                "reason": c["reason"],
            }
            for c in i.ctas
        ],
    }


def adoption_html(d: Dashboard) -> str:
    """The team's weekly adoption dashboard as one HTML page."""
    from markupsafe import Markup

    from cstool.reports import charts

    totals = []
    for m in MEASURES:
        cells = []
        for b in (*BANDS, "n/a"):
            now = d.totals_now[m][b]
            delta = now - d.totals_before[m][b] if d.compared_to else 0
            cells.append(
                {
                    "now": f"{now:,}",
                    "delta": f"{delta:+,}" if delta else "",
                    "direction": "up" if (delta > 0) == (b in ("green", "lime")) else "down",
                }
            )
        totals.append({"measure": m, "cells": cells})
    labels = (
        d.compared_to.isoformat() if d.compared_to else "",
        d.as_of.isoformat(),
    )
    before = d.before if d.compared_to else {m: {} for m in MEASURES}
    view = {
        "company": d.company,
        "as_of": d.as_of.isoformat(),
        "as_of_long": _long(d.as_of),
        "compared_to": d.compared_to.isoformat() if d.compared_to else None,
        "compared_to_long": _long(d.compared_to) if d.compared_to else None,
        "accounts": f"{d.accounts:,}",
        "warnings": d.warnings,
        "totals": totals,
        "segments_chart": Markup(charts.band_distribution(d.segments, before, d.now, labels)),
        "csms": [
            {
                "csm": c.csm or "(no CSM)",
                "accounts": f"{c.accounts:,}",
                "moves": [{"up": c.up.get(m, 0), "down": c.down.get(m, 0)} for m in MEASURES],
                "drops": [
                    {
                        **mv,
                        "before_colour": colour(mv["band_before"]),
                        "after_colour": colour(mv["band_after"]),
                        "before_text": BAND_TEXT_COLOURS.get(mv["band_before"] or "", "#fff"),
                        "after_text": BAND_TEXT_COLOURS.get(mv["band_after"] or "", "#fff"),
                        "values": f"{_pct(mv['before'])} → {_pct(mv['after'])}",
                    }
                    for mv in c.drops
                ],
            }
            for c in d.csms
        ],
        "tiers_chart": Markup(
            charts.band_distribution(
                [t for t in TOUCH_TIERS if t in d.tiers["depth"]],
                {m: {} for m in MEASURES},
                d.tiers,
                ("", d.as_of.isoformat()),
            )
        )
        if d.tiers["depth"]
        else "",
        "ctas": [c.__dict__ for c in d.ctas],
    }
    bands = [*_bands(), {"name": "n/a", "colour": NO_BAND_COLOUR}]
    return _render("adoption.html.j2", d=view, bands=bands, measures=MEASURES)
