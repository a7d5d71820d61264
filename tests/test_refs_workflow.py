"""The reference request workflow: the seven steps as a state machine, the CTA that carries a
request, the emails it writes into the outbox, and what recording changes elsewhere."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cta_data import (
    write_users,
)
from refs_data import OPP, flow_book, opportunity, user, write_opportunities

from cstool import timeline
from cstool.errors import InputError, NotFoundError, UsageError
from cstool.refs import workflow as wf
from cstool.refs.find import Criteria, find
from cstool.store import ctas as ctas_db
from cstool.store import refs as refs_db
from cstool.templating import EmailTemplates
from cstool.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday after D
NEEDED = date(2026, 12, 11)


@pytest.fixture
def flow_ws(ws: Workspace) -> Workspace:
    """Three eligible Healthcare accounts (H1 best), their VP advocates, usage and OPP-1."""
    return flow_book(ws)


def templates(ws: Workspace) -> EmailTemplates:
    return EmailTemplates(ws.root / "email_templates", name="email_templates")


def new_request(ws: Workspace, now: datetime = NOW, **fields: Any) -> wf.StepDone:
    args: dict[str, Any] = {
        "opportunity_id": OPP,
        "level": "vp",
        "count": 2,
        "topics": "Rollout to 40 clinics",
        "needed_by": NEEDED,
    }
    args.update(fields)
    with ws.open_store(write=True) as store:
        return wf.request(
            store, ws.resolved, templates(ws), ws.outbox, wf.NewRequest(**args), now=now
        )


def later(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


# What each step's command needs, for a request that went the usual way (H1, U11).
def do(
    ws: Workspace, command: str, rid: str, now: datetime, account: str = "H1", contact: str = "U11"
) -> wf.StepDone:
    """Run one workflow command with valid arguments."""
    with ws.open_store(write=True) as store:
        if command == "propose":
            return wf.propose(store, ws.resolved, rid, now=now)
        if command == "contact":
            return wf.contact(store, ws.resolved, templates(ws), ws.outbox, rid, account, now=now)
        if command == "connect":
            return wf.connect(store, rid, account, now=now)
        if command == "occurred":
            return wf.occurred(store, rid, day=now.date(), user_id=contact, now=now)
        if command == "confirm":
            return wf.confirm(store, ws.resolved, rid, now=now)
        return wf.record(store, rid, now=now)


COMMANDS = [s.command for s in wf.STEPS[1:]]


def advance_to(ws: Workspace, at: int, account: str = "H1", contact: str = "U11") -> str:
    """Open a request and move it to step ``at``, one step an hour; return its id."""
    rid = new_request(ws).request_id
    for n, command in enumerate(COMMANDS[: at - 1], start=1):
        do(ws, command, rid, later(n), account, contact)
    return rid


# -- the state machine ------------------------------------------------------------------------


@pytest.mark.parametrize("at", range(1, 8))
def test_only_the_next_step_moves_a_request(
    flow_ws: Workspace, at: int, db_snapshot: Callable[[Path], str]
) -> None:
    """At each step every other command is refused, naming the step, and changes nothing;
    the next command moves the request on by exactly one step."""
    rid = advance_to(flow_ws, at)
    before = db_snapshot(flow_ws.db_path)
    for command in COMMANDS:
        if at < 7 and command == COMMANDS[at - 1]:
            continue
        with pytest.raises(InputError) as e:
            do(flow_ws, command, rid, later(10))
        assert f"{rid} is at step {at} of 7 ({wf.step(at).name}" in e.value.message
        assert db_snapshot(flow_ws.db_path) == before
    if at < 7:
        done = do(flow_ws, COMMANDS[at - 1], rid, later(10))
        assert done.step.number == at + 1
        with flow_ws.open_store() as store:
            assert refs_db.get(store.db, rid)["step"] == at + 1  # type: ignore[index]


def test_a_repeated_step_says_it_is_done_and_what_is_next(flow_ws: Workspace) -> None:
    """Proposing twice: the message says step 2 is done, the hint gives the contact command."""
    rid = advance_to(flow_ws, 2)
    with pytest.raises(InputError) as e:
        do(flow_ws, "propose", rid, later(5))
    assert e.value.message == (
        f"{rid} is at step 2 of 7 (proposed: candidates proposed, CSM aligned): "
        "step 2 (proposed) is already done"
    )
    assert (
        e.value.hint
        == f"the next step is 3 (contacted, by the CSM): cstool refs contact {rid} ACCOUNT"
    )


def test_every_step_is_timestamped_and_the_cta_follows(flow_ws: Workspace) -> None:
    """Seven step rows an hour apart; the CTA's six tasks are done and it is closed."""
    rid = advance_to(flow_ws, 7)
    with flow_ws.open_store() as store:
        steps = refs_db.steps(store.db, [rid])
        req = refs_db.get(store.db, rid)
        assert req is not None
        cta = ctas_db.get(store.db, req["cta_id"])
        tasks = ctas_db.tasks(store.db, req["cta_id"])
        events = ctas_db.events(store.db, req["cta_id"])
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6, 7]
    assert [s["at"] for s in steps] == [later(h).isoformat(timespec="seconds") for h in range(7)]
    assert cta is not None
    assert (cta["source"], cta["playbook"], cta["type"], cta["status"]) == (
        "reference",
        "Ref Request",
        "reference",
        "closed",
    )
    assert cta["details"]["needed_by"] == NEEDED.isoformat() and cta["details"]["level"] == "VP"
    assert [t["done_on"] for t in tasks] == [NOW.date().isoformat()] * 6
    assert [e["kind"] for e in events] == ["opened", *["task_done"] * 6, "closed"]
    assert (req["account_id"], req["user_id"], req["occurred_on"]) == (
        "H1",
        "U11",
        later(4).date().isoformat(),
    )


# -- the request and its emails ---------------------------------------------------------------


def messages(ws: Workspace, rid: str) -> dict[str, email.message.EmailMessage]:
    folder = ws.outbox / "refs" / rid / "new"
    return {
        p.name: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.iterdir())
    }


def test_request_writes_the_alerts_and_an_ask_draft(flow_ws: Workspace) -> None:
    """One alert per notified person (the manager listed twice gets one), and the ask for
    the best candidate from its CSM to its best contact."""
    done = new_request(flow_ws)
    assert done.request_id == "REQ-0001"
    found = messages(flow_ws, "REQ-0001")
    assert sorted(found) == [
        "REQ-0001.alert.1",
        "REQ-0001.alert.2",
        "REQ-0001.alert.3",
        "REQ-0001.ask-draft",
    ]
    assert [found[f"REQ-0001.alert.{i}"]["To"] for i in (1, 2, 3)] == [
        "Avery Collins <avery@acme.example>",
        "Jamie Fox <jamie@acme.example>",
        "Priya Raman <priya@acme.example>",
    ]
    alert = found["REQ-0001.alert.1"]
    assert alert["Subject"] == (
        "Reference request REQ-0001: 2 VP references for Alder Health by 2026-12-11"
    )
    assert "Rollout to 40 clinics" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ask = found["REQ-0001.ask-draft"]
    assert ask["From"] == "Priya Raman <priya@acme.example>"
    assert ask["To"] == "U11 H1 <u11@h1.example>"
    assert "Hale Clinics" in ask.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [c.account_id for c in done.candidates] == ["H1"]


def test_emails_are_byte_identical_when_rendered_again(flow_ws: Workspace, tmp_path: Path) -> None:
    """The same request in another workspace with the same inputs writes the same bytes."""
    from cstool.workspace import init_workspace, open_workspace

    init_workspace(tmp_path / "other")
    other = flow_book(open_workspace(tmp_path / "other"))
    new_request(flow_ws)
    new_request(other)
    folder = Path("refs/REQ-0001/new")
    first = {p.name: p.read_bytes() for p in (flow_ws.outbox / folder).iterdir()}
    again = {p.name: p.read_bytes() for p in (other.outbox / folder).iterdir()}
    assert len(first) == 4 and again == first


def test_contact_writes_the_ask_to_the_chosen_contact(flow_ws: Workspace) -> None:
    """`refs contact REQ H2 --contact U21`: the ask goes from H2's CSM to U21."""
    rid = advance_to(flow_ws, 2)
    with flow_ws.open_store(write=True) as store:
        done = wf.contact(
            store,
            flow_ws.resolved,
            templates(flow_ws),
            flow_ws.outbox,
            rid,
            "H2",
            user_id="U21",
            now=later(3),
        )
    assert (done.account_id, done.user_id) == ("H2", "U21")
    ask = messages(flow_ws, rid)[f"{rid}.ask"]
    assert (ask["From"], ask["To"]) == (
        "Marcus Oyelaran <marcus@acme.example>",
        "U21 H2 <u21@h2.example>",
    )


def test_propose_takes_the_top_of_find_or_the_accounts_given(flow_ws: Workspace) -> None:
    """By default the eligible accounts by rank; --accounts keeps the order given and notes
    an account a rule excludes."""
    rid = advance_to(flow_ws, 1)
    with flow_ws.open_store(write=True) as store:
        done = wf.propose(store, flow_ws.resolved, rid, now=later(1))
        assert [c["account_id"] for c in refs_db.candidates(store.db, rid)] == ["H1", "H2", "H3"]
    assert [p["account_id"] for p in done.proposed] == ["H1", "H2", "H3"]
    other = new_request(flow_ws).request_id
    write_users(flow_ws, [user("U21", "H2", advocate=False)])
    with flow_ws.open_store(write=True) as store:
        done = wf.propose(store, flow_ws.resolved, other, accounts=["H3", "H2"], now=later(1))
    assert [p["account_id"] for p in done.proposed] == ["H3", "H2"]
    assert done.notes == ["H2 is proposed although advocate excludes it: no advocate at VP level"]


def test_status_lists_open_requests_with_step_owner_and_age(flow_ws: Workspace) -> None:
    """Open requests only, with the next step, its owner and the age in hours."""
    first = advance_to(flow_ws, 3)  # contacted: the AE connects next
    second = new_request(flow_ws, now=later(2)).request_id
    with flow_ws.open_store() as store:
        rows = wf.status(store, flow_ws.resolved, now=later(26.5))
    assert [r["request_id"] for r in rows] == [first, second]
    assert rows[0]["step"] == 3 and rows[0]["next"] == "connect"
    assert rows[0]["owner"] == "Ben Tanaka" and rows[0]["age_hours"] == 26.5
    assert rows[1]["owner"] == "Jamie Fox, Avery Collins" and rows[1]["age_hours"] == 24.5
    for n, command in enumerate(COMMANDS[2:], start=3):
        do(flow_ws, command, first, later(n))
    with flow_ws.open_store() as store:
        assert [r["request_id"] for r in wf.status(store, flow_ws.resolved, now=later(30))] == [
            second
        ]


def test_follow_up_reminds_the_ae_once_a_week(flow_ws: Workspace) -> None:
    """Requests connected and not confirmed get one email per ISO week; an AE without an
    address is skipped with a note."""
    rid = advance_to(flow_ws, 4)
    advance_to(flow_ws, 2)  # not connected yet: no reminder
    other = new_request(flow_ws, ae="Sam Unlisted").request_id
    for n, command in enumerate(COMMANDS[:3], start=1):
        do(flow_ws, command, other, later(n), account="H2", contact="U21")

    def run(day: date) -> wf.FollowUps:
        with flow_ws.open_store() as store:
            return wf.follow_up(
                store,
                flow_ws.resolved,
                templates(flow_ws),
                flow_ws.outbox,
                as_of=day,
            )

    first = run(date(2026, 11, 24))
    again = run(date(2026, 11, 27))  # the same ISO week: the same message is rewritten
    assert [w.key for w in first.written] == [f"{rid}.follow-up.2026-W48"]
    assert [w.key for w in again.written] == [f"{rid}.follow-up.2026-W48"]
    assert first.skipped == [f"{other}: no email for Sam Unlisted under refs.account_executives"]
    found = messages(flow_ws, rid)
    assert found[f"{rid}.follow-up.2026-W48"]["To"] == "Ben Tanaka <ben@acme.example>"
    assert [w.key for w in run(date(2026, 12, 1)).written] == [f"{rid}.follow-up.2026-W49"]


# -- what recording changes -------------------------------------------------------------------


def test_a_contacted_request_counts_towards_fatigue(flow_ws: Workspace) -> None:
    """From the contact on, the account has a reference in progress: excluded by fatigue."""
    advance_to(flow_ws, 3)
    with flow_ws.open_store() as store:
        r = find(store, flow_ws.resolved, Criteria("Healthcare", level="VP"), as_of=NOW.date())
    assert {e.account_id: e.rule for e in r.excluded} == {"H1": "fatigue"}


def test_recording_puts_a_milestone_on_the_timeline_and_in_the_360(flow_ws: Workspace) -> None:
    """The milestone names the contact and the opportunity; the 360 counts it as given."""
    from cstool.account360 import account_360

    rid = advance_to(flow_ws, 7)
    with flow_ws.open_store() as store:
        tl = timeline.timeline(store, "H1", types=["milestone"])
        a = account_360(
            store, flow_ws.resolved.config, "H1", as_of=later(10).date(), today=NOW.date()
        )
    (entry,) = tl.entries
    assert entry.text == "Customer Reference: U11 H1 for Alder Health – New Business (OPP-1)"
    assert (entry.date, entry.source, entry.record_id) == (later(4).date(), "references", rid)
    refs = a.as_dict()["references"]
    assert (refs["count"], refs["in_progress"]) == (1, 0)
    assert refs["items"][0]["outcome"] == "recorded"


# -- bad input --------------------------------------------------------------------------------


def test_unknown_opportunity_request_account_and_contact_are_named(flow_ws: Workspace) -> None:
    """Exit 1 (NotFoundError) naming the unknown thing; nothing is written."""
    with pytest.raises(NotFoundError, match="no opportunity 'OPP-9'"):
        new_request(flow_ws, opportunity_id="OPP-9")
    with (
        flow_ws.open_store(write=True) as store,
        pytest.raises(NotFoundError, match="no reference request 'REQ-0042'"),
    ):
        wf.propose(store, flow_ws.resolved, "REQ-0042", now=NOW)
    rid = advance_to(flow_ws, 2)
    with flow_ws.open_store(write=True) as store:
        with pytest.raises(NotFoundError, match="no account 'ACC-404'"):
            wf.contact(
                store, flow_ws.resolved, templates(flow_ws), flow_ws.outbox, rid, "ACC-404", now=NOW
            )
        with pytest.raises(NotFoundError, match="no contact 'U404'"):
            wf.contact(
                store,
                flow_ws.resolved,
                templates(flow_ws),
                flow_ws.outbox,
                rid,
                "H1",
                user_id="U404",
                now=NOW,
            )
        with pytest.raises(InputError, match="U21 is a contact of H2, not of H1"):
            wf.contact(
                store,
                flow_ws.resolved,
                templates(flow_ws),
                flow_ws.outbox,
                rid,
                "H1",
                user_id="U21",
                now=NOW,
            )
    assert not (flow_ws.outbox / "refs" / rid / "new" / f"{rid}.ask").exists()


def test_request_fields_are_checked(flow_ws: Workspace) -> None:
    """A past --needed-by and an opportunity without industry are bad input; an unknown level
    is a usage error."""
    with pytest.raises(
        InputError, match=r"--needed-by 2026-11-22 is in the past \(today is 2026-11-23\)"
    ):
        new_request(flow_ws, needed_by=date(2026, 11, 22))
    with pytest.raises(InputError, match="OPP-2 has no prospect_industry"):
        new_request(flow_ws, opportunity_id="OPP-2")
    with pytest.raises(UsageError, match="unknown level 'Intern'"):
        new_request(flow_ws, level="Intern")
    assert new_request(flow_ws, needed_by=NOW.date()).request_id == "REQ-0001"


def test_occurred_checks_the_contact_and_the_date(flow_ws: Workspace) -> None:
    """The contact must be of the request's account, and the day neither future nor before
    the request."""
    rid = advance_to(flow_ws, 4)
    with flow_ws.open_store(write=True) as store:
        with pytest.raises(InputError, match="U21 is a contact of H2, not of H1"):
            wf.occurred(store, rid, day=NOW.date(), user_id="U21", now=NOW)
        with pytest.raises(InputError, match="is in the future"):
            wf.occurred(store, rid, day=NOW.date() + timedelta(days=1), user_id="U11", now=NOW)
        with pytest.raises(InputError, match="before the request was opened"):
            wf.occurred(store, rid, day=NOW.date() - timedelta(days=1), user_id="U11", now=NOW)
    contacted = advance_to(flow_ws, 3, "H2", "U21")
    with (
        flow_ws.open_store(write=True) as store,
        pytest.raises(InputError, match=f"{contacted} is with H2, not H3"),
    ):
        wf.connect(store, contacted, "H3", now=NOW)


# -- fixes found in trial use ------------------------------------------------------------------


def follow(ws: Workspace, day: date) -> wf.FollowUps:
    """`refs follow-up --as-of day`."""
    with ws.open_store() as store:
        return wf.follow_up(store, ws.resolved, templates(ws), ws.outbox, as_of=day)


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr,no-any-return]


def test_follow_up_as_of_takes_each_request_at_its_step_on_that_day(flow_ws: Workspace) -> None:
    """--as-of D: a request not opened by D gets no reminder; one contacted by D gets the
    reminder to connect, though it was connected later; a request confirmed (step 6) gets
    none."""
    rid = new_request(flow_ws).request_id  # opened 2026-11-23
    do(flow_ws, "propose", rid, later(1))
    do(flow_ws, "contact", rid, later(2))  # contacted on 2026-11-23
    do(flow_ws, "connect", rid, later(24 * 8))  # connected on 2026-12-01
    confirmed = advance_to(flow_ws, 6, "H2", "U21")  # every step on 2026-11-23

    before = follow(flow_ws, date(2026, 11, 22))
    assert (before.due, before.written, before.skipped) == (0, [], [])
    contacted = follow(flow_ws, date(2026, 11, 24))
    assert contacted.due == 1
    assert [w.key for w in contacted.written] == [f"{rid}.follow-up.2026-W48"]
    body = text_of(messages(flow_ws, rid)[f"{rid}.follow-up.2026-W48"])
    assert "Waiting: for you to connect the customer with the prospect" in body
    connected = follow(flow_ws, date(2026, 12, 1))
    assert [w.key for w in connected.written] == [f"{rid}.follow-up.2026-W49"]
    body = text_of(messages(flow_ws, rid)[f"{rid}.follow-up.2026-W49"])
    assert "Waiting: for the reference call to take place" in body
    assert not (
        flow_ws.outbox / "refs" / confirmed / "new" / f"{confirmed}.follow-up.2026-W48"
    ).exists()


def test_emails_are_dated_from_stored_times_and_reruns_are_unchanged(flow_ws: Workspace) -> None:
    """The alerts and the ask draft carry the request's stored time, the ask the contact's,
    a follow-up midnight of its --as-of day in the request's time zone; running the follow-up
    again writes nothing and reports the message unchanged."""
    from email.utils import format_datetime

    rid = advance_to(flow_ws, 4)
    with flow_ws.open_store() as store:
        at = {s["step"]: datetime.fromisoformat(s["at"]) for s in refs_db.steps(store.db, [rid])}
    found = messages(flow_ws, rid)
    assert found[f"{rid}.alert.1"]["Date"] == format_datetime(at[1]) == format_datetime(NOW)
    assert found[f"{rid}.ask-draft"]["Date"] == format_datetime(at[1])
    assert found[f"{rid}.ask"]["Date"] == format_datetime(at[3]) == format_datetime(later(2))

    first = follow(flow_ws, date(2026, 11, 25))
    (written,) = first.written
    assert not written.unchanged and first.changed == [written]
    assert messages(flow_ws, rid)[written.key]["Date"] == "Wed, 25 Nov 2026 00:00:00 +0000"
    data, mtime = written.path.read_bytes(), written.path.stat().st_mtime_ns
    again = follow(flow_ws, date(2026, 11, 25))
    assert [w.unchanged for w in again.written] == [True] and again.changed == []
    assert written.path.read_bytes() == data and written.path.stat().st_mtime_ns == mtime


def test_a_follow_up_is_dated_in_the_time_zone_the_request_was_recorded_in(
    flow_ws: Workspace,
) -> None:
    """A request recorded at +01:00 gets its follow-up dated midnight +01:00."""
    cet = timezone(timedelta(hours=1))
    rid = new_request(flow_ws, now=NOW.astimezone(cet)).request_id
    for n, command in enumerate(COMMANDS[:3], start=1):
        do(flow_ws, command, rid, later(n).astimezone(cet))
    (written,) = follow(flow_ws, date(2026, 11, 30)).written
    assert messages(flow_ws, rid)[written.key]["Date"] == "Mon, 30 Nov 2026 00:00:00 +0100"


@pytest.mark.parametrize(
    ("stage", "won"), [("Closed Won", "true"), ("Closed Lost", "false"), ("closed lost", "")]
)
def test_a_closed_opportunity_is_refused(
    flow_ws: Workspace, stage: str, won: str, db_snapshot: Callable[[Path], str]
) -> None:
    """A request for a deal already won or lost is bad input naming it and its stage, with a
    hint; nothing is written."""
    write_opportunities(flow_ws, [opportunity("OPP-9", stage=stage, is_won=won)])
    before = db_snapshot(flow_ws.db_path)
    with pytest.raises(InputError) as e:
        new_request(flow_ws, opportunity_id="OPP-9")
    assert e.value.message == (
        f"OPP-9 is already closed (stage {stage}): a reference can no longer help it"
    )
    assert e.value.hint is not None and "open opportunity" in e.value.hint
    assert db_snapshot(flow_ws.db_path) == before
    assert not (flow_ws.outbox / "refs").exists()


def test_opportunity_ids_match_in_any_case(flow_ws: Workspace) -> None:
    """`--opportunity opp-1` opens a request for OPP-1, as request ids match in any case."""
    rid = new_request(flow_ws, opportunity_id="opp-1").request_id
    with flow_ws.open_store() as store:
        assert refs_db.get(store.db, rid)["opportunity_id"] == OPP  # type: ignore[index]


def test_an_ae_without_an_email_is_warned_about_at_request_time(flow_ws: Workspace) -> None:
    """--ae with a name not under refs.account_executives: a note says the follow-up cannot
    reach them; the listed owner gives no such note."""
    done = new_request(flow_ws, ae="Sam Unlisted")
    assert (
        "no email for Sam Unlisted under refs.account_executives: `cstool refs follow-up` "
        "cannot remind them"
    ) in done.notes
    assert not any("account_executives" in n for n in new_request(flow_ws).notes)


def test_follow_up_that_skips_a_request_is_a_partial_failure(flow_ws: Workspace) -> None:
    """The reminders that can be written are; check() raises PartialFailure (exit 4) naming
    the request skipped and why."""
    from cstool.errors import PartialFailure

    ok = advance_to(flow_ws, 4)
    other = new_request(flow_ws, ae="Sam Unlisted").request_id
    for n, command in enumerate(COMMANDS[:2], start=1):
        do(flow_ws, command, other, later(n), account="H2")
    done = follow(flow_ws, date(2026, 11, 24))
    assert [w.key for w in done.written] == [f"{ok}.follow-up.2026-W48"] and done.due == 2
    with pytest.raises(PartialFailure) as e:
        done.check()
    assert e.value.exit_code == 4
    assert e.value.message == (
        f"1 of 2 follow-up email(s) not written: {other}: no email for Sam Unlisted under "
        "refs.account_executives"
    )
