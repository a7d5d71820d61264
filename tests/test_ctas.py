"""CTAs: known answers for every shipped playbook, the plan and its application, identity,
cooldown and snooze at their boundaries, due dates in business days, and a CSM's actions."""

from __future__ import annotations

import csv
import email
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

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
from loading import load
from typer.testing import Result

from cstool import busdays, ctas, playbooks, timeline
from cstool.context import account_catalogue
from cstool.errors import InputError, NotFoundError
from cstool.store import ctas as ctas_db
from cstool.workspace import Workspace

Cli = Callable[..., Result]
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
G, L, Y, OR, R = "green", "lime", "yellow", "orange", "red"
BIG = {"segment": "Enterprise", "arr": 300000}  # high touch
MID = {"arr": 50000}  # low touch
# The bands of a healthy account, so that only the bands a case names can trigger a play.
HEALTHY = {"deployment": G, "depth": G, "breadth": G}

# Each case: account id, fields, bands on D, bands the week before (default: as on D), NPS
# answers (days before D, score), and the playbooks whose CTA opens on D.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None, list[Any], set[str]]]
CASES = [
    ("COACH", {**BIG, "renewal_date": days(91)}, {"depth": R}, None, [],
     {"adoption-coaching-leaders"}),
    ("COACH-90", {**BIG, "renewal_date": days(90)}, {"depth": R}, None, [],
     {"renewal-at-risk"}),
    ("REVIEW", BIG, {"breadth": L, "depth": OR}, None, [], {"adoption-review"}),
    ("DEPLOY", {**MID, "licenses_purchased": 20},
     {"deployment": 0.5, "deployment_band": R}, None, [], {"deployment-review"}),
    ("DEPLOY-4", {**MID, "licenses_purchased": 8},
     {"deployment": 0.5, "deployment_band": R}, None, [], set()),
    ("DETRACT", {}, {}, None, [(30, 6)], {"detractor-follow-up"}),
    ("DETRACT-31", {}, {}, None, [(31, 3)], set()),
    ("PASSIVE", {}, {}, None, [(5, 7)], set()),
    ("EXPAND", {**MID}, {"deployment": 0.95, "deployment_band": G, "breadth": Y}, None, [],
     {"expansion-opportunity"}),
    ("EXPAND-94", {**MID}, {"deployment": 0.94, "deployment_band": G, "breadth": Y}, None,
     [], set()),
    ("EXPAND-NPS", {**MID}, {"deployment": 0.97, "deployment_band": G}, None, [(60, 5)],
     set()),
    ("ROLLOUT", {**MID, "onboarding_date": days(-90)}, {"depth": L, "breadth": R}, None, [],
     {"feature-rollout"}),
    ("ROLLOUT-89", {**MID, "onboarding_date": days(-89)}, {"depth": L, "breadth": R}, None,
     [], set()),
    ("INSTANCE", {**MID, "onboarding_date": days(-365)}, {"depth": OR, "breadth": R}, None, [],
     {"instance-optimisation"}),
    ("OFFICE", {**MID}, {"depth": OR}, {"depth": Y}, [], {"office-hours"}),
    ("ONBOARD", {"lifecycle_stage": "Onboarding", "onboarding_date": days(-30)},
     {"deployment": 0.4, "deployment_band": R}, None, [], {"onboarding-milestones"}),
    ("ONBOARD-29", {"lifecycle_stage": "Onboarding", "onboarding_date": days(-29)},
     {"deployment": 0.4, "deployment_band": R}, None, [], set()),
    ("REFRESH", {**MID}, {"depth": R}, {"depth": Y}, [],
     {"process-training-refresh", "office-hours"}),
    ("RENEW", {**MID, "lifecycle_stage": "Renewing", "renewal_date": days(90)}, {"depth": OR},
     None, [], {"renewal-at-risk"}),
    ("RENEW-91", {**MID, "lifecycle_stage": "Renewing", "renewal_date": days(91)},
     {"depth": OR}, None, [], set()),
    ("RENEW-PAST", {**MID, "lifecycle_stage": "Renewing", "renewal_date": days(-1)},
     {"depth": OR}, None, [], set()),
    ("SIT", {**MID, "lifecycle_stage": "Adopting"}, {"deployment": Y, "depth": R}, None, [],
     {"sit-along"}),
    ("TECH", {}, {"depth": R}, {"depth": L}, [], {"tech-touch-turns-red"}),
    ("TECH-STAYS", {}, {"depth": R}, None, [], set()),
]  # fmt: skip


def build(ws: Workspace) -> Workspace:
    """The known-answer company: one account per case, two snapshots and NPS answers."""
    write_accounts(ws, [account(c[0], **c[1]) for c in CASES])
    now = {c[0]: {**HEALTHY, **c[2]} for c in CASES}
    for bands in now.values():  # a number given for a measure replaces its band
        for m in ("deployment", "depth", "breadth"):
            if isinstance(bands.get(m), float):
                bands.setdefault(f"{m}_band", None)
    before = {c[0]: {**now[c[0]], **(c[3] or {})} for c in CASES}
    snapshot(ws, WEEK_BEFORE, before)
    snapshot(ws, D, now)
    answers = [
        (f"R-{c[0]}-{i}", days(-ago), c[0], score)
        for c in CASES
        for i, (ago, score) in enumerate(c[4])
    ]
    write_nps(ws, answers)
    return ws


@pytest.fixture
def company(ws: Workspace) -> Workspace:
    return build(ws)


def generate(ws: Workspace, day: date = D, **kw: Any) -> ctas.Generated:
    with ws.open_store(write=True) as store:
        return ctas.generate(ws, store, as_of=day, now=NOW, **kw)


def state(ws: Workspace) -> dict[str, Any]:
    """Every CTA, task and event, as stored."""
    with ws.open_store() as store:
        db = store.db
        return {
            t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("ctas", "cta_tasks", "cta_events")
        }


def open_ctas(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    with ws.open_store() as store:
        return {(c["account_id"], c["playbook"]): c for c in ctas_db.current(store.db)}


def test_known_answers_for_every_shipped_playbook(company: Workspace) -> None:
    """Each case opens exactly its playbooks' CTAs, and every shipped playbook is covered."""
    done = generate(company)
    opened = {(i.account_id, i.playbook) for i in done.plan.of("open")}
    expected = {(c[0], p) for c in CASES for p in c[5]}
    assert opened == expected
    shipped = {p.stem for p in (company.root / "playbooks").glob("*.yaml")}
    assert {p for _, p in expected} == shipped
    assert set(open_ctas(company)) == expected
    assert done.applied and not done.scored


def test_an_opened_cta_has_its_reason_owner_due_dates_and_tasks(company: Workspace) -> None:
    """Due dates count business days from the as-of date (a Friday)."""
    generate(company)
    cta = open_ctas(company)[("RENEW", "renewal-at-risk")]
    assert cta["reason"] == "Renewal in 90 days; depth orange, breadth green"
    assert (cta["type"], cta["priority"], cta["owner"]) == ("risk", "high", "Priya Raman")
    assert (cta["opened_on"], cta["due_on"]) == ("2026-11-20", "2026-11-27")
    with company.open_store() as store:
        tasks = ctas_db.tasks(store.db, cta["cta_id"])
        events = ctas_db.events(store.db, cta["cta_id"])
    assert [(t["title"], t["due_on"], t["email_assist"]) for t in tasks] == [
        ("Review usage with the champion", "2026-11-24", "renewal-check-in"),
        ("Flag the risk and the renewal date to the account executive", "2026-11-24", None),
        ("Agree a success plan with the executive sponsor", "2026-11-27", None),
    ]
    assert [(e["kind"], e["date"], e["at"]) for e in events] == [
        ("opened", "2026-11-20", "2026-11-20T18:00:00+00:00")
    ]
    assert events[0]["text"] == "opened: " + cta["reason"]


def test_a_second_run_on_the_same_data_changes_nothing(company: Workspace) -> None:
    """Identity is (account, playbook): a re-run opens 0 and writes nothing."""
    first = generate(company)
    after_first = state(company)
    second = generate(company)
    assert second.plan.counts() == {
        "open": 0,
        "update": 0,
        "close": 0,
        "unchanged": len(first.plan.of("open")),
        "held": 0,
    }
    assert state(company) == after_first


def test_dry_run_writes_nothing_and_plans_what_apply_does(
    company: Workspace, db_snapshot: Callable[[Path], str]
) -> None:
    """A dry run's plan equals the applied plan, and the store then holds exactly it."""
    before = db_snapshot(company.db_path)
    dry = generate(company, dry_run=True)
    assert db_snapshot(company.db_path) == before and not dry.applied
    real = generate(company)
    assert real.plan.items == dry.plan.items
    stored = open_ctas(company)
    assert len(stored) == len(dry.plan.of("open"))
    for item in dry.plan.of("open"):
        cta = stored[(item.account_id, item.playbook)]
        assert (cta["reason"], cta["priority"], cta["type"], cta["owner"], cta["due_on"]) == (
            item.reason,
            item.priority,
            item.type,
            item.owner,
            item.due_on.isoformat() if item.due_on else None,
        )


D2 = D + timedelta(days=7)


def move_on(ws: Workspace) -> None:
    """A week later: RENEW's depth recovers, DETRACT's answer ages, COACH leaves the book."""
    rows = [account(c[0], **c[1]) for c in CASES if c[0] != "COACH"]
    write_accounts(ws, rows, name="a2.csv", mode="replace")
    bands = {c[0]: {**HEALTHY, **c[2]} for c in CASES if c[0] != "COACH"}
    for b in bands.values():
        for m in ("deployment", "depth", "breadth"):
            if isinstance(b.get(m), float):
                b.setdefault(f"{m}_band", None)
    bands["RENEW"] = dict(HEALTHY)
    bands["TECH"] = {**HEALTHY, "depth": R}
    snapshot(ws, D2, bands)


def test_update_and_close_a_week_later(company: Workspace) -> None:
    """close_when closes; a CTA with close_when stays open (its reason updated) when its
    condition no longer holds; an inactive account's CTA closes; dry run equals apply."""
    generate(company)
    move_on(company)
    dry = generate(company, D2, dry_run=True)
    real = generate(company, D2)
    assert real.plan.items == dry.plan.items
    closes = {(i.account_id, i.playbook): i.note for i in real.plan.of("close")}
    assert closes == {
        ("RENEW", "renewal-at-risk"): "close_when holds: (depth_band in ['green', 'lime', "
        "'yellow'] and breadth_band in ['green', 'lime', 'yellow']) or days_to_renewal is none "
        "or days_to_renewal > 120",
        ("COACH", "adoption-coaching-leaders"): "the account is not active",
        # TECH's depth is red as before, so the "turns red" condition no longer holds, but
        # close_when (no red band) does not hold either: it stays open.
    }
    updates = {(i.account_id, i.playbook): i for i in real.plan.of("update")}
    detract = updates[("DETRACT", "detractor-follow-up")]
    assert detract.changes == (("reason", "NPS 6 given 30 days ago", "NPS 6 given 37 days ago"),)
    assert ("TECH", "tech-touch-turns-red") not in closes
    stored = open_ctas(company)
    assert ("RENEW", "renewal-at-risk") not in stored
    assert stored[("DETRACT", "detractor-follow-up")]["reason"] == "NPS 6 given 37 days ago"
    with company.open_store() as store:
        closed = ctas.list_ctas(store, D2, status="closed")
    renew = next(c for c in closed if c["account_id"] == "RENEW")
    assert (renew["closed_on"], renew["close_reason"]) == (
        "2026-11-27",
        closes[renew["account_id"], "renewal-at-risk"],
    )


def test_without_close_when_a_cta_closes_when_its_condition_clears(company: Workspace) -> None:
    """A playbook without close_when closes its CTA once when (or audience) stops holding."""
    pb = company.root / "playbooks" / "renewal-at-risk.yaml"
    text = pb.read_text(encoding="utf-8")
    start = text.index("close_when:")
    end = text.index("reason:")
    pb.write_text(text[:start] + text[end:], encoding="utf-8")
    generate(company)
    move_on(company)
    plan = generate(company, D2).plan
    assert ("COACH-90", "renewal-at-risk") in {
        (i.account_id, i.playbook) for i in plan.of("unchanged")
    } | {(i.account_id, i.playbook) for i in plan.of("update")}
    closes = {(i.account_id, i.playbook): i.note for i in plan.of("close")}
    assert closes[("RENEW", "renewal-at-risk")] == "the condition no longer holds"


def _renew_again(ws: Workspace, day: date) -> None:
    """RENEW at risk again on ``day`` (depth orange, renewal still within 90 days)."""
    snapshot(ws, day, {"RENEW": {**HEALTHY, "depth": OR}})


@pytest.mark.parametrize(("after", "action"), [(29, "held"), (30, "open")])
def test_cooldown_holds_a_closed_cta_shut_until_its_last_day(
    company: Workspace, after: int, action: str
) -> None:
    """renewal-at-risk cools down 30 days: closed on D2, held on D2 + 29, opens on D2 + 30."""
    generate(company)
    move_on(company)
    generate(company, D2)
    day = D2 + timedelta(days=after)
    _renew_again(company, day)
    plan = generate(company, day, playbook="renewal-at-risk").plan
    (item,) = [i for i in plan.items if i.account_id == "RENEW"]
    assert item.action == action
    if action == "held":
        assert item.note == "cooling down; may reopen on 2026-12-27 (closed on 2026-11-27)"


def test_a_manual_close_also_cools_down(company: Workspace) -> None:
    """A CTA a CSM closes does not reopen the next day, but after its cooldown."""
    generate(company)
    cta = open_ctas(company)[("RENEW", "renewal-at-risk")]
    with company.open_store(write=True) as store:
        ctas.close(store, cta["cta_id"], "Renewal signed early", as_of=D, now=NOW)
    _renew_again(company, D + timedelta(days=1))
    plan = generate(company, D + timedelta(days=1), playbook="renewal-at-risk").plan
    assert [i.action for i in plan.items if i.account_id == "RENEW"] == ["held"]


@pytest.mark.parametrize(
    ("after", "action", "status"), [(6, "held", "snoozed"), (7, "update", "open")]
)
def test_snooze_holds_until_its_date(
    company: Workspace, after: int, action: str, status: str
) -> None:
    """Snoozed until D + 7: still held on D + 6, open again (an update) on D + 7."""
    generate(company)
    cta = open_ctas(company)[("RENEW", "renewal-at-risk")]
    until = D + timedelta(days=7)
    with company.open_store(write=True) as store:
        ctas.snooze(store, cta["cta_id"], until, "Customer on holiday", as_of=D, now=NOW)
    day = D + timedelta(days=after)
    _renew_again(company, day)
    plan = generate(company, day, playbook="renewal-at-risk").plan
    (item,) = [i for i in plan.items if i.account_id == "RENEW"]
    assert item.action == action
    with company.open_store() as store:
        stored = ctas_db.get(store.db, cta["cta_id"])
        listed = ctas.list_ctas(store, day, status=status)
    assert stored is not None and stored["status"] == status
    assert cta["cta_id"] in [c["cta_id"] for c in listed]
    if action == "update":
        assert item.note.endswith("snooze ended")
        assert stored["snoozed_until"] is None


def test_a_snoozed_cta_still_closes_when_its_condition_clears(company: Workspace) -> None:
    """Snooze holds a CTA shut, not open: close_when still closes it."""
    generate(company)
    cta = open_ctas(company)[("RENEW", "renewal-at-risk")]
    with company.open_store(write=True) as store:
        ctas.snooze(store, cta["cta_id"], D + timedelta(days=30), "Later", as_of=D, now=NOW)
    move_on(company)
    plan = generate(company, D2, playbook="renewal-at-risk").plan
    assert [i.action for i in plan.items if i.account_id == "RENEW"] == ["close"]


def test_the_plan_counts_accounts_with_missing_values(ws: Workspace) -> None:
    """A condition false because of a missing value is counted, not a crash."""
    write_accounts(ws, [account("A1", renewal_date=None), account("A2")])
    snapshot(ws, D, {"A1": {"depth": R}, "A2": {"depth": R}})
    pb = ws.root / "playbooks"
    for f in pb.glob("*.yaml"):
        f.unlink()
    (pb / "p.yaml").write_text(
        'name: p\ntype: risk\npriority: low\nwhen: "days_to_renewal <= 400"\n'
        "reason: r\ndue_in: 1\n",
        encoding="utf-8",
    )
    plan = generate(ws, dry_run=True).plan
    assert [i.account_id for i in plan.of("open")] == ["A2"]
    assert (plan.missing, plan.missing_by_playbook) == (1, {"p": 1})


def test_due_dates_skip_weekends_holidays_and_the_year_end(company: Workspace) -> None:
    """From Thursday 24 December, 5 business days with 25 Dec and 1 Jan off is 4 January."""
    ws = set_config(company, "holidays: [2026-12-25, 2027-01-01]\n")
    day = date(2026, 12, 24)
    snapshot(ws, day, {"RENEW": {**HEALTHY, "depth": OR}})
    plan = generate(ws, day, playbook="renewal-at-risk", dry_run=True).plan
    (item,) = plan.of("open")
    assert item.due_on == date(2027, 1, 4)
    assert [t.due_on for t in item.tasks] == [date(2026, 12, 29)] * 2 + [date(2027, 1, 4)]


def test_moving_the_due_date_moves_open_tasks_by_business_days(company: Workspace) -> None:
    """With 26 Nov off, a CTA opened on Friday 20 Nov is due Monday 30 Nov; moved to
    Thursday 3 Dec (+3 business days), its open tasks move +3 business days, skipping the
    holiday; a done task stays."""
    ws = set_config(company, "holidays: [2026-11-26]\n")
    generate(ws)
    cta = open_ctas(ws)[("RENEW", "renewal-at-risk")]
    calendar = busdays.Calendar.from_config(ws.resolved.config)
    with ws.open_store(write=True) as store:
        ctas.finish_task(store, cta["cta_id"], 2, as_of=D, now=NOW)
        moved = ctas.move_due(store, calendar, cta["cta_id"], date(2026, 12, 3), as_of=D, now=NOW)
        tasks = ctas_db.tasks(store.db, cta["cta_id"])
        events = ctas_db.events(store.db, cta["cta_id"])
    assert (moved.old, moved.business_days) == (date(2026, 11, 30), 3)
    # 24 Nov + 3 business days: 25, (26 is a holiday) 27, 30 Nov.
    assert [(t["due_on"], t["done_on"]) for t in tasks] == [
        ("2026-11-30", None),
        ("2026-11-24", "2026-11-20"),
        ("2026-12-03", None),
    ]
    assert [e["kind"] for e in events] == ["opened", "task_done", "due_moved"]
    assert events[-1]["text"] == (
        "due date moved from 2026-11-30 to 2026-12-03 (+3 business days, 2 open tasks moved)"
    )


def test_a_due_date_on_a_weekend_rolls_forward(company: Workspace) -> None:
    """A new due date on a Saturday becomes the Monday; moving earlier moves tasks earlier."""
    generate(company)
    cta = open_ctas(company)[("RENEW", "renewal-at-risk")]
    calendar = busdays.Calendar.from_config(company.resolved.config)
    with company.open_store(write=True) as store:
        moved = ctas.move_due(store, calendar, cta["cta_id"], date(2026, 11, 28), as_of=D, now=NOW)
        tasks = ctas_db.tasks(store.db, cta["cta_id"])
    assert (moved.new, moved.business_days) == (date(2026, 11, 30), 1)
    assert [t["due_on"] for t in tasks] == ["2026-11-25", "2026-11-25", "2026-11-30"]
    with company.open_store(write=True) as store:
        back = ctas.move_due(store, calendar, cta["cta_id"], date(2026, 11, 25), as_of=D, now=NOW)
        tasks = ctas_db.tasks(store.db, cta["cta_id"])
    assert back.business_days == -3
    assert [t["due_on"] for t in tasks] == ["2026-11-20", "2026-11-20", "2026-11-25"]


def test_actions_on_a_closed_or_unknown_cta_are_refused(company: Workspace) -> None:
    """Closing twice, snoozing into the past and unknown ids or tasks are input errors."""
    generate(company)
    cta_id = open_ctas(company)[("RENEW", "renewal-at-risk")]["cta_id"]
    with company.open_store(write=True) as store:
        with pytest.raises(InputError, match="is not after 2026-11-20"):
            ctas.snooze(store, cta_id, D, "x", as_of=D, now=NOW)
        with pytest.raises(NotFoundError, match="CTA 1 has no task 9"):
            ctas.finish_task(store, 1, 9, as_of=D, now=NOW)
        ctas.finish_task(store, cta_id, 1, as_of=D, now=NOW)
        with pytest.raises(InputError, match=r"task 1 of CTA \d+ was done on 2026-11-20"):
            ctas.finish_task(store, cta_id, 1, as_of=D, now=NOW)
        ctas.close(store, cta_id, "Done", as_of=D, now=NOW)
        with pytest.raises(InputError, match=r"was closed on 2026-11-20 \(Done\)"):
            ctas.close(store, cta_id, "Again", as_of=D, now=NOW)
        with pytest.raises(NotFoundError, match="no CTA with id 999"):
            ctas.close(store, 999, "x", as_of=D, now=NOW)


# -- the commands ------------------------------------------------------------------------------


def run(cli: Cli, ws: Workspace, *args: str, **kw: Any) -> Result:
    return cli("--workspace", str(ws.root), *args, **kw)


def test_cta_generate_cli(company: Workspace, cli: Cli) -> None:
    """generate prints the plan per playbook and a one-line summary; CSV lists the items."""
    dry = run(cli, company, "cta", "generate", "--as-of", "2026-11-20", "--dry-run", "-f", "csv")
    assert dry.exit_code == 0, dry.stderr
    rows = list(csv.DictReader(io.StringIO(dry.stdout)))
    assert list(rows[0]) == list(ctas.PLAN_COLUMNS)
    assert len(rows) == sum(len(c[5]) for c in CASES)
    assert dry.stderr.startswith("Dry run: would open 15, update 0, close 0 CTAs on 2026-11-20")
    assert dry.stderr.rstrip().endswith("nothing written")
    result = run(cli, company, "cta", "generate", "--limit", "2")
    assert result.exit_code == 0
    assert "CTA plan on 2026-11-20 (24 accounts)" in result.stdout
    assert "... and 13 more (--limit 0 shows all)" in result.stdout
    assert result.stderr == (
        "opened 15, updated 0, closed 0 CTAs on 2026-11-20; 0 unchanged, 0 held (cooldown "
        "or snooze)\n"
    )


def test_cta_list_csv_columns_and_filters(company: Workspace, cli: Cli) -> None:
    """The CSV columns are exactly the documented ones; filters match in any case."""
    generate(company)
    result = run(cli, company, "cta", "list", "--as-of", "2026-11-20", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "cta_id,account_id,account_name,playbook,type,priority,status,owner,reason,opened_on,"
        "due_on,closed_on,close_reason,tasks_open"
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 15
    renew = next(r for r in rows if r["account_id"] == "RENEW")
    assert renew["account_name"] == "RENEW Inc" and renew["tasks_open"] == "3"
    risk = run(cli, company, "cta", "list", "--type", "RISK", "--csm", "priya raman", "-f", "json")
    assert {r["playbook"] for r in json.loads(risk.stdout)} == {
        "renewal-at-risk",
        "detractor-follow-up",
        "tech-touch-turns-red",
    }
    overdue = run(cli, company, "cta", "list", "--overdue", "--as-of", "2026-11-30", "-f", "json")
    assert {r["due_on"] for r in json.loads(overdue.stdout)} == {"2026-11-27"}
    none = run(cli, company, "cta", "list", "--overdue", "--as-of", "2026-11-27")
    assert none.exit_code == 0 and "No CTAs match" in none.stderr
    bad = run(cli, company, "cta", "list", "--status", "pending")
    assert bad.exit_code == 2
    assert "--status 'pending' is not one of open, snoozed, closed" in bad.stderr


def test_cta_actions_cli(company: Workspace, cli: Cli) -> None:
    """show, task done, due, snooze and close, each recorded as an event; unknown id exit 1."""
    generate(company)
    cta_id = str(open_ctas(company)[("RENEW", "renewal-at-risk")]["cta_id"])
    on = ("--as-of", "2026-11-20")
    assert run(cli, company, "cta", "task", "done", cta_id, "1", *on).exit_code == 0
    moved = run(cli, company, "cta", "due", cta_id, "2026-12-01", *on)
    assert moved.stderr == (
        f"CTA {cta_id} is due 2026-12-01 (was 2026-11-27, +2 business days); 2 open tasks moved\n"
    )
    snoozed = run(cli, company, "cta", "snooze", cta_id, "--until", "2026-11-25", "--reason",
                  "Away", *on)  # fmt: skip
    assert snoozed.exit_code == 0 and snoozed.stderr == f"Snoozed CTA {cta_id} until 2026-11-25\n"
    closed = run(cli, company, "cta", "close", cta_id, "--reason", "Signed", *on)
    assert closed.stderr == f"Closed CTA {cta_id} (renewal-at-risk) on 2026-11-20\n"
    shown = run(cli, company, "cta", "show", cta_id, "-f", "json")
    data = json.loads(shown.stdout)
    assert [e["kind"] for e in data["events"]] == [
        "opened",
        "task_done",
        "due_moved",
        "snoozed",
        "closed",
    ]
    assert data["status"] == "closed" and data["close_reason"] == "Signed"
    table = run(cli, company, "cta", "show", cta_id)
    assert f"CTA {cta_id} renewal-at-risk (risk, high) for RENEW Inc" in table.stdout
    for args in (("show", "999"), ("close", "999", "--reason", "x"), ("task", "done", "999", "1")):
        result = run(cli, company, "cta", *args)
        assert result.exit_code == 1, args
        assert "no CTA with id 999" in result.stderr
    bad_date = run(cli, company, "cta", "due", cta_id, "tomorrow")
    assert bad_date.exit_code == 1 and "is not a date" in bad_date.stderr


def test_cta_events_for_the_timeline(company: Workspace) -> None:
    """cta_events gives an account's CTA events with their dates, playbook and text."""
    generate(company)
    move_on(company)
    generate(company, D2)
    with company.open_store() as store:
        events = ctas_db.cta_events(store.db, "RENEW")
        later = ctas_db.cta_events(store.db, "RENEW", since=D2)
    assert [(e["date"], e["kind"], e["playbook"]) for e in events] == [
        ("2026-11-20", "opened", "renewal-at-risk"),
        ("2026-11-27", "closed", "renewal-at-risk"),
    ]
    assert len(later) == 1 and later[0]["text"].startswith("closed: close_when holds")
    with company.open_store() as store:
        merged = timeline.timeline(store, "RENEW", types=["cta"])
    cta_id = events[0]["cta_id"]
    assert [(str(e.date), e.source, e.text[:40]) for e in merged.entries] == [
        ("2026-11-27", "ctas", f"CTA {cta_id} renewal-at-risk closed: close_when h"[:40]),
        ("2026-11-20", "ctas", f"CTA {cta_id} renewal-at-risk opened: Renewal in 90"[:40]),
    ]


# -- email assists -----------------------------------------------------------------------------


@pytest.fixture
def with_users(company: Workspace) -> Workspace:
    write_users(
        company,
        [
            {"user_id": "U1", "account_id": "RENEW", "email": "ana@renew.example",
             "first_name": "Ana", "last_name": "Lopez", "role": "Admin"},
            {"user_id": "U2", "account_id": "RENEW", "email": "bo@renew.example",
             "first_name": "Bo", "role": "Executive Sponsor"},
            {"user_id": "U3", "account_id": "RENEW", "email": "cy@renew.example",
             "role": "End User"},
            {"user_id": "U4", "account_id": "SIT", "email": "di@sit.example", "role": "Admin"},
        ],
    )  # fmt: skip
    return set_config(
        company, "csms: [{name: Priya Raman, email: priya@acme.example, title: CSM}]\n"
    )


def test_cta_assist_writes_drafts_for_the_contacts(with_users: Workspace, cli: Cli) -> None:
    """The sponsor and the admin get a draft each, named from ids, from the CSM, unsent."""
    generate(with_users)
    cta_id = open_ctas(with_users)[("RENEW", "renewal-at-risk")]["cta_id"]
    result = run(cli, with_users, "cta", "assist", str(cta_id), "1", "--as-of", "2026-11-20")
    assert result.exit_code == 0, result.stderr
    folder = with_users.root / "outbox" / "assist"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"cta-{cta_id}-task-1-1.eml", f"cta-{cta_id}-task-1-2.eml"]
    assert result.stdout.splitlines() == [f"outbox/assist/{n}" for n in names]
    first = email.message_from_bytes((folder / names[0]).read_bytes(), policy=policy.default)
    assert first["To"] == "Bo <bo@renew.example>"  # the sponsor first, then the admin
    assert first["From"] == "Priya Raman <priya@acme.example>"
    assert first["X-Unsent"] == "1"
    assert first["Subject"] == "RENEW Inc and Acme: a usage review before your renewal"
    text = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    text = text.replace("\r\n", "\n")
    assert text.startswith("Hi Bo,") and "Best regards,\nPriya Raman\nCSM, Acme\n" in text
    again = run(cli, with_users, "cta", "assist", str(cta_id), "1", "--as-of", "2026-11-20")
    assert "Skipped U2: " in again.stderr and "already written (--force)" in again.stderr
    forced = run(cli, with_users, "cta", "assist", str(cta_id), "1", "--force", "--user", "U3")
    assert forced.exit_code == 0
    assert forced.stdout.strip() == f"outbox/assist/cta-{cta_id}-task-1-1.eml"
    assert not list(folder.glob(".*"))  # no temporary files left


def test_cta_assist_refuses_what_it_cannot_write(with_users: Workspace, cli: Cli) -> None:
    """A task without an assist, a user of another account and an unknown task: exit 1."""
    generate(with_users)
    cta_id = str(open_ctas(with_users)[("RENEW", "renewal-at-risk")]["cta_id"])
    no_assist = run(cli, with_users, "cta", "assist", cta_id, "2")
    assert no_assist.exit_code == 1 and "has no email assist" in no_assist.stderr
    other = run(cli, with_users, "cta", "assist", cta_id, "1", "--user", "U4")
    assert other.exit_code == 1 and "U4 is not a user of account RENEW" in other.stderr
    unknown = run(cli, with_users, "cta", "assist", cta_id, "7")
    assert unknown.exit_code == 1 and f"CTA {cta_id} has no task 7" in unknown.stderr
    assert not (with_users.root / "outbox" / "assist").exists()


def test_assist_file_names_come_from_ids_only(with_users: Workspace) -> None:
    """A user id full of path characters never reaches a file name."""
    write_users(
        with_users,
        [{"user_id": "../../evil", "account_id": "RENEW", "email": "e@renew.example",
          "role": "Admin"}],
    )  # fmt: skip
    generate(with_users)
    cta_id = open_ctas(with_users)[("RENEW", "renewal-at-risk")]["cta_id"]
    with with_users.open_store() as store:
        result = ctas.write_assist(
            with_users, store, cta_id, 1, as_of=D, now=NOW, to=["../../evil"]
        )
    (path,) = result.written
    assert path.parent == with_users.root / "outbox" / "assist"
    assert re.fullmatch(r"cta-\d+-task-1-1\.eml", path.name)


# -- fixes from a new user's trial ---------------------------------------------------------


def test_cta_list_as_of_shows_each_cta_as_it_was_that_day(company: Workspace, cli: Cli) -> None:
    """A CTA opened after the date is left out; the status, closing, reason, due date and
    open tasks are those of that day, read back from the events."""
    generate(company)
    renew = open_ctas(company)[("RENEW", "renewal-at-risk")]["cta_id"]
    sit = open_ctas(company)[("SIT", "sit-along")]["cta_id"]
    calendar = busdays.Calendar.from_config(company.resolved.config)
    move_on(company)
    generate(company, D2)  # closes RENEW's CTA, updates DETRACT's reason
    with company.open_store(write=True) as store:
        ctas.snooze(store, sit, D2 + timedelta(days=7), "Away", as_of=D2, now=NOW)
        ctas.finish_task(store, sit, 1, as_of=D2, now=NOW)
        ctas.move_due(store, calendar, sit, date(2026, 12, 11), as_of=D2, now=NOW)
    with company.open_store() as store:
        before = ctas.list_ctas(store, D - timedelta(days=1))
        on_d = {c["cta_id"]: c for c in ctas.list_ctas(store, D)}
        on_d2 = {c["cta_id"]: c for c in ctas.list_ctas(store, D2)}
        closed_on_d = ctas.list_ctas(store, D, status="closed")
    assert before == []
    assert len(on_d) == 15 and closed_on_d == []
    assert (on_d[renew]["status"], on_d[renew]["closed_on"], on_d[renew]["close_reason"]) == (
        "open",
        None,
        None,
    )
    assert on_d2[renew]["status"] == "closed" and on_d2[renew]["closed_on"] == "2026-11-27"
    assert on_d2[renew]["close_reason"].startswith("close_when holds")
    detract = next(c for c in on_d.values() if c["account_id"] == "DETRACT")
    assert detract["reason"] == "NPS 6 given 30 days ago"
    assert on_d2[detract["cta_id"]]["reason"] == "NPS 6 given 37 days ago"
    assert (on_d[sit]["status"], on_d[sit]["due_on"], on_d[sit]["tasks_open"]) == (
        "open",
        "2026-12-04",
        3,
    )
    assert (on_d2[sit]["status"], on_d2[sit]["due_on"], on_d2[sit]["tasks_open"]) == (
        "snoozed",
        "2026-12-11",
        2,
    )
    result = run(cli, company, "cta", "list", "--as-of", "2026-11-20", "-f", "json")
    listed = {r["cta_id"]: r for r in json.loads(result.stdout)}
    assert listed[renew]["status"] == "open" and listed[renew]["closed_on"] is None
    early = run(cli, company, "cta", "list", "--as-of", "2026-11-19")
    assert early.exit_code == 0 and "No CTAs match" in early.stderr


def test_csm_filter_matches_any_case_beyond_ascii(ws: Workspace, cli: Cli) -> None:
    """--csm "TOMÁS HERRERA" finds Tomás Herrera's CTAs (casefold, not ASCII lower)."""
    write_accounts(ws, [account("T1", csm="Tomás Herrera"), account("P1")])
    snapshot(ws, D, {"T1": {"depth": R}, "P1": {"depth": R}})
    snapshot(ws, WEEK_BEFORE, {"T1": {"depth": L}, "P1": {"depth": L}})
    generate(ws)
    result = run(cli, ws, "cta", "list", "--csm", "TOMÁS HERRERA", "--as-of", "2026-11-20",
                 "-f", "csv")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["account_id"] for r in rows} == {"T1"}
    assert {r["owner"] for r in rows} == {"Tomás Herrera"}


def test_a_due_date_before_the_opening_or_the_as_of_date_is_refused(
    company: Workspace, cli: Cli, db_snapshot: Callable[[Path], str]
) -> None:
    """cta due to a day before the CTA was opened, or before --as-of: exit 1, nothing moved."""
    generate(company)
    cta_id = str(open_ctas(company)[("RENEW", "renewal-at-risk")]["cta_id"])
    before = db_snapshot(company.db_path)
    early = run(cli, company, "cta", "due", cta_id, "2026-11-19", "--as-of", "2026-11-20")
    assert early.exit_code == 1
    assert early.stderr.startswith(
        f"Error: 2026-11-19 is before 2026-11-20: CTA {cta_id} was opened on 2026-11-20"
    )
    past = run(cli, company, "cta", "due", cta_id, "2026-11-24", "--as-of", "2026-11-25")
    assert past.exit_code == 1 and "2026-11-24 is before 2026-11-25" in past.stderr
    assert db_snapshot(company.db_path) == before
    ok = run(cli, company, "cta", "due", cta_id, "2026-11-20", "--as-of", "2026-11-20")
    assert ok.exit_code == 0, ok.stderr


def test_warnings_for_a_cta_without_owner_and_a_csm_without_address(
    ws: Workspace, cli: Cli
) -> None:
    """generate warns (and counts) when an account has no CSM; assist warns when the CSM is
    not listed under csms: and the draft falls back to the sender address."""
    write_accounts(ws, [account("NOCSM", csm=None), account("A1", csm="Jo Park")])
    snapshot(ws, WEEK_BEFORE, {"NOCSM": {"depth": L}, "A1": {"depth": L}})
    snapshot(ws, D, {"NOCSM": {"depth": R}, "A1": {"depth": R}})
    result = run(cli, ws, "cta", "generate", "--playbook", "tech-touch-turns-red")
    assert result.exit_code == 0, result.stderr
    assert (
        "Warning: 1 CTA has no owner: the account has no csm (NOCSM); fill in csm in the "
        "accounts export"
    ) in result.stderr
    assert result.stderr.rstrip().endswith("held (cooldown or snooze); 1 warning")
    write_users(ws, [{"user_id": "U1", "account_id": "A1", "email": "u1@a1.example",
                      "role": "Admin"}])  # fmt: skip
    cta_id = open_ctas(ws)[("A1", "tech-touch-turns-red")]["cta_id"]
    assisted = run(cli, ws, "cta", "assist", str(cta_id), "2")
    assert assisted.exit_code == 0, assisted.stderr
    assert "Warning: the CSM 'Jo Park' is not listed with an email under csms:" in (
        assisted.stderr.replace("\n", " ")
    )


def test_assist_defaults_to_the_snapshot_date_not_today(with_users: Workspace, cli: Cli) -> None:
    """Without --as-of the draft's numbers are those of the latest snapshot (the CTA's
    date), and a date after the latest usage is a warning, as in score."""
    write_usage(
        with_users,
        [(days(-1), "RENEW", "U1", "reports"), (days(0), "RENEW", "U2", "reports")],
    )
    generate(with_users)
    cta_id = str(open_ctas(with_users)[("RENEW", "renewal-at-risk")]["cta_id"])
    result = run(cli, with_users, "cta", "assist", cta_id, "1")
    assert result.exit_code == 0, result.stderr
    assert "with the numbers of 2026-11-20" in result.stderr
    text = (with_users.root / "outbox" / "assist" / f"cta-{cta_id}-task-1-1.eml").read_text()
    assert "2 people active in the last week" in text
    late = run(cli, with_users, "cta", "assist", cta_id, "1", "--force", "--as-of", "2026-11-25")
    assert "Warning: 2026-11-25 is 5 days after the latest usage loaded (2026-11-20)" in (
        late.stderr.replace("\n", " ")
    )


def test_the_detractor_assist_goes_to_the_detractor(with_users: Workspace, cli: Cli) -> None:
    """The detractor follow-up is written for the users whose latest answer in the last 30
    days is 0-6 (the task's recipients), not for the sponsor; --user still overrides."""
    write_users(
        with_users,
        [
            {"user_id": "X1", "account_id": "DETRACT", "email": "x1@d.example", "role": "Admin",
             "first_name": "Xi"},
            {"user_id": "X2", "account_id": "DETRACT", "email": "x2@d.example",
             "role": "End User", "first_name": "Yan"},
            {"user_id": "X3", "account_id": "DETRACT", "email": "x3@d.example",
             "role": "End User"},
            {"user_id": "X4", "account_id": "DETRACT", "email": "x4@d.example",
             "role": "Executive Sponsor"},
        ],
    )  # fmt: skip
    path = with_users.root / "nps2.csv"
    path.write_text(
        "response_id,date,user_id,account_id,score\n"
        f"R-X3-old,{days(-25)},X3,DETRACT,2\n"
        f"R-X3-new,{days(-10)},X3,DETRACT,9\n"  # X3's latest answer is a promoter's
        f"R-X4,{days(-45)},X4,DETRACT,1\n"  # too old
        f"R-X2,{days(-5)},X2,DETRACT,5\n",  # the detractor behind the CTA
        encoding="utf-8",
    )
    load(with_users, "nps", path)
    generate(with_users)
    cta = open_ctas(with_users)[("DETRACT", "detractor-follow-up")]
    result = run(cli, with_users, "cta", "assist", str(cta["cta_id"]), "2")
    assert result.exit_code == 0, result.stderr
    folder = with_users.root / "outbox" / "assist"
    (only,) = sorted(folder.iterdir())
    draft = email.message_from_bytes(only.read_bytes(), policy=policy.default)
    assert draft["To"] == "Yan <x2@d.example>"
    chosen = run(cli, with_users, "cta", "assist", str(cta["cta_id"]), "2", "--user", "X1",
                 "--force")  # fmt: skip
    assert chosen.exit_code == 0 and chosen.stdout.strip().endswith("-1.eml")
    draft = email.message_from_bytes(only.read_bytes(), policy=policy.default)
    assert draft["To"] == "Xi <x1@d.example>"


def test_plan_json_note_timeline_reason_and_plurals(company: Workspace, cli: Cli) -> None:
    """An item without a note is null in JSON; an update event says the new reason; one
    day is "1 day"; a lower-case holiday_country is accepted."""
    dry = run(cli, company, "cta", "generate", "--dry-run", "-f", "json")
    assert {i["note"] for i in json.loads(dry.stdout) if i["action"] == "open"} == {None}
    generate(company)
    move_on(company)
    generate(company, D2)
    with company.open_store() as store:
        events = ctas_db.cta_events(store.db, "DETRACT")
    assert events[-1]["text"] == 'updated: reason now "NPS 6 given 37 days ago"'
    ws = set_config(company, "holiday_country: us\n")
    assert ws.resolved.config.holiday_country == "US"
    with ws.open_store() as store:
        (d,) = [
            d
            for d in playbooks.load(ws, account_catalogue(store))
            if d.model.name == "detractor-follow-up"
        ]
    assert d.model.render_reason({"nps": 3, "nps_days": 1}) == "NPS 3 given 1 day ago"
    assert d.model.render_reason({"nps": None, "nps_days": None}) == "NPS n/a given n/a days ago"


def test_tables_keep_account_ids_whole_at_80_columns(company: Workspace, cli: Cli) -> None:
    """At 80 columns the plan's change table and cta list show every account id whole."""
    narrow = {"COLUMNS": "80"}
    plan = run(cli, company, "cta", "generate", "--limit", "0", env=narrow)
    assert plan.exit_code == 0, plan.stderr
    ids = {c[0] for c in CASES if c[5]}
    lines = plan.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    shown = {cell.strip() for line in lines for cell in line.split("│")}
    assert ids <= shown
    listed = run(cli, company, "cta", "list", "--as-of", "2026-11-20", env=narrow)
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert ids <= {cell.strip() for line in lines for cell in line.split("│")}
