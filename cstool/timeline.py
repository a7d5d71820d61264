"""An account's timeline: entries from several sources merged newest first.

A **source** is a function that returns one account's entries from its own domain's tables;
:data:`SOURCES` is the registry, in the order sources rank on the same day. The sources today:

* ``activities``: the rows of the activities export (calls, meetings, emails, updates,
  milestones, notes from the CRM);
* ``notes``: notes added with ``cstool timeline add``;
* ``adoption``: band changes between consecutive score snapshots;
* ``nps``: NPS responses;
* ``journeys``: the journey emails the account's people were sent (``cstool journey send``);
* ``ctas``: CTA events (opened, updated, closed, snoozed, due moved, task done);
* ``references``: "Customer Reference" milestones of the references recorded with the
  workflow, and the rows of the references export (:mod:`cstool.refs.given`).

Adding a source (emails sent) is one function and one line
in :data:`SOURCES`::

    def _emails(store: Store, query: Query) -> list[Entry]:
        from cstool.store import sends  # the domain's store module: no import cycle

        return [Entry(...) for r in sends.account_sends(store.db, query.account_id)]

    SOURCES.append(Source("emails", ("email_sent",), _emails, "emails sent"))

A source returns the entries of ``query.account_id`` dated within ``query.since`` ..
``query.until`` (either may be None), newest first within a day. The merge orders by date,
newest first; entries of the same day come in the order of :data:`SOURCES`, and within a
source in the order it gave them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, NotFoundError, UsageError
from cstool.schemas import ACTIVITY_TYPES

if TYPE_CHECKING:
    from cstool.store import Store

NOTE_TYPES = ("call", "meeting", "note")
TIMELINE_COLUMNS = ("date", "type", "source", "author", "text", "detail", "record_id")


@dataclass(frozen=True)
class Entry:
    """One line of an account's timeline."""

    date: date
    type: str
    source: str
    text: str
    author: str | None = None
    detail: str | None = None
    record_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        return d


@dataclass(frozen=True)
class Query:
    """Which entries a source is asked for: one account, an optional span of dates."""

    account_id: str
    since: date | None = None
    until: date | None = None

    def holds(self, d: date) -> bool:
        return (self.since is None or d >= self.since) and (self.until is None or d <= self.until)


Reader = Callable[["Store", Query], Iterable[Entry]]


@dataclass(frozen=True)
class Source:
    """A registered source of timeline entries."""

    name: str
    types: tuple[str, ...]
    read: Reader
    description: str


# -- the sources -----------------------------------------------------------------------------


def _activities(store: Store, query: Query) -> list[Entry]:
    from cstool.store import timeline as timeline_db

    rows = timeline_db.activities(store.db, query.account_id, query.since)
    rows.sort(key=lambda r: (r["date"], r["activity_id"]), reverse=True)
    return [
        Entry(
            date.fromisoformat(r["date"]),
            r["type"],
            "activities",
            r["subject"] or r["body"] or "",
            r["author"],
            r["body"] if r["subject"] else None,
            r["activity_id"],
        )
        for r in rows
    ]


def _notes(store: Store, query: Query) -> list[Entry]:
    from cstool.store import timeline as timeline_db

    rows = timeline_db.notes(store.db, query.account_id, query.since)
    rows.sort(key=lambda r: (r["date"], r["note_id"]), reverse=True)
    return [
        Entry(
            date.fromisoformat(r["date"]),
            r["type"],
            "notes",
            r["subject"],
            r["author"],
            r["body"],
            f"note-{r['note_id']}",
        )
        for r in rows
    ]


def _band_changes(store: Store, query: Query) -> list[Entry]:
    from cstool.bands import BAND_RANK
    from cstool.config import MEASURES
    from cstool.store import adoption as scores_db

    until = query.until.isoformat() if query.until else None
    snaps = scores_db.account_snapshots(store.db, query.account_id, until)
    out: list[Entry] = []
    # Newest pair first; within a day deployment, depth, breadth.
    for before, after in reversed(list(itertools.pairwise(snaps))):
        for m in MEASURES:
            b, a = before[f"{m}_band"], after[f"{m}_band"]
            if not b or not a or a == b:
                continue
            steps = BAND_RANK[a] - BAND_RANK[b]
            out.append(
                Entry(
                    date.fromisoformat(after["as_of"]),
                    "band_change",
                    "adoption",
                    f"{m} {b} -> {a} ({_pct(before[m])} -> {_pct(after[m])})",
                    None,
                    f"{'up' if steps > 0 else 'down'} {abs(steps)} band"
                    f"{'s' if abs(steps) != 1 else ''} since {before['as_of']}",
                    f"{after['as_of']}/{m}",
                )
            )
    return out


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def _nps(store: Store, query: Query) -> list[Entry]:
    from cstool.nps import category
    from cstool.store import nps as nps_db

    out = []
    for r in nps_db.account_responses(store.db, query.account_id, query.since):
        who = " ".join(p for p in (r["first_name"], r["last_name"]) if p)
        if r["role"]:
            who = f"{who} ({r['role']})" if who else r["role"]
        text = f"NPS {r['score']} ({category(int(r['score']))})" + (f" from {who}" if who else "")
        out.append(
            Entry(
                date.fromisoformat(r["date"]),
                "nps",
                "nps",
                text,
                None,
                r["comment"] or None,
                r["response_id"],
            )
        )
    return out


def _journey_emails(store: Store, query: Query) -> list[Entry]:
    from cstool.config import JourneysConfig
    from cstool.journeys.stats import emails_of

    out = []
    window = JourneysConfig().proxy_open_seconds
    for e in emails_of(store, query.account_id, window):
        day = date.fromisoformat(str(e["day"]))
        if not query.holds(day):
            continue
        step = f"{e['step']} {e['variant']}" if e["variant"] else e["step"]
        seen = [w for w, hit in (("opened", e["opened"]), ("clicked", e["clicked"])) if hit]
        out.append(
            Entry(
                day,
                "email",
                "journeys",
                f"{e['journey']}/{step} to {e['recipient']}: {e['subject']}",
                None,
                f"{e['status']}" + (f", {' and '.join(seen)}" if seen else ""),
                str(e["message_id"]),
            )
        )
    return out


def _cta_events(store: Store, query: Query) -> list[Entry]:
    from cstool.store import ctas as ctas_db

    rows = ctas_db.cta_events(store.db, query.account_id, query.since)
    rows.reverse()  # newest first: they come oldest first, by date then event id
    return [
        Entry(
            date.fromisoformat(r["date"]),
            "cta",
            "ctas",
            f"CTA {r['cta_id']} {r['playbook']} {r['text']}",
            None,
            None,
            f"cta-{r['cta_id']}/{r['event_id']}",
        )
        for r in rows
    ]


def _references(store: Store, query: Query) -> list[Entry]:
    from cstool.refs.given import timeline_rows

    return [
        Entry(r["date"], r["type"], "references", r["text"], None, r["detail"], r["record_id"])
        for r in timeline_rows(store, query.account_id)
        if query.holds(r["date"])
    ]


SOURCES: list[Source] = [
    Source("activities", ACTIVITY_TYPES, _activities, "rows of the activities export"),
    Source("notes", NOTE_TYPES, _notes, "notes added with `cstool timeline add`"),
    Source("adoption", ("band_change",), _band_changes, "band changes between snapshots"),
    Source("nps", ("nps",), _nps, "NPS responses"),
    Source("journeys", ("email",), _journey_emails, "journey emails sent to the account's people"),
    Source("ctas", ("cta",), _cta_events, "CTA events: opened, updated, closed, snoozed..."),
    Source(
        "references",
        ("milestone", "reference"),
        _references,
        "references: the recorded ones as Customer Reference milestones, the export's rows",
    ),
]


def known_types() -> list[str]:
    """Every entry type some source gives, in registry order."""
    return list(dict.fromkeys(t for s in SOURCES for t in s.types))


# -- reading and writing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """An account's merged timeline."""

    account_id: str
    name: str
    entries: list[Entry]
    total: int  # before --limit


def _account_name(store: Store, account_id: str) -> str:
    from cstool.store import accounts as accounts_db

    row = accounts_db.account(store.db, account_id)
    if row is None:
        raise NotFoundError(
            f"no account {account_id!r}", hint="see `cstool score` for the account ids"
        )
    return str(row["name"])


def merge(store: Store, query: Query, types: Sequence[str] = ()) -> list[Entry]:
    """Every source's entries for ``query``, newest first, of ``types`` (all when empty)."""
    wanted = set(types)
    entries: list[Entry] = []
    for source in SOURCES:
        if wanted and not wanted & set(source.types):
            continue
        entries.extend(
            e
            for e in source.read(store, query)
            if query.holds(e.date) and (not wanted or e.type in wanted)
        )
    # Stable: same-day entries keep source order, then each source's own order.
    entries.sort(key=lambda e: e.date, reverse=True)
    return entries


def check_types(types: Sequence[str]) -> None:
    """Refuse an entry type no source gives."""
    known = known_types()
    for t in types:
        if t not in known:
            raise UsageError(f"unknown timeline type {t!r}", hint=f"use {', '.join(known)}")


def timeline(
    store: Store,
    account_id: str,
    *,
    since: date | None = None,
    until: date | None = None,
    types: Sequence[str] = (),
    limit: int | None = None,
) -> Timeline:
    """The account's merged timeline, newest first, filtered by date and type."""
    check_types(types)
    name = _account_name(store, account_id)
    entries = merge(store, Query(account_id, since, until), types)
    return Timeline(account_id, name, entries[:limit] if limit else entries, len(entries))


@dataclass(frozen=True)
class NoteAdded:
    """What ``add_note`` wrote."""

    note_id: int
    account_id: str
    name: str
    entry: Entry


def add_note(
    store: Store,
    account_id: str,
    *,
    type: str,
    subject: str,
    body: str | None,
    day: date,
    author: str | None,
    now: str,
) -> NoteAdded:
    """Add a call, meeting or note to an account's timeline (in its own transaction)."""
    from cstool.store import timeline as timeline_db

    if type not in NOTE_TYPES:
        raise UsageError(f"unknown note type {type!r}", hint=f"use {', '.join(NOTE_TYPES)}")
    subject = subject.strip()
    if not subject:
        raise InputError("the subject is empty", hint='pass --subject "what happened"')
    if "\n" in subject or "\r" in subject:
        raise InputError(
            "the subject must be one line", hint="put the details in --body, which may be long"
        )
    body = body.strip() if body and body.strip() else None
    author = author.strip() if author and author.strip() else None
    name = _account_name(store, account_id)
    with store.transaction():
        note_id = timeline_db.add_note(store.db, account_id, day, type, subject, body, author, now)
    entry = Entry(day, type, "notes", subject, author, body, f"note-{note_id}")
    return NoteAdded(note_id, account_id, name, entry)
