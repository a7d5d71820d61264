"""Who is due: at-rules and their catch-up window, send days, re-entry, after-steps, the
frequency cap, suppression, holdout and A/B, each at its boundaries."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from adoption_data import write_csv
from cta_data import (
    D,
    account,
    days,
    set_config,
    snapshot,
    write_accounts,
    write_usage,
    write_users,
)
from journey_data import NOW, build, user
from loading import load

from cstool.journeys.definitions import load_journeys
from cstool.journeys.due import choose, held_out
from cstool.journeys.send import SendResult, send
from cstool.store import sends as sends_db
from cstool.workspace import Workspace


def add_journey(ws: Workspace, name: str, steps: str, **keys: object) -> None:
    """Write journeys/NAME.yaml: everyone in the audience, admins and others as recipients."""
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    if "category" not in keys:
        extra += "category: adoption\n"
    (ws.root / "journeys" / f"{name}.yaml").write_text(
        f"name: {name}\naudience: 'true'\nrecipients: 'true'\nfrom: csm\n{extra}steps:\n{steps}",
        encoding="utf-8",
    )


def plan(ws: Workspace, name: str, as_of: date, **options: object) -> SendResult:
    return send(ws, name, as_of=as_of, now=NOW, dry_run=True, **options)  # type: ignore[arg-type]


def due(r: SendResult) -> list[tuple[str, str]]:
    """(step, user) of the recipients a dry run would send."""
    assert r.dry_run
    return [(row.step, row.user_id) for row in r.rows if row.status == "to_send"]


def sent(ws: Workspace, name: str, as_of: date) -> list[tuple[str, str]]:
    """Send for real; (step, user) of the messages written."""
    r = send(ws, name, as_of=as_of, now=NOW)
    if r.batch_id is None:
        return []
    with ws.open_store() as store:
        rows = sends_db.rows(store.db, batch_id=r.batch_id, statuses=("written",))
    return [(str(x["step"]), str(x["user_id"])) for x in rows]


@pytest.fixture
def one(ws: Workspace) -> Workspace:
    """One account with one admin, snapshot on D; every day a send day."""
    ws = set_config(
        ws,
        "csms: [{name: Priya Raman, email: priya@acme.example}]\n"
        "sender: {postal_address: '1 Main St'}\n"
        "journeys: {send_days: [mon, tue, wed, thu, fri, sat, sun]}\n",
    )
    write_accounts(ws, [account("A1")])
    write_users(ws, [user("U1", "A1", "Admin")])
    snapshot(ws, D, {"A1": {"depth": "green"}})
    return ws


# -- at: and its catch-up window ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("onboarded", "expected"),
    [(-1, True), (-7, True), (-8, False), (0, False), (-30, False)],
    ids=["due today", "last day of catch-up", "past catch-up", "tomorrow", "long ago"],
)
def test_at_rule_catch_up_boundaries(ws: Workspace, onboarded: int, expected: bool) -> None:
    """onboarding_date + 1 days is due from that day for catch_up_days (7) days, no longer."""
    ws = build(ws)
    write_accounts(
        ws, [account("A1", lifecycle_stage="Onboarding", onboarding_date=days(onboarded))]
    )
    r = plan(ws, "onboarding", D, step="welcome")
    assert (("welcome", "U11") in due(r)) is expected


def test_catch_up_days_is_per_step(ws: Workspace) -> None:
    """catch_up_days: 1 sends only on the day itself."""
    ws = build(ws)
    add_journey(
        ws,
        "exact",
        '  - {id: s, template: onboarding-welcome, at: "onboarding_date + 2 days", '
        "catch_up_days: 1}\n",
    )
    write_accounts(
        ws,
        [
            account("A1", onboarding_date=days(-2)),
            account("A2", onboarding_date=days(-3)),
        ],
    )
    assert {u for _, u in due(plan(ws, "exact", D))} == {"U11", "U12"}


# -- send days -------------------------------------------------------------------------------


def test_weekends_and_holidays_are_not_send_days(ws: Workspace) -> None:
    """Saturday and a listed holiday send nothing and say why; send_days can add Saturday."""
    ws = build(ws)
    saturday = D + timedelta(days=1)
    r = plan(ws, "onboarding", saturday)
    assert not r.send_day and r.rows == [] and "Saturday" in (r.not_send_day or "")
    ws = set_config(ws, f"holidays: [{D.isoformat()}]")
    r = plan(ws, "onboarding", D)
    assert not r.send_day and "holiday" in (r.not_send_day or "")
    ws = set_config(ws, "holidays: []\njourneys: {send_days: [sat]}")
    assert plan(ws, "onboarding", saturday).send_day
    assert not plan(ws, "onboarding", D).send_day


# -- re-entry and after: -------------------------------------------------------------------------


def test_each_step_once_unless_reentry_days(one: Workspace) -> None:
    """A step goes once; with reentry_days R it goes again R days after, not a day sooner."""
    add_journey(one, "once", "  - {id: s, template: onboarding-welcome, when: 'true'}\n")
    add_journey(
        one, "again", "  - {id: s, template: onboarding-welcome, when: 'true'}\n", reentry_days=7
    )
    for name in ("once", "again"):
        assert sent(one, name, D) == [("s", "U1")]
    assert plan(one, "once", D + timedelta(days=300)).counts.already_sent == 1
    r = plan(one, "again", D + timedelta(days=6))
    assert due(r) == [] and r.counts.already_sent == 1
    send(one, "again", as_of=D + timedelta(days=7), now=NOW)
    with one.open_store() as store:
        rows = sends_db.rows(store.db, journey="again")
    assert [(r["cycle"], r["day"]) for r in rows] == [(0, D.isoformat()), (1, days(7))]
    assert rows[0]["key"] != rows[1]["key"]


def test_after_step_waits_its_days_within_catch_up(one: Workspace) -> None:
    """after: {step, days: 3} is due from 3 days after that step went out, for 7 days."""
    add_journey(
        one,
        "pair",
        "  - {id: first, template: onboarding-welcome, when: 'true'}\n"
        "  - {id: later, template: onboarding-day30, after: {step: first, days: 3}}\n",
    )
    assert sent(one, "pair", D) == [("first", "U1")]
    for offset, expected in [(2, False), (3, True), (9, True), (10, False)]:
        r = plan(one, "pair", D + timedelta(days=offset))
        assert (("later", "U1") in due(r)) is expected, offset


# -- frequency cap -----------------------------------------------------------------------------


def test_frequency_cap_counts_the_last_days_across_journeys(one: Workspace) -> None:
    """At most 2 in 7 days: mails 7 days back no longer count; transactional ones never do."""
    step = "  - {id: s, template: onboarding-welcome, when: 'true'}\n"
    for name in ("j1", "j2", "j3"):
        add_journey(one, name, step)
    add_journey(one, "receipt", step, category="transactional")
    send(one, "j1", as_of=D - timedelta(days=7), now=NOW)
    send(one, "j2", as_of=D - timedelta(days=6), now=NOW)
    capped = plan(one, "j3", D - timedelta(days=1))
    assert due(capped) == [] and capped.counts.capped == 1
    assert due(plan(one, "j3", D)) == [("s", "U1")]  # j1 has left the window
    assert sent(one, "receipt", D - timedelta(days=1)) == [("s", "U1")]
    assert plan(one, "j3", D).counts.capped == 0  # the receipt does not count


def test_no_cap_when_configured_off(one: Workspace) -> None:
    """frequency_cap: null lets every journey through."""
    one = set_config(
        one, "journeys: {frequency_cap: null, send_days: [mon, tue, wed, thu, fri, sat, sun]}"
    )
    step = "  - {id: s, template: onboarding-welcome, when: 'true'}\n"
    for name in ("j1", "j2", "j3"):
        add_journey(one, name, step)
        assert sent(one, name, D) == [("s", "U1")]


# -- suppression -------------------------------------------------------------------------------


def _events(ws: Workspace, rows: list[tuple[str, str]]) -> None:
    load(
        ws,
        "email_events",
        write_csv(
            ws.root / "events.csv",
            ["message_id", "event", "timestamp"],
            [[m, e, "2026-11-20T10:00:00Z"] for m, e in rows],
        ),
    )


def test_suppression_from_users_export_and_events(one: Workspace) -> None:
    """Unsubscribed users, bounces and complaints get nothing; unsubscribes are per category."""
    write_users(
        one,
        [
            user("U1", "A1", "Admin"),
            user("U2", "A1", "Admin", unsubscribed="true"),
            user("U3", "A1", "Admin"),
            user("U4", "A1", "Admin"),
            user("U5", "A1", "Admin"),
        ],
    )
    step = "  - {id: s, template: onboarding-welcome, when: 'true'}\n"
    add_journey(one, "tips", step, category="adoption")
    add_journey(one, "more-tips", step, category="adoption")
    add_journey(one, "survey", step, category="survey")
    add_journey(one, "receipt", step, category="transactional")
    first = sent(one, "tips", D - timedelta(days=10))
    assert {u for _, u in first} == {"U1", "U3", "U4", "U5"}
    with one.open_store() as store:
        mids = {r["user_id"]: r["message_id"] for r in sends_db.rows(store.db, journey="tips")}
    _events(one, [(mids["U3"], "bounce"), (mids["U4"], "complaint"), (mids["U5"], "unsubscribe")])
    assert {u for _, u in due(plan(one, "more-tips", D))} == {"U1"}  # same category
    assert {u for _, u in due(plan(one, "survey", D))} == {"U1", "U5"}  # other category
    receipt = plan(one, "receipt", D)  # transactional: unsubscribes do not count
    assert {u for _, u in due(receipt)} == {"U1", "U2", "U5"}
    assert receipt.counts.suppressed == 2


# -- holdout, variants, limit ----------------------------------------------------------------


def test_holdout_and_variants_are_stable_weighted_hashes() -> None:
    """About the holdout share is held out; variants follow the weights; both stable."""
    from cstool.journeys.definitions import Journey

    journey = Journey.model_validate(
        {
            "name": "ab",
            "category": "adoption",
            "audience": "true",
            "recipients": "true",
            "from": "csm",
            "holdout": "10%",
            "steps": [
                {
                    "id": "s",
                    "when": "true",
                    "variants": [{"template": "a", "weight": 3}, {"template": "b", "weight": 1}],
                }
            ],
        }
    )
    ids = [f"ACC-{i:05d}" for i in range(4000)]
    held = [a for a in ids if held_out(journey, a)]
    assert 0.085 < len(held) / len(ids) < 0.115
    assert held == [a for a in ids if held_out(journey, a)]
    variants = Counter(choose(journey, journey.steps[0], a) for a in ids)
    assert 0.72 < variants[("A", "a")] / len(ids) < 0.78
    assert set(variants) == {("A", "a"), ("B", "b")}


def test_one_account_sees_one_variant(ws: Workspace) -> None:
    """Every user of an account gets the same variant; the held-out account's users none."""
    ws = build(ws)
    write_users(
        ws,
        [user(f"U3{i}", "A3", "End User") for i in range(1, 6)]
        + [user("U61", "A6", "End User"), user("U52", "A5", "Admin")],
    )
    rows = [(days(-1), "A3", f"U3{i}", "dashboards") for i in range(1, 6)]
    rows += [(days(-1), "A6", "U61", "dashboards"), (days(-1), "A5", "U52", "dashboards")]
    write_usage(ws, rows)
    r = plan(ws, "feature-nudge", D)
    variants = {(row.account_id, row.variant) for row in r.rows}
    assert variants == {("A3", "B"), ("A5", "A")}
    assert r.counts.held_out == 1  # A6
    journey = next(
        d.model for d in load_journeys(ws.root / "journeys") if d.model.name == "feature-nudge"
    )
    assert held_out(journey, "A6") and not held_out(journey, "A3")


def test_limit_keeps_the_first_in_order(ws: Workspace) -> None:
    """--limit N sends the first N in (step, account, user) order and counts the rest."""
    ws = build(ws)
    r = plan(ws, "csm-out-of-office", D, limit=3)
    assert [u for _, u in due(r)] == ["U11", "U12", "U21"]
    assert r.counts.limited == 5 and r.counts.to_send == 3


def test_shipped_journeys_plan_on_the_test_company(ws: Workspace) -> None:
    """Each shipped journey finds the recipient the company was built for."""
    ws = build(ws)
    expected = {
        "onboarding": {("welcome", "U11"), ("welcome", "U12"), ("day30", "U21")},
        "feature-nudge": {("nudge", "U33"), ("nudge", "U52")},
        "renewal": {("notice-60", "U31")},
        "nps-survey": {("invite", "U31"), ("invite", "U32"), ("invite", "U33")},
        "power-user-inactive": {("check-in", "U51")},
    }
    for name, recipients in expected.items():
        assert set(due(plan(ws, name, D))) == recipients, name
    assert len(load_journeys(ws.root / "journeys")) == 6
