"""journey send --deliver against a real SMTP server on loopback: one recipient a message,
every outcome recorded, unknown outcomes held for journey resolve and never resent alone."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

import pytest
from cta_data import D, set_config
from journey_data import NOW, build
from smtp_server import SmtpServer
from typer.testing import Result

from cstool.errors import PartialFailure
from cstool.journeys.send import resolve, send
from cstool.store import sends as sends_db
from cstool.workspace import Workspace


@pytest.fixture
def company(ws: Workspace, smtp_server: SmtpServer) -> Workspace:
    """The journey test company, delivering to the loopback server."""
    ws = build(ws)
    return set_config(
        ws, f"sending: {{smtp_host: {smtp_server.host}, smtp_port: {smtp_server.port}}}"
    )


def statuses(ws: Workspace) -> dict[str, str]:
    with ws.open_store() as store:
        return {str(r["user_id"]): str(r["status"]) for r in sends_db.rows(store.db)}


def test_deliver_sends_each_message_once_to_its_recipient(
    company: Workspace, smtp_server: SmtpServer
) -> None:
    """Every written message arrives once, alone, as it is in the outbox."""
    r = send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert r.delivered is not None and r.delivered.outcomes["sent"] == 3
    got = smtp_server.received
    assert sorted(x.rcpt_tos[0] for x in got) == [
        "u31@a3.example",
        "u32@a3.example",
        "u33@a3.example",
    ]
    assert all(len(x.rcpt_tos) == 1 and x.mail_from == "success@example.com" for x in got)
    assert r.folder is not None
    on_disk = {p.read_bytes() for p in (r.folder / "new").iterdir()}
    assert {x.content.replace(b"\r\n", b"\n") for x in got} == {
        d.replace(b"\r\n", b"\n") for d in on_disk
    }
    for x in got:
        msg = email.message_from_bytes(x.content, policy=email.policy.default)
        assert msg["To"].addresses[0].addr_spec == x.rcpt_tos[0]
    assert set(statuses(company).values()) == {"sent"}
    # A second run delivers nothing again.
    again = send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert again.delivered is not None and again.delivered.attempted == 0
    assert len(smtp_server.received) == 3


def test_refusals_are_recorded_and_exit_4(company: Workspace, smtp_server: SmtpServer) -> None:
    """A permanent refusal is failed, a temporary one deferred and retried by the next run."""
    smtp_server.behaviour.refuse_rcpt["u31@a3.example"] = "550 5.1.1 no such user"
    smtp_server.behaviour.refuse_rcpt["u32@a3.example"] = "451 4.3.0 try later"
    with pytest.raises(PartialFailure) as e:
        send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    delivered = e.value.result.delivered
    assert delivered.outcomes == {"sent": 1, "failed": 1, "deferred": 1}
    assert statuses(company) == {"U31": "failed", "U32": "deferred", "U33": "sent"}
    with company.open_store() as store:
        (failed,) = sends_db.rows(store.db, statuses=("failed",))
    assert failed["smtp_code"] == 550 and "no such user" in str(failed["smtp_reply"])
    smtp_server.behaviour.refuse_rcpt.clear()
    again = send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert again.delivered is not None and again.delivered.outcomes == {"sent": 1}
    assert statuses(company) == {"U31": "failed", "U32": "sent", "U33": "sent"}
    assert [x.rcpt_tos for x in smtp_server.received] == [["u33@a3.example"], ["u32@a3.example"]]


def test_unknown_outcomes_are_held_until_resolved(
    company: Workspace, smtp_server: SmtpServer, cli: Callable[..., Result]
) -> None:
    """A connection lost after the data leaves the message unknown: not resent by a re-run;
    resolve --resend sends it, resolve --skip never does."""
    smtp_server.behaviour.drop_after_data = {"u31@a3.example", "u32@a3.example"}
    with pytest.raises(PartialFailure):
        send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert statuses(company) == {"U31": "unknown", "U32": "unknown", "U33": "sent"}
    smtp_server.behaviour.drop_after_data = set()
    again = send(company, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert again.delivered is not None and again.delivered.attempted == 0
    assert len(smtp_server.received) == 1
    # Resolve one of them each way (the row of U32 set aside first).
    with company.open_store(write=True) as store, store.transaction():
        store.db.execute("UPDATE sends SET status = 'skipped' WHERE user_id = 'U32'")
    result = cli("--workspace", str(company.root), "journey", "resolve", "1", "--resend")
    assert result.exit_code == 0, result.stderr
    assert "Delivered 1 of 1 over SMTP" in result.stderr
    assert statuses(company)["U31"] == "sent"
    assert [x.rcpt_tos for x in smtp_server.received][-1] == ["u31@a3.example"]
    with company.open_store(write=True) as store, store.transaction():
        store.db.execute("UPDATE sends SET status = 'unknown' WHERE user_id = 'U32'")
    r = resolve(company, 1, resend=False, now=NOW)
    assert r.skipped == 1 and statuses(company)["U32"] == "skipped"
    assert len(smtp_server.received) == 2
    result = cli("--workspace", str(company.root), "journey", "resolve", "1", "--skip")
    assert result.exit_code == 0 and "has no emails with an unknown outcome" in result.stderr


def test_resolve_needs_one_decision(company: Workspace, cli: Callable[..., Result]) -> None:
    """resolve without --resend or --skip (or with both) is a usage error."""
    for flags in ([], ["--resend", "--skip"]):
        result = cli("--workspace", str(company.root), "journey", "resolve", "1", *flags)
        assert result.exit_code == 2 and "exactly one of --resend and --skip" in result.stderr


def test_daily_cap_leaves_the_rest_for_tomorrow(
    company: Workspace, smtp_server: SmtpServer
) -> None:
    """sending.daily_cap: at most that many a day; the rest stay written for the next run."""
    ws = set_config(
        company,
        f"sending: {{smtp_host: {smtp_server.host}, smtp_port: {smtp_server.port}, daily_cap: 2}}",
    )
    r = send(ws, "nps-survey", as_of=D, now=NOW, deliver=True)
    assert r.delivered is not None and r.delivered.outcomes["sent"] == 2 and r.delivered.left == 1
    assert sorted(statuses(ws).values()) == ["sent", "sent", "written"]
    tomorrow = NOW.replace(day=21)
    r = send(ws, "nps-survey", as_of=D, now=tomorrow, deliver=True)
    assert r.delivered is not None and r.delivered.outcomes["sent"] == 1
    assert len(smtp_server.received) == 3


def test_unreachable_server_is_exit_3_and_nothing_is_lost(company: Workspace) -> None:
    """No server: the batch is written, delivery fails before sending, rows stay written."""
    from smtp_server import free_port

    from cstool.errors import EnvironmentProblem

    ws = set_config(company, f"sending: {{smtp_host: 127.0.0.1, smtp_port: {free_port()}}}")
    with pytest.raises(EnvironmentProblem, match="cannot connect"):
        send(ws, "renewal", as_of=D, now=NOW, deliver=True)
    assert statuses(ws) == {"U31": "written"}


def test_unknown_outcomes_are_named_on_every_run_and_in_stats(
    company: Workspace, smtp_server: SmtpServer, cli: Callable[..., Result]
) -> None:
    """Each later run (exit 0 or not) and journey stats name the held message, its batch and
    the exact resolve command, until it is resolved."""
    smtp_server.behaviour.drop_after_data = {"u31@a3.example"}
    root = ("--workspace", str(company.root))
    run = (*root, "journey", "send", "nps-survey", "--as-of", "2026-11-20", "--deliver")
    first = cli(*run)
    assert first.exit_code == 4
    with company.open_store() as store:
        (held,) = sends_db.rows(store.db, statuses=("unknown",))
    command = "cstool journey resolve 1 --resend (or --skip)"
    assert f"batch 1, {held['key']} (U31, invite): SMTP outcome unknown" in first.stderr
    assert command in first.stderr
    smtp_server.behaviour.drop_after_data = set()
    for args in (run, run[:-1], (*run[:-1], "--dry-run")):
        later = cli(*args)
        assert later.exit_code == 0, later.stderr
        assert f"batch 1, {held['key']} (U31, invite)" in later.stderr
        assert f"held until you decide: {command}" in later.stderr
    stats = cli(*root, "journey", "stats", "nps-survey")
    assert stats.exit_code == 0 and f"held until you decide: {command}" in stats.stderr
    assert cli(*root, "journey", "resolve", "1", "--skip").exit_code == 0
    assert "held until you decide" not in cli(*run).stderr
