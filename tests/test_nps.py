"""NPS: known answers on the hand-counted company of nps_data, and properties of the arithmetic.

October 2026 is the period under test; September is its previous period of the same length
(30 days: 2026-10-01..2026-10-30 against 2026-09-01..2026-09-30).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nps_data import load_company

from cstool import nps
from cstool.errors import InputError, UsageError
from cstool.workspace import Workspace

OCT = (date(2026, 10, 1), date(2026, 10, 30))


@pytest.fixture
def company(ws: Workspace, tmp_path: Path) -> Workspace:
    """The hand-counted company loaded into a fresh workspace."""
    return load_company(ws, tmp_path)


def report(ws: Workspace, by: str | None, start: date, end: date) -> nps.NpsReport:
    with ws.open_store() as store:
        return nps.report(store, ws.resolved, by, start, end)


def rows(r: nps.NpsReport) -> list[tuple[object, ...]]:
    return [
        (
            x.group,
            x.responses,
            x.promoters,
            x.passives,
            x.detractors,
            x.nps,
            x.response_rate,
            x.change,
        )
        for x in r.rows
    ]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_category_boundaries(score: int, expected: str) -> None:
    """6 is the last detractor score, 7-8 are passives, 9 is the first promoter score."""
    assert nps.category(score) == expected


def test_overall_known_answer(company: Workspace) -> None:
    """October: 2 promoters, 2 passives, 2 detractors; 4 of 6 active users answered."""
    r = report(company, None, *OCT)
    assert r.previous == nps.Period(date(2026, 9, 1), date(2026, 9, 30))
    # September: R7 10, R8 3, R9 9 -> 100 * (2 - 1) / 3.
    assert rows(r) == [("all", 6, 2, 2, 2, 0.0, 4 / 6, 0.0 - 100.0 * 1 / 3)]


def test_by_segment_with_an_empty_group(company: Workspace) -> None:
    """Mid-Market has an active user and no response: no NPS, a response rate of 0."""
    assert rows(report(company, "segment", *OCT)) == [
        ("Enterprise", 2, 0, 1, 1, -50.0, 1.0, -150.0),
        ("Mid-Market", 0, 0, 0, 0, None, 0.0, None),
        ("SMB", 4, 2, 1, 1, 25.0, 0.75, 25.0),
    ]


def test_by_role_compares_sponsors_and_admins(company: Workspace) -> None:
    """Roles come from the users export; a response without a user is its own group, last.

    U5 answered but had no event in October (a row with 0 events), so End User's rate
    counts U2 and U8 as active and U2 as answering. U7's usage spans October without a day
    in it, so it is not active either.
    """
    assert rows(report(company, "role", *OCT)) == [
        ("Admin", 2, 1, 1, 0, 50.0, 1.0, -50.0),
        ("End User", 2, 1, 0, 1, 0.0, 0.5, None),
        ("Executive Sponsor", 1, 0, 0, 1, -100.0, 1.0, 0.0),
        ("Power User", 0, 0, 0, 0, None, 0.0, None),
        (None, 1, 0, 1, 0, 0.0, None, None),
    ]


def test_by_csm(company: Workspace) -> None:
    """Cy's book has no response; Bob's mixes two accounts."""
    assert rows(report(company, "csm", *OCT)) == [
        ("Ann", 2, 2, 0, 0, 100.0, 2 / 3, 0.0),
        ("Bob", 4, 0, 2, 2, -50.0, 1.0, -50.0),
        ("Cy", 0, 0, 0, 0, None, 0.0, None),
    ]


def test_by_touch_tier(company: Workspace) -> None:
    """Tiers from the default rules on the period's last day: Cedar (Enterprise) is high,
    the others tech; low has no account, so no NPS and no rate."""
    assert rows(report(company, "tier", *OCT)) == [
        ("high", 2, 0, 1, 1, -50.0, 1.0, -150.0),
        ("low", 0, 0, 0, 0, None, None, None),
        ("tech", 4, 2, 1, 1, 25.0, 3 / 5, 25.0),
    ]


def test_a_period_with_no_responses(company: Workspace) -> None:
    """November has no response: no NPS and no change; its two active users answered nothing."""
    r = report(company, None, date(2026, 11, 1), date(2026, 11, 30))
    assert rows(r) == [("all", 0, 0, 0, 0, None, 0.0, None)]


def test_by_quarter_compares_with_the_quarter_before(company: Workspace) -> None:
    """Each quarter against the whole quarter before; Q3 has no Q2 to compare with.

    Q3: U1, U8, U3 and U7 were active and U1 and U3 answered (U4 answered, not active).
    Q4: seven active users (all but U5), four of whom answered.
    """
    r = report(company, "quarter", date(2026, 7, 1), date(2026, 12, 31))
    assert rows(r) == [
        ("2026-Q3", 3, 2, 0, 1, 100.0 / 3, 2 / 4, None),
        ("2026-Q4", 6, 2, 2, 2, 0.0, 4 / 7, 0.0 - 100.0 / 3),
    ]


def test_by_quarter_compares_with_the_rows_shown(company: Workspace) -> None:
    """A first quarter clipped to the period's start is compared with as many days just
    before it, and the next quarter with that clipped row, not with the whole quarter.

    Q3 from 2026-09-12: R8 (3) and R9 (9), NPS 0; the 19 days before hold R7 (10), NPS 100.
    Q4 has NPS 0 too: its change is 0 against the row shown (the whole Q3 would say -33.3).
    """
    r = report(company, "quarter", date(2026, 9, 12), date(2026, 12, 31))
    assert rows(r) == [
        ("2026-Q3", 2, 1, 0, 1, 0.0, 1 / 2, -100.0),
        ("2026-Q4", 6, 2, 2, 2, 0.0, 4 / 7, 0.0),
    ]


def test_default_period_is_90_days_to_the_latest_response(company: Workspace) -> None:
    """Without dates the period ends on the latest response and spans 90 days."""
    with company.open_store() as store:
        r = nps.report(store, company.resolved)
    assert r.period == nps.Period(date(2026, 7, 13), date(2026, 10, 10))
    assert r.total.responses == 9


def test_no_responses_loaded_is_an_input_error(ws: Workspace) -> None:
    """An empty workspace says what to load."""
    with ws.open_store() as store, pytest.raises(InputError, match="no NPS responses"):
        nps.report(store, ws.resolved)


def test_unknown_grouping_is_a_usage_error(company: Workspace) -> None:
    """--by colour is not a grouping."""
    with pytest.raises(UsageError, match="cannot group NPS by 'colour'"):
        report(company, "colour", *OCT)


def test_comments_of_detractors_newest_first(company: Workspace) -> None:
    """Only commented detractor responses, with account name and role."""
    with company.open_store() as store:
        found = nps.comments(store, detractors=True)
    assert [(c.response_id, c.account_name, c.role, c.score) for c in found] == [
        ("R5", "Cedar", "End User", 0),
        ("R3", "Birch", "Executive Sponsor", 6),
        ("R8", "Birch", "Executive Sponsor", 3),
    ]


def test_comments_in_a_period_for_an_account(company: Workspace) -> None:
    """Dates and the account narrow the comments."""
    with company.open_store() as store:
        found = nps.comments(store, start=date(2026, 10, 1), account_id="A2")
    assert [c.response_id for c in found] == ["R6", "R3"]


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=60))
def test_nps_is_promoter_share_minus_detractor_share(scores: list[int]) -> None:
    """NPS lies in -100..100, is None without responses, and matches the counts."""
    p = sum(s >= 9 for s in scores)
    d = sum(s <= 6 for s in scores)
    value = nps.nps(p, d, len(scores))
    if not scores:
        assert value is None
    else:
        assert value is not None
        assert -100.0 <= value <= 100.0
        assert value == pytest.approx(100 * p / len(scores) - 100 * d / len(scores))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_quarters_tile_the_calendar(d: date) -> None:
    """A date lies in its quarter, and the next quarter starts the day after it ends."""
    q = nps.quarter_period(d)
    assert q.start <= d <= q.end
    nxt = nps.quarter_period(q.end.fromordinal(q.end.toordinal() + 1))
    assert nxt.start.toordinal() == q.end.toordinal() + 1
    assert nps.quarter_of(d) == nps.quarter_of(q.start) == nps.quarter_of(q.end)
