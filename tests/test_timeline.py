"""The merged timeline: order across sources, filters, notes, and the source registry."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from adoption_data import write_csv
from loading import load
from nps_data import load_company

from cstool import timeline
from cstool.errors import InputError, NotFoundError, UsageError
from cstool.store import Store
from cstool.store import adoption as scores_db
from cstool.workspace import Workspace

ACTIVITIES = [
    ("ACT1", "A1", "2026-10-05", "call", "Ann", "Kickoff call", "Agreed the rollout plan"),
    ("ACT2", "A1", "2026-10-06", "milestone", "Ann", "Go-live", None),
    ("ACT3", "A2", "2026-10-06", "call", "Bob", "Another account's call", None),
]


def _snapshot(store: Store, as_of: str, deployment: tuple[float, str], depth: tuple[float, str]):
    with store.transaction():
        scores_db.save_snapshot(
            store.db,
            as_of,
            [(as_of, "A1", "Alder", "SMB", "Ann", *deployment, *depth, 1.0, "green", None, "b")],
        )


@pytest.fixture
def company(ws: Workspace, tmp_path: Path) -> Workspace:
    """The NPS company, with activities, two notes and two snapshots of A1."""
    load_company(ws, tmp_path)
    load(
        ws,
        "activities",
        write_csv(
            tmp_path / "activities.csv",
            ["activity_id", "account_id", "date", "type", "author", "subject", "body"],
            ACTIVITIES,
        ),
    )
    with ws.open_store(write=True) as store:
        for day, kind, subject in [
            (date(2026, 10, 5), "meeting", "QBR prep"),
            (date(2026, 10, 7), "note", "Sponsor asked for a roadmap"),
        ]:
            timeline.add_note(
                store,
                "A1",
                type=kind,
                subject=subject,
                body=None,
                day=day,
                author="Ann",
                now="2026-10-07T09:00:00+00:00",
            )
        _snapshot(store, "2026-09-27", (0.8, "lime"), (0.9, "green"))
        _snapshot(store, "2026-10-04", (1.0, "green"), (0.1, "red"))
    return ws


def entries(ws: Workspace, **kwargs: object) -> list[tuple[str, str, str, str]]:
    with ws.open_store() as store:
        tl = timeline.timeline(store, "A1", **kwargs)  # type: ignore[arg-type]
    return [(str(e.date), e.source, e.type, e.text) for e in tl.entries]


def test_merge_order_newest_first_and_sources_in_registry_order(company: Workspace) -> None:
    """Newest day first; on one day activities, notes, band changes, then NPS responses."""
    assert entries(company) == [
        ("2026-10-07", "notes", "note", "Sponsor asked for a roadmap"),
        ("2026-10-06", "activities", "milestone", "Go-live"),
        ("2026-10-06", "nps", "nps", "NPS 9 (promoter) from Ugo Two (End User)"),
        ("2026-10-05", "activities", "call", "Kickoff call"),
        ("2026-10-05", "notes", "meeting", "QBR prep"),
        ("2026-10-05", "nps", "nps", "NPS 10 (promoter) from Una One (Admin)"),
        ("2026-10-04", "adoption", "band_change", "deployment lime -> green (80.0% -> 100.0%)"),
        ("2026-10-04", "adoption", "band_change", "depth green -> red (90.0% -> 10.0%)"),
        ("2026-09-10", "nps", "nps", "NPS 10 (promoter) from Una One (Admin)"),
    ]


def test_entries_carry_author_and_detail(company: Workspace) -> None:
    """An activity keeps its author and body; a band change says how many bands it moved."""
    with company.open_store() as store:
        tl = timeline.timeline(store, "A1")
    call = next(e for e in tl.entries if e.record_id == "ACT1")
    assert (call.author, call.detail) == ("Ann", "Agreed the rollout plan")
    depth = next(e for e in tl.entries if e.record_id == "2026-10-04/depth")
    assert depth.detail == "down 4 bands since 2026-09-27"


def test_since_and_types_filter(company: Workspace) -> None:
    """--since keeps entries on or after the day; --type keeps the listed types."""
    assert [e[0] for e in entries(company, since=date(2026, 10, 5))] == [
        "2026-10-07",
        "2026-10-06",
        "2026-10-06",
        "2026-10-05",
        "2026-10-05",
        "2026-10-05",
    ]
    assert [e[3] for e in entries(company, types=["nps", "milestone"])] == [
        "Go-live",
        "NPS 9 (promoter) from Ugo Two (End User)",
        "NPS 10 (promoter) from Una One (Admin)",
        "NPS 10 (promoter) from Una One (Admin)",
    ]


def test_limit_keeps_the_total(company: Workspace) -> None:
    """A limit shows the newest entries and still reports how many there are."""
    with company.open_store() as store:
        tl = timeline.timeline(store, "A1", limit=2)
    assert len(tl.entries) == 2 and tl.total == 9


def test_a_registered_source_merges_in_its_place(
    company: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new source is one function and one registry line; it ranks after the sources before."""

    def cta_events(store: Store, query: timeline.Query) -> list[timeline.Entry]:
        return [timeline.Entry(date(2026, 10, 6), "cta", "ctas", "Opened renewal-at-risk")]

    monkeypatch.setattr(
        timeline,
        "SOURCES",
        [*timeline.SOURCES, timeline.Source("ctas", ("cta",), cta_events, "CTA events")],
    )
    got = entries(company, since=date(2026, 10, 6))
    assert got[1:4] == [
        ("2026-10-06", "activities", "milestone", "Go-live"),
        ("2026-10-06", "nps", "nps", "NPS 9 (promoter) from Ugo Two (End User)"),
        ("2026-10-06", "ctas", "cta", "Opened renewal-at-risk"),
    ]
    assert "cta" in timeline.known_types()


def test_unknown_type_and_account(company: Workspace) -> None:
    """An unknown type is a usage error listing the types; an unknown account is not found."""
    with company.open_store() as store:
        with pytest.raises(UsageError, match="unknown timeline type 'email_sent'") as e:
            timeline.timeline(store, "A1", types=["email_sent"])
        assert e.value.hint and "band_change" in e.value.hint
        with pytest.raises(NotFoundError, match="no account 'ZZ'"):
            timeline.timeline(store, "ZZ")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"type": "email"}, UsageError, "unknown note type 'email'"),
        ({"subject": "  "}, InputError, "the subject is empty"),
        ({"subject": "two\nlines"}, InputError, "the subject must be one line"),
        ({"account_id": "ZZ"}, NotFoundError, "no account 'ZZ'"),
    ],
)
def test_bad_notes_write_nothing(
    company: Workspace, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    """A bad note is refused with its reason and the notes table is unchanged."""
    args: dict[str, object] = {
        "account_id": "A1",
        "type": "call",
        "subject": "ok",
        "body": None,
        "day": date(2026, 10, 8),
        "author": None,
        "now": "2026-10-08T10:00:00+00:00",
    }
    args.update(kwargs)
    with company.open_store(write=True) as store, pytest.raises(error, match=message):
        timeline.add_note(store, **args)  # type: ignore[arg-type]
    db = sqlite3.connect(company.db_path)
    assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2
