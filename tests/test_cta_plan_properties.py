"""Properties of the CTA plan over generated books: one item per account and playbook with a CTA
or a condition that holds, and a plan applied then planned again changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cstool.busdays import Calendar
from cstool.conditions import ACCOUNT_VARIABLES
from cstool.context import Book
from cstool.ctas import Plan, make_plan
from cstool.playbooks import Playbook
from cstool.tiers import TierRules

D = date(2026, 11, 20)
BANDS = ["green", "lime", "yellow", "orange", "red", None]
CONTEXT = {"catalogue": ACCOUNT_VARIABLES, "templates": None}


def playbook(name: str, when: str, close_when: str | None = None) -> Playbook:
    data: dict[str, Any] = {
        "name": name,
        "type": "risk",
        "priority": "high",
        "when": when,
        "reason": "depth {{ depth_band }}, renewal in {{ days_to_renewal }}",
        "due_in": 3,
        "tasks": [{"title": "Call", "due_in": 1}],
    }
    if close_when is not None:
        data["close_when"] = close_when
    return Playbook.model_validate(data, context=CONTEXT)


PLAYBOOKS = [
    playbook("red-depth", "depth_band == 'red'"),
    playbook("renewal", "days_to_renewal <= 60", close_when="days_to_renewal > 90"),
    playbook("weak", "depth_band in ['orange', 'red'] or breadth_band == 'red'"),
]

accounts = st.lists(
    st.fixed_dictionaries(
        {
            "depth_band": st.sampled_from(BANDS),
            "breadth_band": st.sampled_from(BANDS),
            "days_to_renewal": st.one_of(st.none(), st.integers(-30, 400)),
        }
    ),
    max_size=12,
)


def book(rows: list[dict[str, Any]]) -> Book:
    values = [
        {
            **dict.fromkeys(ACCOUNT_VARIABLES.names),
            **r,
            "account_id": f"A{i:02d}",
            "name": f"A{i:02d} Inc",
            "csm": "Priya Raman",
        }
        for i, r in enumerate(rows)
    ]
    return Book(D, D, None, ACCOUNT_VARIABLES, TierRules((), "tech"), values, {}, {})


def applied(plan: Plan, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CTAs not closed after ``plan``, as the store would hold them."""
    by_key = {(c["account_id"], c["playbook"]): c for c in current}
    next_id = max((c["cta_id"] for c in current), default=0) + 1
    for item in plan.items:
        key = (item.account_id, item.playbook)
        if item.action == "open":
            by_key[key] = {
                "cta_id": next_id,
                "account_id": item.account_id,
                "playbook": item.playbook,
                "type": item.type,
                "priority": item.priority,
                "owner": item.owner,
                "reason": item.reason,
                "status": "open",
                "due_on": item.due_on.isoformat() if item.due_on else None,
                "snoozed_until": None,
            }
            next_id += 1
        elif item.action == "update":
            by_key[key] = {**by_key[key], **{f: new for f, _, new in item.changes}}
        elif item.action == "close":
            del by_key[key]
    return list(by_key.values())


@settings(max_examples=60, deadline=None)
@given(first=accounts, data=st.data())
def test_plan_apply_plan_again_changes_nothing(first: list[dict[str, Any]], data: Any) -> None:
    """Applying a plan then planning on the same book leaves every CTA unchanged; on a new
    book, each account and playbook appears at most once and only opens what is not open."""
    calendar = Calendar()
    plan = make_plan(book(first), PLAYBOOKS, [], {}, calendar)
    assert {i.action for i in plan.items} <= {"open"}
    current = applied(plan, [])
    again = make_plan(book(first), PLAYBOOKS, current, {}, calendar)
    assert {i.action for i in again.items} <= {"unchanged"}
    assert len(again.items) == len(current)

    # The same accounts a week later, with other values: every item is about one key.
    later = [
        {**r, **data.draw(st.fixed_dictionaries({"depth_band": st.sampled_from(BANDS)}))}
        for r in first
    ]
    moved = make_plan(book(later), PLAYBOOKS, current, {}, calendar)
    keys = [(i.account_id, i.playbook) for i in moved.items]
    assert len(keys) == len(set(keys))
    open_keys = {(c["account_id"], c["playbook"]) for c in current}
    for item in moved.items:
        assert (item.action == "open") == ((item.account_id, item.playbook) not in open_keys)
    # ...and applying that plan then planning again is stable too.
    settled = make_plan(book(later), PLAYBOOKS, applied(moved, current), {}, calendar)
    assert {i.action for i in settled.items} <= {"unchanged"}
