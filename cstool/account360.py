"""The account 360: everything a CSM needs before a call, for one account, as one object.

Sections (the keys of :meth:`Account360.as_dict`, stable for scripts):

* ``account``: the profile from the accounts export, with ``days_to_renewal``;
* ``adoption``: the three measures with their bands and an 8-week trend from the snapshots;
* ``users``: licenses (the purchased count, an integer), activated users and active users in
  the depth window;
* ``features``: enabled features used and unused in the breadth window, users per feature;
* ``timeline``: the latest entries of the merged timeline (:mod:`cstool.timeline`), their
  ``total`` up to the date, and ``newer``: how many are dated after it (a note added today
  to a 360 read as of the latest usage day);
* ``nps``: the latest response and the number of responses;
* ``references``: the references the account gave (the references export and the reference
  workflow, :mod:`cstool.refs.given`), with those in progress;
* ``contacts``: users by role, advocates marked;
* ``emails``: the latest journey emails its people were sent, opened or clicked;
* ``ctas``: the account's open CTAs on the date (a snooze that has ended counts as open).

Only one account's rows are read, so the 360 answers in milliseconds on any size of company.
Later domains add their section as a field here and a key in :meth:`Account360.as_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cstool.errors import NotFoundError
from cstool.schemas import USER_LEVELS, USER_ROLES

if TYPE_CHECKING:
    from cstool.adoption import AccountAdoption
    from cstool.config import Config
    from cstool.refs.given import Given
    from cstool.store import Store
    from cstool.timeline import Entry

TREND_WEEKS = 8
TIMELINE_ENTRIES = 5
EMAIL_ENTRIES = 5
MEASURES = ("deployment", "depth", "breadth")


@dataclass(frozen=True)
class TrendPoint:
    """A measure in one weekly snapshot."""

    as_of: date
    value: float | None
    band: str | None


@dataclass(frozen=True)
class Measure360:
    """A measure now, with its trend over the weeks before."""

    measure: str
    value: float | None
    band: str | None
    trend: list[TrendPoint]


@dataclass(frozen=True)
class Contact:
    """A user of the account as a contact."""

    user_id: str
    name: str
    email: str | None
    role: str | None
    level: str | None
    advocate: bool


@dataclass
class Account360:
    """One account, every section; see the module docstring for the keys."""

    account_id: str
    as_of: date
    account: dict[str, Any]
    adoption: AccountAdoption | None
    measures: list[Measure360]
    timeline: list[Entry]
    timeline_total: int
    nps: dict[str, Any] | None
    references: Given
    contacts: list[Contact]
    notes: list[str] = field(default_factory=list)  # why a section is empty
    emails: list[dict[str, Any]] = field(default_factory=list)  # the latest journey emails
    emails_total: int = 0
    ctas: list[dict[str, Any]] = field(default_factory=list)  # open CTAs, soonest due first
    timeline_newer: int = 0  # entries dated after as_of
    # Such as a date after the latest usage; JSON lists them with the notes.
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.account["name"])

    def as_dict(self) -> dict[str, Any]:
        """The 360 as one JSON-ready object with stable keys."""
        a = self.adoption
        return {
            "account_id": self.account_id,
            "as_of": self.as_of.isoformat(),
            "account": self.account,
            "adoption": {
                "banded": a.banded if a else False,
                "measures": {
                    m.measure: {
                        "value": m.value,
                        "band": m.band,
                        "trend": [
                            {"as_of": p.as_of.isoformat(), "value": p.value, "band": p.band}
                            for p in m.trend
                        ],
                    }
                    for m in self.measures
                },
            },
            "users": {
                "licenses": self.account.get("licenses_purchased"),
                "activated": a.activated if a else None,
                "active": a.active if a else None,
                "active_window": [d.isoformat() for d in a.depth_window] if a else None,
            },
            "features": {
                "used": [f.feature for f in a.features if f.used] if a else [],
                "unused": [f.feature for f in a.features if not f.used] if a else [],
                "users": {f.feature: f.users for f in a.features} if a else {},
                "enabled_from": a.enabled_source if a else None,
                "window": [d.isoformat() for d in a.breadth_window] if a else None,
            },
            "timeline": {
                "entries": [e.as_dict() for e in self.timeline],
                "total": self.timeline_total,
                "newer": self.timeline_newer,
            },
            "nps": self.nps,
            "references": self.references.as_dict(),
            "contacts": [asdict(c) for c in self.contacts],
            "emails": {"entries": self.emails, "total": self.emails_total},
            "ctas": self.ctas,
            "notes": self.notes + self.warnings,
        }


def _profile(row: dict[str, Any], as_of: date) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "attributes"}
    out["active"] = bool(out.get("active"))
    renewal = out.get("renewal_date")
    out["days_to_renewal"] = (date.fromisoformat(renewal) - as_of).days if renewal else None
    out["attributes"] = row.get("attributes") or {}
    return out


def trend(
    snapshots: list[dict[str, Any]], as_of: date, weeks: int = TREND_WEEKS
) -> dict[str, list[TrendPoint]]:
    """Per measure, one point a week for ``weeks`` weeks ending ``as_of``, oldest first.

    Each week takes its latest snapshot (a week is the 7 days ending on ``as_of``, on
    ``as_of`` − 7, ...); a week without a snapshot has no point.
    """
    by_date = {date.fromisoformat(s["as_of"]): s for s in snapshots}
    picked: list[dict[str, Any]] = []
    for k in reversed(range(weeks)):
        end = as_of - timedelta(days=7 * k)
        inside = [d for d in by_date if end - timedelta(days=6) <= d <= end]
        if inside:
            picked.append(by_date[max(inside)])
    return {
        m: [TrendPoint(date.fromisoformat(s["as_of"]), s[m], s[f"{m}_band"]) for s in picked]
        for m in MEASURES
    }


def _role_rank(role: str | None) -> int:
    return USER_ROLES.index(role) if role in USER_ROLES else len(USER_ROLES)


def _level_rank(level: str | None) -> int:
    return USER_LEVELS.index(level) if level in USER_LEVELS else len(USER_LEVELS)


def contacts(rows: list[dict[str, Any]]) -> list[Contact]:
    """Contacts by role (sponsor, admin, power user, end user, others), then level and name."""
    out = [
        Contact(
            r["user_id"],
            " ".join(p for p in (r["first_name"], r["last_name"]) if p) or r["user_id"],
            r["email"],
            r["role"],
            r["level"],
            bool(r["is_advocate"]),
        )
        for r in rows
    ]
    out.sort(key=lambda c: (_role_rank(c.role), c.role or "", _level_rank(c.level), c.name))
    return out


def account_360(
    store: Store,
    config: Config,
    account_id: str,
    *,
    as_of: date | None = None,
    today: date,
    timeline_entries: int = TIMELINE_ENTRIES,
) -> Account360:
    """The 360 of one account on ``as_of`` (default: the latest usage day, else ``today``).

    Nothing dated after ``as_of`` is shown, so a 360 of a past date reads as it did then.
    """
    from cstool import adoption, nps, timeline
    from cstool.refs import given
    from cstool.store import accounts as accounts_db
    from cstool.store import adoption as scores_db

    row = accounts_db.account(store.db, account_id)
    if row is None:
        raise NotFoundError(
            f"no account {account_id!r}", hint="see `cstool score` for the account ids"
        )
    span = adoption.data_span(store)  # loaded usage and rollups
    d = as_of or (span[1] if span else today)
    notes: list[str] = []
    warnings: list[str] = []
    detail = None
    if not row["active"]:
        notes.append("the account is inactive (retired by a replace load): no adoption measures")
    elif span is None:
        notes.append("no usage is loaded: no adoption measures")
    else:
        adoption.usage_date(store, d, warnings=warnings, config=config)  # refuses a far date
        detail = adoption.account_adoption(store, config, account_id, d)
        if detail is not None and not detail.banded:
            notes.append("no thresholds are stored yet: `cstool score` calibrates and bands")
    points = trend(scores_db.account_snapshots(store.db, account_id, d.isoformat()), d)
    measures = []
    for m in MEASURES:
        mv = next((x for x in detail.measures if x.measure == m), None) if detail else None
        measures.append(Measure360(m, mv.value if mv else None, mv.band if mv else None, points[m]))
    every = timeline.merge(store, timeline.Query(account_id))
    entries = [e for e in every if e.date <= d]
    refs = given.for_360(store, account_id, d)
    from cstool.journeys.stats import emails_of

    emails = [
        e
        for e in emails_of(store, account_id, config.journeys.proxy_open_seconds)
        if str(e["day"]) <= d.isoformat()
    ]
    return Account360(
        account_id=account_id,
        as_of=d,
        account=_profile(row, d),
        adoption=detail,
        measures=measures,
        timeline=entries[:timeline_entries],
        timeline_total=len(entries),
        nps=nps.latest_for_account(store, account_id, until=d),
        references=refs,
        contacts=contacts(accounts_db.contacts(store.db, account_id)),
        notes=notes,
        emails=emails[:EMAIL_ENTRIES],
        emails_total=len(emails),
        ctas=open_ctas(store, account_id, d),
        timeline_newer=len(every) - len(entries),
        warnings=warnings,
    )


CTA_FIELDS = (
    "cta_id",
    "playbook",
    "type",
    "priority",
    "owner",
    "reason",
    "opened_on",
    "due_on",
    "tasks_open",
)


def open_ctas(store: Store, account_id: str, as_of: date) -> list[dict[str, Any]]:
    """The account's CTAs open on ``as_of`` (opened by then), soonest due first."""
    from cstool.store import ctas as ctas_db

    rows = ctas_db.listing(store.db, as_of, status="open", account_id=account_id)
    return [{k: r[k] for k in CTA_FIELDS} for r in rows if r["opened_on"] <= as_of.isoformat()]
