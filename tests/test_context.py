"""The condition variables per account and per user, computed from a real workspace."""

from __future__ import annotations

from datetime import date

import pytest
from cta_data import (
    WEEK_BEFORE,
    D,
    account,
    days,
    set_config,
    snapshot,
    write_accounts,
    write_nps,
    write_usage,
    write_users,
)

from cstool import context
from cstool.conditions import ACCOUNT_VARIABLES
from cstool.errors import InputError
from cstool.store import ctas as ctas_db
from cstool.workspace import Workspace


@pytest.fixture
def book_ws(ws: Workspace) -> Workspace:
    """Three accounts with two snapshots, NPS answers and an attribute column ``plan``."""
    write_accounts(
        ws,
        [
            account("A1", renewal_date=days(30), onboarding_date=days(-400), plan="gold"),
            account("A2", renewal_date=None, onboarding_date=None, plan="silver"),
            account("A3", renewal_date=days(-5), plan=None),
        ],
    )
    snapshot(ws, WEEK_BEFORE, {"A1": {"deployment": "green", "depth": "lime"}})
    snapshot(
        ws,
        D,
        {
            "A1": {"deployment": "orange", "depth": "lime", "breadth": "red"},
            "A2": {"deployment": 0.5, "deployment_band": "yellow"},
        },
    )
    write_nps(
        ws,
        [
            ("R1", days(-40), "A1", 9),
            ("R2", days(-10), "A1", 4),
            ("R3", days(3), "A1", 10),  # after D: not yet known on D
            ("R4", days(-2), "A2", 8),
            ("R5", days(-2), "A2", 3),  # same day: the later response id counts
        ],
    )
    return ws


def test_every_documented_variable_has_a_value_or_none(book_ws: Workspace) -> None:
    """Each account's mapping holds every catalogue variable and the usable attributes."""
    with book_ws.open_store() as store:
        b = context.book(store, book_ws.resolved, D)
    assert [a["account_id"] for a in b.accounts] == ["A1", "A2", "A3"]
    for a in b.accounts:
        assert set(ACCOUNT_VARIABLES.names) | {"plan"} == set(a)
    assert "plan" in b.catalogue
    assert b.get("A1")["plan"] == "gold" and b.get("A3")["plan"] is None
    assert b.attributes["A2"] == {"plan": "silver"}
    assert b.get("nope") is None


def test_bands_and_band_changes_against_the_previous_snapshot(book_ws: Workspace) -> None:
    """Band steps since the previous snapshot: positive is up, none without a previous band."""
    with book_ws.open_store() as store:
        b = context.book(store, book_ws.resolved, D)
    a1, a2, a3 = b.accounts
    assert (b.snapshot, b.previous) == (D, WEEK_BEFORE)
    assert a1["deployment_band"] == "orange" and a1["deployment"] == 0.3
    assert a1["deployment_band_change"] == -3  # green -> orange
    assert a1["depth_band_change"] == 0  # lime -> lime
    assert a1["breadth_band_change"] is None  # no breadth band before
    assert a2["deployment"] == 0.5 and a2["deployment_band_change"] is None  # not in the last
    assert a3["deployment"] is None and a3["depth_band"] is None  # not in the snapshot


def test_a_later_date_reads_the_latest_snapshot_on_or_before_it(book_ws: Workspace) -> None:
    """As of D + 3 the snapshot of D is read; as of the week before, that week's."""
    with book_ws.open_store() as store:
        later = context.book(store, book_ws.resolved, date(2026, 11, 23))
        earlier = context.book(store, book_ws.resolved, WEEK_BEFORE)
        latest = context.book(store, book_ws.resolved)
    assert later.snapshot == D and later.get("A1")["deployment_band"] == "orange"
    assert earlier.snapshot == WEEK_BEFORE and earlier.previous is None
    assert earlier.get("A1")["deployment_band_change"] is None
    assert latest.as_of == D


def test_days_to_renewal_and_since_onboarding(book_ws: Workspace) -> None:
    """Days count from the as-of date; a past renewal is negative; no date is none."""
    with book_ws.open_store() as store:
        b = context.book(store, book_ws.resolved, D)
    assert b.get("A1")["days_to_renewal"] == 30
    assert b.get("A1")["days_since_onboarding"] == 400
    assert b.get("A2")["days_to_renewal"] is None
    assert b.get("A2")["days_since_onboarding"] is None
    assert b.get("A3")["days_to_renewal"] == -5


def test_latest_nps_on_or_before_the_date(book_ws: Workspace) -> None:
    """The latest answer known on the date counts, with its age; none without one."""
    with book_ws.open_store() as store:
        b = context.book(store, book_ws.resolved, D)
        before = context.book(store, book_ws.resolved, date(2026, 10, 20))
    assert (b.get("A1")["nps"], b.get("A1")["nps_days"]) == (4, 10)
    assert (b.get("A2")["nps"], b.get("A2")["nps_days"]) == (3, 2)
    assert b.get("A3")["nps"] is None and b.get("A3")["nps_days"] is None
    assert (before.get("A1")["nps"], before.get("A1")["nps_days"]) == (9, 9)


def test_open_ctas_count_open_and_ended_snoozes(book_ws: Workspace) -> None:
    """Open CTAs count; a closed one does not; a snoozed one counts once its snooze ends."""
    with book_ws.open_store(write=True) as store, store.transaction():
        new = {
            "source": "playbook",
            "account_id": "A1",
            "type": "risk",
            "priority": "high",
            "owner": None,
            "reason": "r",
            "opened_on": D,
            "due_on": D,
        }
        ctas_db.insert(store.db, playbook="p1", **new)
        closed = ctas_db.insert(store.db, playbook="p2", **new)
        ctas_db.update(store.db, closed, status="closed", closed_on=D)
        snoozed = ctas_db.insert(store.db, playbook="p3", **new)
        ctas_db.update(store.db, snoozed, status="snoozed", snoozed_until=days(2))
    with book_ws.open_store() as store:
        on_d = context.book(store, book_ws.resolved, D)
        after = context.book(store, book_ws.resolved, date(2026, 11, 22))
    assert on_d.get("A1")["open_ctas"] == 1
    assert after.get("A1")["open_ctas"] == 2
    assert on_d.get("A2")["open_ctas"] == 0


def test_no_snapshot_and_no_date_is_an_error(ws: Workspace) -> None:
    """Without a snapshot there is no default date: the error says what to do."""
    write_accounts(ws, [account("A1")])
    with ws.open_store() as store, pytest.raises(InputError, match="no adoption snapshot") as e:
        context.book(store, ws.resolved)
    assert "cstool score" in (e.value.hint or "")
    with ws.open_store() as store:
        b = context.book(store, ws.resolved, D)
    assert b.snapshot is None and b.get("A1")["depth_band"] is None


def test_user_variables(ws: Workspace) -> None:
    """Users get days_inactive as of the date and the enabled features they did not use."""
    write_accounts(ws, [account("A1"), account("A2")])
    write_users(
        ws,
        [
            {"user_id": "U1", "account_id": "A1", "email": "u1@x.example", "is_advocate": "true"},
            {"user_id": "U2", "account_id": "A1", "role": "Admin"},
            {"user_id": "U3", "account_id": "A2"},
        ],
    )
    write_usage(
        ws,
        [
            (days(-3), "A1", "U1", "reports"),
            (days(-40), "A1", "U1", "alerts"),  # outside the 28-day breadth window
            (days(-1), "A1", "U2", "alerts"),
            (days(2), "A1", "U2", "dashboards"),  # after D
            (days(-6), "A2", "U3", "reports"),
        ],
    )
    with ws.open_store() as store:
        found = context.users(store, ws.resolved.config, D)
        only_a2 = context.users(store, ws.resolved.config, D, ["A2"])
    by_id = {u["user_id"]: u for u in found}
    assert by_id["U1"]["days_inactive"] == 3
    assert by_id["U1"]["is_advocate"] is True and by_id["U2"]["is_advocate"] is None
    assert by_id["U2"]["days_inactive"] == 1  # the usage after D does not count
    assert by_id["U1"]["features_unused"] == ["alerts", "dashboards"]
    assert by_id["U2"]["features_unused"] == ["dashboards", "reports"]
    assert [u["user_id"] for u in only_a2] == ["U3"]
    with ws.open_store() as store:
        early = {
            u["user_id"]: u for u in context.users(store, ws.resolved.config, date(2026, 9, 1))
        }
    assert early["U2"]["days_inactive"] is None  # never active by then


def test_adoption_facts_and_email_context(ws: Workspace) -> None:
    """What emails show: licenses, activated and active users, features used and unused."""
    ws = set_config(
        ws,
        "csms: [{name: Priya Raman, email: priya.raman@example.com, title: Senior CSM}]\n"
        "sender: {postal_address: 'Acme Inc., 1 Main St'}\n",
    )
    write_accounts(ws, [account("A1", licenses_purchased=5, csm="priya raman")])
    write_users(ws, [{"user_id": "U1", "account_id": "A1"}, {"user_id": "U2", "account_id": "A1"}])
    write_usage(ws, [(days(-1), "A1", "U1", "reports"), (days(-20), "A1", "U2", "alerts")])
    with ws.open_store() as store:
        facts = context.adoption_facts(store, ws.resolved.config, D)
        b = context.book(store, ws.resolved, D)
    assert facts["A1"] == {
        "licenses": 5,
        "activated": 2,
        "active": 1,
        "features_used": ["alerts", "reports"],
        "features_unused": [],
    }
    config = ws.resolved.config
    csm = context.csm_context(config, "priya raman")
    assert csm == {
        "name": "Priya Raman",
        "first_name": "Priya",
        "email": "priya.raman@example.com",
        "title": "Senior CSM",
    }
    assert context.csm_context(config, "Nobody Listed")["email"] is None
    assert context.company_context(config)["postal_address"].startswith("Acme Inc.")
    adoption = context.adoption_context(b.get("A1"), facts["A1"], D)
    assert adoption["as_of"] == "2026-11-20" and adoption["activated"] == 2
    acct = context.account_context(b.get("A1"), {"plan": "gold"})
    assert acct["plan"] == "gold" and acct["licenses_purchased"] == 5
