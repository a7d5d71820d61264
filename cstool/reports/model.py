"""What the reports show, assembled from the store as plain data (no drawing here).

**The success snapshot** (:func:`account_report`) is made for the customer. Its external
part holds only the account's own adoption: its measures over time, features used against
enabled, licenses against activated and active users, its milestones, and its CSM. It
names no other account and carries no CSM notes, NPS, contacts, commercial fields or risk
work items: those live in :attr:`AccountReport.internal`, which is None unless asked for,
so a template cannot show what it was never given.

**The adoption dashboard** (:func:`adoption_dashboard`) is the team's weekly view: bands per
segment this week against the snapshot a week before, who moved by CSM, accounts per band per
touch tier, and the open CTAs per playbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cstool.bands import BANDS
from cstool.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cstool.account360 import Account360
    from cstool.config import Config, ResolvedConfig
    from cstool.reports.charts import Point
    from cstool.store import Store
    from cstool.timeline import Entry

MEASURES = ("deployment", "depth", "breadth")
HISTORY_WEEKS = 26
INTERNAL_TIMELINE = 10
# What the external snapshot says of a reference the customer gave: nothing of the prospect,
# the opportunity or the contact.
REFERENCE_GIVEN = "Customer reference given"
MEASURE_HELP = {
    "deployment": "licensed seats activated",
    "depth": "activated users active in the last {depth} days",
    "breadth": "enabled features in use over the last {breadth} days",
}


@dataclass(frozen=True)
class MeasureCard:
    """A measure as the customer sees it: value, band and what it means."""

    measure: str
    value: float | None
    band: str | None
    meaning: str


@dataclass(frozen=True)
class Milestone:
    """A dated step of the customer's journey."""

    date: date
    text: str


@dataclass(frozen=True)
class Internal:
    """What only the team may see, shown with ``--internal``."""

    segment: str | None
    arr: float | None
    lifecycle_stage: str | None
    renewal_date: str | None
    days_to_renewal: int | None
    nps: dict[str, Any] | None
    timeline: list[Entry]
    timeline_newer: int  # entries dated after the report's date, not shown
    contacts: list[dict[str, Any]]
    references: int
    ctas: list[dict[str, Any]]  # open CTAs: risk and every other work item


@dataclass(frozen=True)
class AccountReport:
    """The success snapshot of one account."""

    company: str
    account_id: str
    name: str
    as_of: date
    csm: str | None
    measures: list[MeasureCard]
    history: dict[str, list[Point]]
    licenses: int | None  # purchased
    activated: int | None
    active: int | None
    active_window: tuple[date, date] | None
    features: list[tuple[str, int, bool]]  # enabled features: name, users, counted as used
    features_window: tuple[date, date] | None
    milestones: list[Milestone]
    internal: Internal | None
    csm_title: str | None = None  # from ``csms:`` in cstool.yaml
    csm_email: str | None = None

    @property
    def features_used(self) -> int:
        return sum(1 for _, _, used in self.features if used)


def newer_entries(n: int, as_of: date) -> str:
    """What the internal timeline leaves out: entries dated after the report's date."""
    if not n:
        return ""
    return (
        f"{n} newer timeline entr{'ies' if n != 1 else 'y'} after {as_of} "
        "(report with --as-of to include them)"
    )


def _history(store: Store, account_id: str, as_of: date) -> dict[str, list[Point]]:
    from cstool.account360 import trend
    from cstool.reports.charts import Point
    from cstool.store import adoption as scores_db

    weekly = trend(
        scores_db.account_snapshots(store.db, account_id, as_of.isoformat()), as_of, HISTORY_WEEKS
    )
    return {m: [Point(p.as_of, p.value, p.band) for p in points] for m, points in weekly.items()}


def _milestones(a360: Account360, store: Store, *, internal: bool) -> list[Milestone]:
    """Onboarding and the milestone entries of the timeline, oldest first.

    A reference the customer gave names the prospect, the opportunity and the contact: the
    external snapshot shows only that one was given (:data:`REFERENCE_GIVEN`, dated), the
    internal one the timeline's full text.
    """
    from cstool import timeline

    out = []
    onboarded = a360.account.get("onboarding_date")
    if onboarded and onboarded <= a360.as_of.isoformat():
        out.append(Milestone(date.fromisoformat(onboarded), "Onboarding started"))
    entries = timeline.merge(
        store, timeline.Query(a360.account_id, None, a360.as_of), ["milestone"]
    )
    out += [
        Milestone(e.date, e.text if internal or e.source != "references" else REFERENCE_GIVEN)
        for e in reversed(entries)
    ]
    return sorted(out, key=lambda m: m.date)


def account_report(
    store: Store,
    config: Config,
    account_id: str,
    *,
    as_of: date | None = None,
    today: date,
    internal: bool = False,
) -> AccountReport:
    """The success snapshot of ``account_id``; the internal part only when ``internal``."""
    from cstool.account360 import account_360

    a = account_360(
        store, config, account_id, as_of=as_of, today=today, timeline_entries=INTERNAL_TIMELINE
    )
    m = config.metrics
    cards = [
        MeasureCard(
            x.measure,
            x.value,
            x.band,
            MEASURE_HELP[x.measure].format(
                depth=m.depth_window_days, breadth=m.breadth_window_days
            ),
        )
        for x in a.measures
    ]
    d = a.adoption
    inside = None
    if internal:
        p = a.account
        inside = Internal(
            segment=p.get("segment"),
            arr=p.get("arr"),
            lifecycle_stage=p.get("lifecycle_stage"),
            renewal_date=p.get("renewal_date"),
            days_to_renewal=p.get("days_to_renewal"),
            nps=a.nps,
            timeline=a.timeline,
            timeline_newer=a.timeline_newer,
            contacts=[
                {"name": c.name, "role": c.role, "level": c.level, "advocate": c.advocate}
                for c in a.contacts
                if c.advocate or c.role in ("Executive Sponsor", "Admin")
            ],
            references=len(a.references.given),
            ctas=a.ctas,
        )
    csm = a.account.get("csm")
    listed = config.csm(csm)
    return AccountReport(
        company=config.company,
        account_id=a.account_id,
        name=a.name,
        as_of=a.as_of,
        csm=csm,
        measures=cards,
        history=_history(store, account_id, a.as_of),
        licenses=a.account.get("licenses_purchased"),
        activated=d.activated if d else None,
        active=d.active if d else None,
        active_window=d.depth_window if d else None,
        features=[(f.feature, f.users, f.used) for f in d.features] if d else [],
        features_window=d.breadth_window if d else None,
        milestones=_milestones(a, store, internal=internal),
        internal=inside,
        csm_title=listed.title if listed else None,
        csm_email=listed.email if listed else None,
    )


# -- the adoption dashboard ------------------------------------------------------------------


@dataclass(frozen=True)
class CsmMoves:
    """One CSM's week: accounts, moves up and down per measure, and the worst drops."""

    csm: str | None
    accounts: int
    up: dict[str, int]
    down: dict[str, int]
    drops: list[dict[str, Any]]


@dataclass(frozen=True)
class PlaybookCtas:
    """The CTAs of one playbook open on the dashboard's date."""

    playbook: str
    type: str
    open: int
    overdue: int
    high: int  # of priority high or urgent


@dataclass(frozen=True)
class Dashboard:
    """The team's weekly adoption picture."""

    company: str
    as_of: date
    compared_to: date | None
    accounts: int
    segments: list[str]
    # counts[measure][segment][band or "n/a"], this week and the week before
    now: dict[str, dict[str, dict[str, int]]]
    before: dict[str, dict[str, dict[str, int]]]
    totals_now: dict[str, dict[str, int]]
    totals_before: dict[str, dict[str, int]]
    csms: list[CsmMoves]
    warnings: list[str]
    # tiers[measure][tier][band or "n/a"]: accounts per band per touch tier this week
    tiers: dict[str, dict[str, dict[str, int]]]
    ctas: list[PlaybookCtas]


def _counts(
    rows: Sequence[Mapping[str, Any]], by: str = "segment"
) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for m in MEASURES:
        per: dict[str, dict[str, int]] = {}
        for r in rows:
            seg = r[by] or f"(no {by})"
            bands = per.setdefault(seg, {b: 0 for b in (*BANDS, "n/a")})
            bands[r[f"{m}_band"] or "n/a"] += 1
        out[m] = per
    return out


def _totals(counts: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    return {
        m: {b: sum(seg[b] for seg in per.values()) for b in (*BANDS, "n/a")}
        for m, per in counts.items()
    }


def _open_ctas(store: Store, as_of: date) -> list[PlaybookCtas]:
    """Open CTAs on ``as_of`` per playbook, the most first."""
    from cstool.store import ctas as ctas_db

    per: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in ctas_db.listing(store.db, as_of, status="open"):
        if c["opened_on"] <= as_of.isoformat():
            per.setdefault((c["playbook"], c["type"]), []).append(c)
    rows = [
        PlaybookCtas(
            playbook,
            kind,
            len(cs),
            sum(1 for c in cs if c["due_on"] < as_of.isoformat()),
            sum(1 for c in cs if c["priority"] in ("high", "urgent")),
        )
        for (playbook, kind), cs in per.items()
    ]
    return sorted(rows, key=lambda r: (-r.open, r.playbook))


def _snapshot_hint(store: Store, config: Config, d: date, dates: list[date]) -> str:
    """How to get a snapshot of ``d``: score that date when the loaded usage can, else pick
    one of the snapshots there are."""
    from cstool import adoption

    stored = f"snapshots run from {min(dates)} to {max(dates)}"
    try:
        adoption.usage_date(store, d, config=config)
    except InputError as e:
        return f"{e.message}; the {stored}: pick one of their dates"
    return f"run `cstool score --as-of {d}` (the {stored})"


def adoption_dashboard(
    store: Store, resolved: ResolvedConfig, as_of: date | None = None, drops_per_csm: int = 5
) -> Dashboard:
    """The weekly dashboard on the snapshot of ``as_of`` (default: the latest snapshot)."""
    from cstool import adoption, context
    from cstool.store import adoption as scores_db

    config = resolved.config

    dates = [date.fromisoformat(s) for s in scores_db.snapshot_dates(store.db)]
    if not dates:
        raise InputError(
            "there are no score snapshots yet",
            hint="run `cstool score` (and `cstool score backfill` for history)",
        )
    d = as_of or max(dates)
    if d not in dates:
        raise InputError(
            f"there is no snapshot for {d}", hint=_snapshot_hint(store, config, d, dates)
        )
    rows = scores_db.snapshot(store.db, d.isoformat())
    older = [x for x in dates if x <= d - timedelta(days=7)]
    then = max(older) if older else None
    before_rows = scores_db.snapshot(store.db, then.isoformat()) if then else []
    now, before = _counts(rows), _counts(before_rows)
    segments = sorted(set(now["depth"]) | set(before.get("depth", {})))
    csms: list[CsmMoves] = []
    warnings: list[str] = []
    if then is not None:
        ch = adoption.changes(store, d, 1, "csm")
        warnings = list(ch.warnings)
        by_csm: dict[str | None, CsmMoves] = {}
        for g in ch.groups:
            cm = by_csm.setdefault(g.group, CsmMoves(g.group, g.accounts, {}, {}, []))
            cm.up[g.measure] = g.up
            cm.down[g.measure] = g.down
        for mv in ch.movers:
            book = by_csm.get(mv.group)
            if book is not None and mv.change < 0 and len(book.drops) < drops_per_csm:
                book.drops.append(mv.as_dict())
        csms = sorted(by_csm.values(), key=lambda c: (c.csm is None, c.csm or ""))
    else:
        warnings.append(f"no snapshot a week or more before {d}: no moves to show")
    return Dashboard(
        company=config.company,
        as_of=d,
        compared_to=then,
        accounts=len(rows),
        segments=segments,
        now=now,
        before=before,
        totals_now=_totals(now),
        totals_before=_totals(before),
        csms=csms,
        warnings=warnings,
        tiers=_counts(context.book(store, resolved, d).accounts, "touch_tier"),
        ctas=_open_ctas(store, d),
    )
