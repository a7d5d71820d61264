"""journey send end to end: the ledger, the Maildir outbox, the manifest, dry runs, template
failures before anything is written, header injection, and names that could reach a path."""

from __future__ import annotations

import csv
import email
import email.policy
import mailbox
import sqlite3
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from cta_data import D, set_config, write_users
from journey_data import NOW, POSTAL, USERS, build, user
from typer.testing import Result

from cstool.errors import InputError, PartialFailure
from cstool.journeys.send import send
from cstool.store import sends as sends_db
from cstool.workspace import Workspace


@pytest.fixture
def company(ws: Workspace) -> Workspace:
    """The journey test company (see journey_data)."""
    return build(ws)


def ledger(ws: Workspace, journey: str | None = None) -> list[dict[str, object]]:
    with ws.open_store() as store:
        return sends_db.rows(store.db, journey=journey)


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_send_writes_a_maildir_that_parses_back(company: Workspace) -> None:
    """Each due email is a ledger row and a message in outbox/NAME/BATCH/new, parsed back."""
    r = send(company, "onboarding", as_of=D, now=NOW)
    assert r.batch_id == 1 and r.written == 3
    assert r.folder == company.outbox / "onboarding" / "0001-2026-11-20"
    rows = ledger(company, "onboarding")
    assert [x["status"] for x in rows] == ["written"] * 3
    box = mailbox.Maildir(r.folder, factory=None, create=False)
    assert sorted(box.keys()) == sorted(str(x["key"]) for x in rows)
    assert list((r.folder / "tmp").iterdir()) == []
    for row in rows:
        msg = parse((r.folder / "new" / str(row["key"])).read_bytes())
        assert msg["Message-ID"] == row["message_id"]
        assert msg["To"].addresses[0].addr_spec == row["recipient"]
        assert msg["From"].addresses[0].addr_spec == "priya.raman@acme.example"
        assert msg["Reply-To"].addresses[0].addr_spec == "priya.raman@acme.example"
        assert msg["Subject"] == row["subject"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = f"https://acme.example/u?user={row['user_id']}&list=onboarding"
        assert msg["List-Unsubscribe"] == f"<{url}>"
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert text is not None and html is not None
        assert url in text.get_content() and POSTAL in text.get_content()
        assert url.replace("&", "&amp;") in html.get_content()
    zoe = parse((r.folder / "new" / str(rows[0]["key"])).read_bytes())
    assert zoe["To"].addresses[0].display_name == "Zoë Müller"
    assert zoe["Subject"] == "Welcome to Acme, Zoë: your first week"


def test_manifest_lists_the_batch(company: Workspace) -> None:
    """manifest.csv has one line per ledger row of the batch, held-out rows included."""
    r = send(company, "feature-nudge", as_of=D, now=NOW)
    assert r.folder is not None
    with (r.folder / "manifest.csv").open(newline="", encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [(x["user_id"], x["status"], x["variant"]) for x in lines] == [
        ("U33", "written", "B"),
        ("U52", "written", "A"),
        ("U61", "held_out", "A"),
    ]
    assert lines[0]["file"] == f"new/{lines[0]['key']}" and lines[2]["file"] == ""
    assert r.counts.held_out == 1 and r.written == 2


def test_a_rerun_sends_nothing_and_touches_nothing(company: Workspace) -> None:
    """Exactly once: a second run on the same day finds everything in the ledger."""
    first = send(company, "nps-survey", as_of=D, now=NOW)
    assert first.folder is not None
    before = {p.name: p.read_bytes() for p in (first.folder / "new").iterdir()}
    again = send(company, "nps-survey", as_of=D, now=NOW)
    assert again.batch_id is None and again.counts.already_sent == 3 and again.written == 0
    assert {p.name: p.read_bytes() for p in (first.folder / "new").iterdir()} == before
    assert len(ledger(company)) == 3


def test_dry_run_changes_nothing_and_writes_previews(
    company: Workspace, db_snapshot: Callable[[Path], str]
) -> None:
    """--dry-run: the plan and previews in outbox/dry-run/NAME; the database is unchanged."""
    before = db_snapshot(company.db_path)
    r = send(company, "renewal", as_of=D, now=NOW, dry_run=True)
    assert db_snapshot(company.db_path) == before
    assert [(x.step, x.user_id, x.subject) for x in r.rows] == [
        ("notice-60", "U31", "Northwind & Co: your Acme renewal on 2027-01-19")
    ]
    assert r.folder == company.outbox / "dry-run" / "renewal"
    box = mailbox.Maildir(r.folder, factory=None, create=False)
    (key,) = box.keys()
    assert parse(box.get_bytes(key))["Subject"] == r.rows[0].subject
    assert not (company.outbox / "renewal").exists()
    # The real run writes the very message the preview showed.
    real = send(company, "renewal", as_of=D, now=NOW)
    assert real.folder is not None
    assert (real.folder / "new" / key).read_bytes() == box.get_bytes(key)


def test_missing_variable_fails_the_batch_before_anything_is_written(
    company: Workspace, db_snapshot: Callable[[Path], str]
) -> None:
    """A StrictUndefined error names template, line, variable and recipient; nothing changes."""
    folder = company.root / "email_templates" / "broken"
    folder.mkdir()
    (folder / "subject.j2").write_text("Hello {{ user.first_name }}\n", encoding="utf-8")
    (folder / "body.html.j2").write_text(
        '{% extends "_layouts/base.html.j2" %}\n{% block content %}\n'
        "<p>{{ user.nickname }}</p>\n{% endblock %}\n",
        encoding="utf-8",
    )
    text = (company.root / "journeys" / "renewal.yaml").read_text(encoding="utf-8")
    (company.root / "journeys" / "renewal.yaml").write_text(
        text.replace("template: renewal-60-days", "template: broken"), encoding="utf-8"
    )
    before = db_snapshot(company.db_path)
    with pytest.raises(InputError) as e:
        send(company, "renewal", as_of=D, now=NOW)
    assert str(e.value.location) == "email_templates/broken/body.html.j2: line 3"
    assert e.value.message == "'user' has no attribute 'nickname' (recipient U31)"
    assert db_snapshot(company.db_path) == before
    assert not (company.outbox / "renewal").exists()


def test_line_breaks_in_headers_reject_only_that_recipient(company: Workspace) -> None:
    """CR/LF in a name or a subject value rejects that recipient with a reason; exit 4."""
    users = [u for u in USERS if u["user_id"] != "U12"]
    users.append(user("U12", "A1", "Power User", first_name="Eve\r\nBcc: all@evil.example"))
    write_users(company, users)
    with pytest.raises(PartialFailure) as e:
        send(company, "onboarding", as_of=D, now=NOW)
    r = e.value.result
    assert r.counts.invalid == 1 and r.written == 2
    (bad,) = r.invalid
    assert bad.user_id == "U12"
    assert bad.reason == (
        "display name: contains a carriage return (CR), which is not allowed in a header"
    )
    rows = {x["user_id"]: x for x in ledger(company)}
    assert rows["U12"]["status"] == "invalid" and rows["U12"]["reason"] == bad.reason
    assert r.folder is not None and not (r.folder / "new" / str(rows["U12"]["key"])).exists()
    # Fixed data: the next run plans the invalid one again, under the same key.
    write_users(company, USERS)
    again = send(company, "onboarding", as_of=D, now=NOW)
    assert again.rows == [] and again.written == 1 and again.counts.already_sent == 2
    assert {x["status"] for x in ledger(company)} == {"written"}


def test_a_subject_value_with_a_line_break_rejects_the_recipient(company: Workspace) -> None:
    """An account name with a line break, shown in the subject, is caught per recipient."""
    from cta_data import account, days, write_accounts

    write_accounts(
        company,
        [
            account(
                "A3",
                name="Northwind\nBcc: x@evil.example",
                lifecycle_stage="Adopting",
                onboarding_date=days(-364),
                renewal_date=days(60),
            )
        ],
    )
    with pytest.raises(PartialFailure) as e:
        send(company, "renewal", as_of=D, now=NOW)
    (bad,) = e.value.result.invalid
    assert bad.reason == "Subject: contains a line break after rendering"


def test_csm_without_an_address_is_invalid(company: Workspace) -> None:
    """from: csm needs the CSM's address under csms; without it each recipient is invalid."""
    ws = set_config(company, "csms: [{name: Priya Raman}]")
    with pytest.raises(PartialFailure) as e:
        send(ws, "renewal", as_of=D, now=NOW)
    (bad,) = e.value.result.invalid
    assert "csms" in (bad.reason or "") and "'Priya Raman'" in (bad.reason or "")


def test_transactional_mail_has_no_list_unsubscribe(company: Workspace) -> None:
    """Transactional journeys carry no List-Unsubscribe headers."""
    text = (company.root / "journeys" / "renewal.yaml").read_text(encoding="utf-8")
    (company.root / "journeys" / "renewal.yaml").write_text(
        text.replace("category: renewal", "category: transactional"), encoding="utf-8"
    )
    r = send(company, "renewal", as_of=D, now=NOW)
    assert r.folder is not None
    (path,) = (r.folder / "new").iterdir()
    msg = parse(path.read_bytes())
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None


def test_completion_rewrites_a_lost_message_byte_identical(company: Workspace) -> None:
    """An incomplete batch is completed by the next run with the very same bytes."""
    r = send(company, "onboarding", as_of=D, now=NOW)
    assert r.folder is not None
    files = sorted((r.folder / "new").iterdir())
    original = files[0].read_bytes()
    files[0].unlink()
    db = sqlite3.connect(company.db_path)
    db.execute("UPDATE send_batches SET complete = 0")
    db.commit()
    db.close()
    again = send(company, "onboarding", as_of=D, now=NOW.replace(hour=17))
    assert again.completed == [1] and again.completed_written == 1 and again.batch_id is None
    assert files[0].read_bytes() == original


@pytest.mark.parametrize("name", ["../onboarding", "onboarding/../x", "ONBOARDING", ".hidden"])
def test_journey_names_never_reach_a_path(
    company: Workspace, cli: Callable[..., Result], name: str
) -> None:
    """A name that is not a plain journey name is refused before any file is touched."""
    result = cli("--workspace", str(company.root), "journey", "send", name, "--as-of", "2026-11-20")
    assert result.exit_code == 1
    assert "is not a valid journey name" in result.stderr
    assert list(company.outbox.iterdir()) == []


def test_cli_dry_run_prints_the_plan(company: Workspace, cli: Callable[..., Result]) -> None:
    """The plan goes to stdout (CSV here), the counts and the preview folder to stderr."""
    result = cli(
        "--workspace",
        str(company.root),
        "journey",
        "send",
        "feature-nudge",
        "--as-of",
        "2026-11-20",
        "--dry-run",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "step,variant,template,account_id,user_id,recipient,subject,status,reason"
    assert lines[1].startswith("nudge,B,feature-nudge-b,A3,U33,u33@a3.example,")
    assert len(lines) == 3
    assert "3 due: 2 to send, 0 already sent, 1 held out" in result.stderr
    assert "outbox/dry-run/feature-nudge/new/ (2 messages, manifest.csv)" in result.stderr


def test_cli_send_reports_invalid_recipients_with_exit_4(
    company: Workspace, cli: Callable[..., Result]
) -> None:
    """A batch with an invalid recipient is written, says why, and exits 4."""
    users = [u for u in USERS if u["user_id"] != "U12"]
    users.append(user("U12", "A1", "Power User", email="not an address"))
    write_users(company, users)
    result = cli(
        "--workspace", str(company.root), "journey", "send", "onboarding", "--as-of", "2026-11-20"
    )
    assert result.exit_code == 4
    assert "U12 (welcome): address:" in result.stderr
    assert "Wrote 2 emails of onboarding to outbox/onboarding/0001-2026-11-20/ (batch 1)" in (
        result.stderr
    )
    assert "Partly done: 1 of the journey's messages were not sent" in result.stderr
