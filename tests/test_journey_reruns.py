"""Re-runs and dry runs: no empty batches for recipients still invalid, the plan says why a
row is invalid, and a dry run's previews are replaced whole (empty when nothing is due)."""

from __future__ import annotations

import csv
import mailbox
from collections.abc import Callable
from pathlib import Path

import pytest
from cta_data import D, write_users
from journey_data import NOW, USERS, build, user
from typer.testing import Result

from cstool.errors import PartialFailure
from cstool.journeys.send import send
from cstool.store import sends as sends_db
from cstool.workspace import Workspace


@pytest.fixture
def company(ws: Workspace) -> Workspace:
    """The journey test company, with U12's address invalid."""
    ws = build(ws)
    users = [u for u in USERS if u["user_id"] != "U12"]
    users.append(user("U12", "A1", "Power User", email="not an address"))
    write_users(ws, users)
    return ws


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_reruns_with_a_recipient_still_invalid_make_no_batch(company: Workspace) -> None:
    """The invalid row stays in batch 1 and is reported each run; no 0002 folder appears."""
    with pytest.raises(PartialFailure):
        send(company, "onboarding", as_of=D, now=NOW)
    for _ in range(2):
        with pytest.raises(PartialFailure) as e:
            send(company, "onboarding", as_of=D, now=NOW)
        r = e.value.result
        assert r.batch_id is None and r.written == 0 and r.counts.invalid == 1
        assert [x.user_id for x in r.invalid] == ["U12"]
    with company.open_store() as store:
        assert [b.batch_id for b in sends_db.batches(store.db, "onboarding")] == [1]
        (bad,) = sends_db.rows(store.db, statuses=("invalid",))
    assert bad["batch_id"] == 1 and str(bad["reason"]).startswith("address:")
    assert sorted(p.name for p in (company.outbox / "onboarding").iterdir()) == ["0001-2026-11-20"]
    # Fixed data: the row moves to a new batch, and batch 1's manifest no longer lists it.
    write_users(company, USERS)
    fixed = send(company, "onboarding", as_of=D, now=NOW)
    assert fixed.batch_id == 2 and fixed.written == 1
    first = manifest(company.outbox / "onboarding" / "0001-2026-11-20")
    assert [x["user_id"] for x in first] == ["U11", "U21"]
    assert [x["user_id"] for x in manifest(fixed.folder or Path())] == ["U12"]


def test_dry_run_plan_shows_the_reason_and_the_address(
    company: Workspace, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid row shows the address as exported and why, in the table, at 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    args = ("-w", str(company.root), "journey", "send", "onboarding", "--as-of", "2026-11-20")
    r = cli(*args, "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    row = next(line for line in r.stdout.splitlines() if "not an address" in line)
    assert "invalid" in row and "address: An email" in row
    valid = next(line for line in r.stdout.splitlines() if "u11@a1.example" in line)
    assert "(none)" not in valid
    csv_out = cli(*args, "--dry-run", "--format", "csv")
    (bad,) = [x for x in csv.DictReader(csv_out.stdout.splitlines()) if x["user_id"] == "U12"]
    assert bad["recipient"] == "not an address" and bad["reason"].startswith("address:")


def test_a_dry_run_with_nothing_due_replaces_the_last_preview(company: Workspace) -> None:
    """The previews of an earlier date are gone when a later dry run has nothing due."""
    first = send(company, "renewal", as_of=D, now=NOW, dry_run=True)
    assert first.folder is not None and first.written == 1
    later = send(company, "renewal", as_of=D.replace(day=21), now=NOW, dry_run=True)
    assert later.folder == first.folder and later.written == 0
    assert list(mailbox.Maildir(later.folder, factory=None, create=False).keys()) == []
    assert manifest(later.folder) == []
    assert sorted(p.name for p in later.folder.parent.iterdir()) == ["renewal"]


def test_a_rerun_counts_held_out_rows_as_held_out(ws: Workspace) -> None:
    """A held-out account's row recorded by the first run is held out again, not 'sent'."""
    ws = build(ws)
    first = send(ws, "feature-nudge", as_of=D, now=NOW)
    assert first.counts.held_out == 1
    again = send(ws, "feature-nudge", as_of=D, now=NOW)
    assert again.counts.held_out == 1 and again.counts.already_sent == 2
