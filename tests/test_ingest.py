"""Loading exports from Python: counts, idempotence, text fidelity and the bad-input catalogue."""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bad_inputs import BAD_INPUTS, BAD_INPUTS_WITH_SETTINGS
from loading import load

import cstool.csvfile
import cstool.store.usage
from cstool.errors import CstoolError, InputError, LockHeld, PartialFailure, UsageError
from cstool.ingest import MAX_REPORTED, _prefetch
from cstool.workspace import Workspace, open_workspace

Write = Callable[[str, str | bytes], Path]
Snapshot = Callable[[Path], str]


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    """Rows of a query against the workspace database."""
    db = sqlite3.connect(ws.db_path)
    try:
        return list(db.execute(sql))
    finally:
        db.close()


def error_text(e: CstoolError) -> str:
    """An error as people read it: message, each located problem, and the hint."""
    return "\n".join([str(e), *(str(p) for p in e.problems), f"hint: {e.hint}"])


def usage_csv(
    days: int, users: dict[str, str], features: int, start: date = date(2026, 1, 1)
) -> str:
    """A usage export: one row per day, user and feature."""
    lines = ["date,account_id,user_id,feature,events"]
    for d in range(days):
        day = (start + timedelta(days=d)).isoformat()
        for user, account in users.items():
            lines += [f"{day},{account},{user},feature{f},{(d + f) % 7}" for f in range(features)]
    return "\n".join(lines) + "\n"


# -- counts, idempotence, snapshots ------------------------------------------------------------


def test_first_load_counts_new_rows(ws: Workspace, write: Write) -> None:
    """A first load inserts every row and records the load in the manifest."""
    path = write("accounts.csv", "account_id,name,arr\nA1,Acme,1000\nA2,Beta,2500.5\n")
    r = load(ws, "accounts", path, now=datetime(2026, 3, 1, 9, 30))
    assert (r.rows, r.inserted, r.updated, r.unchanged, r.deactivated) == (2, 2, 0, 0, 0)
    assert not r.skipped
    assert r.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rows(ws, "SELECT account_id, name, arr, active FROM accounts ORDER BY 1") == [
        ("A1", "Acme", 1000.0, 1),
        ("A2", "Beta", 2500.5, 1),
    ]
    assert rows(ws, "SELECT kind, mode, rows, inserted, loaded_at FROM loads") == [
        ("accounts", "upsert", 2, 2, "2026-03-01T09:30:00")
    ]


def test_identical_reload_changes_nothing(
    ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """Loading the same file again is skipped and leaves the database byte for byte."""
    path = write("accounts.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
    load(ws, "accounts", path)
    before = db_snapshot(ws.db_path)
    r = load(ws, "accounts", path)
    assert r.skipped
    assert (r.rows, r.unchanged, r.inserted, r.updated) == (2, 2, 0, 0)
    assert db_snapshot(ws.db_path) == before


def test_same_rows_in_a_new_file_are_unchanged(ws: Workspace, write: Write) -> None:
    """A different file with the same rows loads, counting every row as unchanged."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n"))
    r = load(ws, "accounts", write("b.csv", "account_id,name\r\nA2,Beta\r\nA1,Acme\r\n"))
    assert not r.skipped
    assert (r.rows, r.inserted, r.updated, r.unchanged) == (2, 0, 0, 2)


def test_upsert_of_a_partial_export_deactivates_nothing(ws: Workspace, write: Write) -> None:
    """Upsert merges: accounts missing from the file keep their state."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n"))
    r = load(ws, "accounts", write("b.csv", "account_id,name\nA2,Beta Ltd\n"))
    assert (r.rows, r.inserted, r.updated, r.unchanged, r.deactivated) == (1, 0, 1, 0, 0)
    assert rows(ws, "SELECT account_id, active FROM accounts ORDER BY 1") == [
        ("A1", 1),
        ("A2", 1),
        ("A3", 1),
    ]


def test_modified_reload_counts_updates(ws: Workspace, write: Write) -> None:
    """A newer full export counts new, updated and unchanged rows and marks the missing inactive."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n"))
    b = write("b.csv", "account_id,name\nA1,Acme\nA2,Beta Ltd\nA4,Delta\n")
    r = load(ws, "accounts", b, mode="replace")
    assert (r.rows, r.inserted, r.updated, r.unchanged, r.deactivated) == (3, 1, 1, 1, 1)
    assert rows(ws, "SELECT account_id, name, active FROM accounts ORDER BY 1") == [
        ("A1", "Acme", 1),
        ("A2", "Beta Ltd", 1),
        ("A3", "Gamma", 0),
        ("A4", "Delta", 1),
    ]


def test_missing_accounts_are_never_deleted(ws: Workspace, write: Write) -> None:
    """Accounts missing from a newer export stay, inactive, even in replace mode."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n"))
    r = load(ws, "accounts", write("b.csv", "account_id,name\nA1,Acme\n"), mode="replace")
    assert (r.deactivated, r.deleted) == (1, 0)
    assert rows(ws, "SELECT account_id, active FROM accounts ORDER BY 1") == [("A1", 1), ("A2", 0)]


def test_returning_account_is_active_again(ws: Workspace, write: Write) -> None:
    """An account that comes back in a later export is active again."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n"))
    load(ws, "accounts", write("b.csv", "account_id,name\nA1,Acme\n"))
    load(ws, "accounts", write("c.csv", "account_id,name\nA1,Acme\nA2,Beta\n"))
    assert rows(ws, "SELECT account_id, active FROM accounts ORDER BY 1") == [("A1", 1), ("A2", 1)]


def test_upsert_keeps_rows_missing_from_the_file(seeded: Workspace, write: Write) -> None:
    """In upsert mode a non-snapshot kind keeps rows the file does not have."""
    r = load(seeded, "users", write("users.csv", "user_id,account_id\nU3,A1\n"))
    assert (r.inserted, r.deleted) == (1, 0)
    assert rows(seeded, "SELECT user_id FROM users ORDER BY 1") == [("U1",), ("U2",), ("U3",)]


def test_replace_deletes_rows_missing_from_the_file(seeded: Workspace, write: Write) -> None:
    """--mode replace makes a non-snapshot kind equal to the file, columns included: the
    seeded email of U1 is gone, since the file (the whole truth) has no email column."""
    r = load(
        seeded, "users", write("users.csv", "user_id,account_id\nU1,A1\nU3,A2\n"), mode="replace"
    )
    assert (r.inserted, r.updated, r.unchanged, r.deleted) == (1, 1, 0, 1)
    assert rows(seeded, "SELECT user_id, account_id, email FROM users ORDER BY 1") == [
        ("U1", "A1", None),
        ("U3", "A2", None),
    ]


def test_replace_refuses_to_orphan_usage(
    seeded: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """Replacing users fails, changing nothing, when a dropped user has usage."""
    load(seeded, "usage", write("usage.csv", usage_csv(2, {"U2": "A2"}, 1)))
    before = db_snapshot(seeded.db_path)
    with pytest.raises(InputError, match="1 user missing from the file still has usage rows"):
        load(seeded, "users", write("users.csv", "user_id,account_id\nU1,A1\n"), mode="replace")
    assert db_snapshot(seeded.db_path) == before


def test_replace_usage_empties_it_first(seeded: Workspace, write: Write) -> None:
    """Replacing usage leaves exactly the file's rows (forced: it deletes every stored row)."""
    load(seeded, "usage", write("u1.csv", usage_csv(3, {"U1": "A1", "U2": "A2"}, 2)))
    text = "date,account_id,user_id,feature,events\n2026-02-01,A1,U1,reports,4\n"
    r = load(seeded, "usage", write("u2.csv", text), mode="replace", force=True)
    assert (r.inserted, r.updated, r.unchanged, r.deleted) == (1, 0, 0, 12)
    assert rows(seeded, "SELECT * FROM usage_rows") == [("2026-02-01", "A1", "U1", "reports", 4)]


def test_replace_email_events_with_timestamp_keys(ws: Workspace, write: Write) -> None:
    """Replace mode compares timestamp keys as stored, deleting only the missing events."""
    head = "message_id,event,timestamp,url\n"
    a = "m1,open,2026-01-01T10:00:00Z,\n"
    b = "m1,click,2026-01-01T10:01:00+00:00,https://example.com/a\n"
    c = "m2,open,2026-01-02T10:00:00Z,\n"
    load(ws, "email_events", write("e1.csv", head + a + b + c))
    r = load(ws, "email_events", write("e2.csv", head + a + b), mode="replace")
    assert (r.rows, r.unchanged, r.deleted) == (2, 2, 1)
    assert rows(ws, "SELECT message_id, event, timestamp, url FROM email_events ORDER BY 3") == [
        ("m1", "open", "2026-01-01T10:00:00Z", ""),
        ("m1", "click", "2026-01-01T10:01:00Z", "https://example.com/a"),
    ]


def test_unknown_mode_and_kind_are_usage_errors(ws: Workspace, write: Write) -> None:
    """An unknown mode or kind is a usage error (exit 2) that names the choices."""
    path = write("a.csv", "account_id,name\nA1,Acme\n")
    with pytest.raises(UsageError, match="unknown mode 'merge'") as e:
        load(ws, "accounts", path, mode="merge")  # type: ignore[arg-type]
    assert e.value.exit_code == 2
    with pytest.raises(UsageError, match="unknown export kind 'acounts'") as e:
        load(ws, "acounts", path)
    assert "accounts, users" in (e.value.hint or "")


def test_missing_file(ws: Workspace, tmp_path: Path) -> None:
    """A file that does not exist is an input error naming it."""
    with pytest.raises(InputError, match="no such file"):
        load(ws, "accounts", tmp_path / "nope.csv")


# -- what is stored --------------------------------------------------------------------------


def test_extra_columns_are_kept_as_attributes(ws: Workspace, write: Write) -> None:
    """Columns the kind does not declare are kept as JSON in attributes."""
    text = "account_id,Health Note,name,Tier \nA1,watch out,Acme,Gold\nA2,,Beta,Silver\n"
    load(ws, "accounts", write("a.csv", text))
    got = rows(ws, "SELECT account_id, attributes FROM accounts ORDER BY 1")
    assert [(a, json.loads(j)) for a, j in got] == [
        ("A1", {"Health Note": "watch out", "Tier": "Gold"}),
        ("A2", {"Health Note": "", "Tier": "Silver"}),
    ]


def test_no_extra_columns_means_no_attributes(ws: Workspace, write: Write) -> None:
    """Without extra columns, attributes is NULL."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\n"))
    assert rows(ws, "SELECT attributes FROM accounts") == [(None,)]


def test_leading_zeros_stay_text(ws: Workspace, write: Write) -> None:
    """IDs such as 00501 are text everywhere, also through references and usage."""
    load(ws, "accounts", write("a.csv", "account_id,name\n00501,Acme\n0,Zero\n"))
    load(ws, "users", write("u.csv", "user_id,account_id\n007,00501\n"))
    load(
        ws,
        "usage",
        write("g.csv", "date,account_id,user_id,feature,events\n2026-01-02,00501,007,0001,3\n"),
    )
    assert rows(ws, "SELECT account_id FROM accounts ORDER BY 1") == [("0",), ("00501",)]
    assert rows(ws, "SELECT typeof(account_id) FROM accounts") == [("text",), ("text",)]
    assert rows(ws, "SELECT * FROM usage_rows") == [("2026-01-02", "00501", "007", "0001", 3)]


def test_typed_columns_are_parsed(ws: Workspace, write: Write) -> None:
    """Numbers, whole numbers, dates and booleans are stored by their declared type."""
    load(
        ws,
        "accounts",
        write(
            "a.csv",
            "account_id,name,arr,licenses_purchased,renewal_date,employees\n"
            "A1,Acme, 1200.50 ,+12,2026-12-31,\n",
        ),
    )
    load(
        ws,
        "users",
        write("u.csv", "user_id,account_id,is_advocate,unsubscribed\nU1,A1,Yes,0\nU2,A1,,F\n"),
    )
    assert rows(ws, "SELECT arr, licenses_purchased, renewal_date, employees FROM accounts") == [
        (1200.5, 12, "2026-12-31", None)
    ]
    assert rows(ws, "SELECT user_id, is_advocate, unsubscribed FROM users ORDER BY 1") == [
        ("U1", 1, 0),
        ("U2", None, 0),
    ]


def test_usage_is_stored_with_activity_spans(seeded: Workspace, write: Write) -> None:
    """Usage rows are stored; blank events mean 1; each user's active span is kept."""
    text = (
        "date,account_id,user_id,feature,events\n"
        "2026-01-03,A1,U1,reports,\n"
        "2026-01-01,A1,U1,dashboards,2\n"
        "2026-01-09,A1,U1,reports,0\n"
    )
    r = load(seeded, "usage", write("usage.csv", text))
    assert (r.rows, r.inserted) == (3, 3)
    assert rows(seeded, "SELECT date, user_id, feature, events FROM usage_rows ORDER BY 1") == [
        ("2026-01-01", "U1", "dashboards", 2),
        ("2026-01-03", "U1", "reports", 1),
        ("2026-01-09", "U1", "reports", 0),
    ]
    # Days since 1970-01-01: the span covers the days with events > 0 only.
    first = (date(2026, 1, 1) - date(1970, 1, 1)).days
    assert rows(seeded, "SELECT first_day, last_day FROM user_activity") == [(first, first + 2)]


def test_usage_reload_counts_updates(seeded: Workspace, write: Write) -> None:
    """A usage export with one changed count updates that row only."""
    load(seeded, "usage", write("u1.csv", usage_csv(5, {"U1": "A1"}, 3)))
    changed = usage_csv(5, {"U1": "A1"}, 3).replace(
        "2026-01-02,A1,U1,feature0,1", "2026-01-02,A1,U1,feature0,9"
    )
    r = load(seeded, "usage", write("u2.csv", changed))
    assert (r.rows, r.inserted, r.updated, r.unchanged) == (15, 0, 1, 14)


VERBATIM = {
    "bom": (b"\xef\xbb\xbfaccount_id,name\n00501,Acme\n", [("00501", "Acme")]),
    "crlf": (b"account_id,name\r\nA1,Acme\r\nA2,Beta\r\n", [("A1", "Acme"), ("A2", "Beta")]),
    "bom_and_crlf": (b"\xef\xbb\xbfaccount_id,name\r\nA1,Acme\r\n", [("A1", "Acme")]),
    "no_final_newline": (b"account_id,name\nA1,Acme", [("A1", "Acme")]),
    "quoted_comma": (b'account_id,name\nA1,"Acme, Inc."\n', [("A1", "Acme, Inc.")]),
    "quoted_quotes": (b'account_id,name\nA1,"The ""Best"" Co"\n', [("A1", 'The "Best" Co')]),
    "newline_in_field": (
        b'account_id,name\nA1,"Line one\nLine two"\n',
        [("A1", "Line one\nLine two")],
    ),
    "crlf_in_field": (b'account_id,name\r\nA1,"one\r\ntwo"\r\n', [("A1", "one\r\ntwo")]),
    "stray_quote": (b'account_id,name\nA1,27" Monitors\n', [("A1", '27" Monitors')]),
    "non_ascii": (
        "account_id,name\nA1,Zoë Ünïcode 東京 🚀\n".encode(),
        [("A1", "Zoë Ünïcode 東京 🚀")],
    ),
    "formula_cells": (
        b"account_id,name\n=1+1,=SUM(A1:A9)\n+44,+1 555 0100\n-7,-minus\n@id,@SUM(1)\n",
        [("+44", "+1 555 0100"), ("-7", "-minus"), ("=1+1", "=SUM(A1:A9)"), ("@id", "@SUM(1)")],
    ),
    "null_words": (
        b"account_id,name\nNA,null\nN/A,None\nnan,#N/A\n",
        [("N/A", "None"), ("NA", "null"), ("nan", "#N/A")],
    ),
    "spaces_kept": (b"account_id,name\nA1,  Acme  \n", [("A1", "  Acme  ")]),
}


@pytest.mark.parametrize("content,expected", list(VERBATIM.values()), ids=list(VERBATIM))
def test_text_is_stored_verbatim(
    ws: Workspace, write: Write, content: bytes, expected: list[tuple[str, str]]
) -> None:
    """Encodings, line ends, quoting and odd cells load and read back exactly."""
    load(ws, "accounts", write("accounts.csv", content))
    assert rows(ws, "SELECT account_id, name FROM accounts ORDER BY 1") == expected


def test_cp1252_with_encoding(ws: Workspace, write: Write) -> None:
    """A cp1252 file loads with encoding='cp1252'."""
    name = "Café – “Quoted” €"
    path = write("a.csv", f"account_id,name\nA1,{name}\n".encode("cp1252"))
    load(ws, "accounts", path, encoding="cp1252")
    assert rows(ws, "SELECT name FROM accounts") == [(name,)]


def test_encoding_from_config(ws: Workspace, write: Write) -> None:
    """exports.<kind>.encoding in cstool.yaml sets the encoding of that kind's files."""
    ws.config_path.write_text("exports:\n  accounts:\n    encoding: cp1252\n", encoding="utf-8")
    ws = open_workspace(ws.root)
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Café\n".encode("cp1252")))
    assert rows(ws, "SELECT name FROM accounts") == [("Café",)]


UNICODE_ACCOUNTS = (
    'account_id,name,arr\r\nA1,Zoë Ünïcode,1\r\nA2,"東京\nCorp",2\r\nA3,Ça va 🚀,3\r\n'
)
UNICODE_ROWS = [("A1", "Zoë Ünïcode"), ("A2", "東京\nCorp"), ("A3", "Ça va 🚀")]
UTF16_FILES = {
    "bom_le": ("utf-16", UNICODE_ACCOUNTS.encode("utf-16")),
    "bom_be": ("utf-16", codecs.BOM_UTF16_BE + UNICODE_ACCOUNTS.encode("utf-16-be")),
    "no_bom_le": ("utf-16", UNICODE_ACCOUNTS.encode("utf-16-le")),
    "no_bom_be": ("utf-16", UNICODE_ACCOUNTS.encode("utf-16-be")),
    "le_no_bom": ("utf-16-le", UNICODE_ACCOUNTS.encode("utf-16-le")),
    "le_bom": ("utf-16-le", codecs.BOM_UTF16_LE + UNICODE_ACCOUNTS.encode("utf-16-le")),
    "be_no_bom": ("utf-16-be", UNICODE_ACCOUNTS.encode("utf-16-be")),
    "be_bom": ("UTF-16BE", codecs.BOM_UTF16_BE + UNICODE_ACCOUNTS.encode("utf-16-be")),
    "utf32": ("utf-32", UNICODE_ACCOUNTS.encode("utf-32")),
}


@pytest.mark.parametrize("encoding,content", list(UTF16_FILES.values()), ids=list(UTF16_FILES))
def test_utf16_files_load_with_their_encoding(
    ws: Workspace, write: Write, encoding: str, content: bytes
) -> None:
    """UTF-16 files, with or without a byte order mark, load with --encoding utf-16(-le/-be)."""
    r = load(ws, "accounts", write("accounts.csv", content), encoding=encoding)
    assert (r.rows, r.inserted) == (3, 3)
    assert rows(ws, "SELECT account_id, name FROM accounts ORDER BY 1") == UNICODE_ROWS


def test_utf16_across_many_chunks_and_batches(
    seeded: Workspace, write: Write, db_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A UTF-16 file read in odd-sized chunks and small batches locates a late bad row."""
    monkeypatch.setattr(cstool.csvfile, "CHUNK", 1001)
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    text = (
        usage_csv(60, {"U1": "A1", "U2": "A2"}, 10)
        .replace(",feature", ",fonctionnalité")
        .replace("fonctionnalité,", "feature,", 1)
    )
    path = write("usage.csv", (text + "2026-05-01,A1,U1,é,lots\n").encode("utf-16"))
    before = db_snapshot(seeded.db_path)
    with pytest.raises(InputError) as e:
        load(seeded, "usage", path, encoding="utf-16")
    assert [str(p) for p in e.value.problems] == [
        "usage.csv: line 1202 (record 1201), column events: 'lots' is not a whole number "
        "(user 'U1')"
    ]
    assert db_snapshot(seeded.db_path) == before
    path.write_bytes(text.encode("utf-16"))
    assert load(seeded, "usage", path, encoding="utf-16").inserted == 1200
    assert rows(seeded, "SELECT DISTINCT feature FROM usage_rows ORDER BY 1")[0] == (
        "fonctionnalité0",
    )


def test_utf16_rejects_file_holds_the_bad_rows(ws: Workspace, write: Write) -> None:
    """With --allow-rejects, a UTF-16 file's bad rows reach the rejects file as text."""
    text = 'account_id,name,arr\nA1,"Zoë\nCorp",1\nA2,東京,x\n'
    path = write("a.csv", text.encode("utf-16"))
    with pytest.raises(PartialFailure) as e:
        load(ws, "accounts", path, encoding="utf-16", allow_rejects=True)
    with e.value.result.rejects_file.open(encoding="utf-8", newline="") as f:  # type: ignore[attr-defined]
        assert list(csv.reader(f))[1:] == [
            ["4", "2", "arr: 'x' is not a number (account 'A2')", "A2", "東京", "x"]
        ]
    assert rows(ws, "SELECT account_id, name FROM accounts") == [("A1", "Zoë\nCorp")]


def test_a_folder_is_not_a_file(ws: Workspace, tmp_path: Path, db_snapshot: Snapshot) -> None:
    """Loading a folder says it is a folder, and names the CSV files in it."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "accounts.csv").write_text("account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    with pytest.raises(InputError) as e:
        load(ws, "accounts", tmp_path / "exports")
    assert str(e.value) == f"{tmp_path / 'exports'} is a folder, not a file"
    assert e.value.hint == "pass one of the CSV files in it: accounts.csv"
    assert db_snapshot(ws.db_path) == before


def test_column_mapping_from_config(ws: Workspace, write: Write) -> None:
    """A header renamed in cstool.yaml loads into its canonical column."""
    ws.config_path.write_text(
        "exports:\n  accounts:\n    columns: {'Account ID': account_id, 'Account Name': name}\n",
        encoding="utf-8",
    )
    ws = open_workspace(ws.root)
    load(ws, "accounts", write("a.csv", "Account ID,Account Name,Owner\nA1,Acme,Kim\n"))
    assert rows(ws, "SELECT account_id, name, attributes FROM accounts") == [
        ("A1", "Acme", '{"Owner": "Kim"}')
    ]


def test_headers_match_in_any_case_after_trimming(ws: Workspace, write: Write) -> None:
    """Canonical names and cstool.yaml renames match whatever the case and surrounding spaces."""
    ws.config_path.write_text("exports:\n  accounts:\n    columns: {'Account ID': account_id}\n")
    ws = open_workspace(ws.root)
    text = " ACCOUNT id ,Name , Licenses_Purchased,Tier\nA1,Acme,12,Gold\n"
    load(ws, "accounts", write("a.csv", text))
    assert rows(ws, "SELECT account_id, name, licenses_purchased, attributes FROM accounts") == [
        ("A1", "Acme", 12, '{"Tier": "Gold"}')
    ]


@pytest.mark.parametrize(
    "text",
    [
        "account_id,name,\nA1,Acme,\nA2,Beta, \n",
        "account_id,name,,\r\nA1,Acme,,\r\nA2,Beta,,\r\n",
        'account_id,name,""\nA1,Acme,""\nA2,Beta,\n',
    ],
    ids=["one", "two_crlf", "quoted"],
)
def test_trailing_empty_header_fields_are_ignored(ws: Workspace, write: Write, text: str) -> None:
    """A trailing comma on every line leaves no empty column and no attribute."""
    r = load(ws, "accounts", write("a.csv", text))
    assert (r.rows, r.inserted) == (2, 2)
    assert rows(ws, "SELECT account_id, name, attributes FROM accounts ORDER BY 1") == [
        ("A1", "Acme", None),
        ("A2", "Beta", None),
    ]


TABBED = (
    "account_id\tname\tarr\tlicenses_purchased\nA1\tAcme; Inc\t1200.5\t1200\nA2\tBeta\t7.5\t3\n"
)
SEPARATED = {
    "semicolon_in_yaml": (
        {"delimiter": ";", "decimal": ",", "thousands": "."},
        {},
        'account_id;name;arr;licenses_purchased\nA1;"Acme; Inc";1.200,50;1.200\nA2;Beta;7,5;3\n',
    ),
    "tab_spelled_in_yaml": (
        {"delimiter": "\\t"},
        {},
        TABBED,
    ),
    "tab_flag": (
        {},
        {"delimiter": "tab"},
        TABBED,
    ),
    "flag_over_yaml": (
        {"delimiter": "|", "thousands": ","},
        {"delimiter": ";"},
        'account_id;name;arr;licenses_purchased\nA1;"Acme; Inc";"1,200.5";"1,200"\nA2;Beta;7.5;3\n',
    ),
    "pipe_with_spaced_thousands": (
        {"delimiter": "|", "thousands": " ", "decimal": ","},
        {},
        "account_id|name|arr|licenses_purchased\nA1|Acme; Inc|1 200,5|1 200\nA2|Beta| 7,5 |3\n",
    ),
}


@pytest.mark.parametrize("exports,flags,text", list(SEPARATED.values()), ids=list(SEPARATED))
def test_delimiters_and_number_formats(
    ws: Workspace, write: Write, exports: dict[str, str], flags: dict[str, str], text: str
) -> None:
    """Semicolons, tabs and pipes, from cstool.yaml or the flag, with the numbers' marks."""
    ws = with_exports(ws, "accounts", exports)
    r = load(ws, "accounts", write("a.csv", text), **flags)
    assert r.inserted == 2
    got = rows(ws, "SELECT account_id, name, arr, licenses_purchased FROM accounts ORDER BY 1")
    assert got[1] == ("A2", "Beta", 7.5, 3)
    assert got[0][2:] == (1200.5, 1200)


def test_allow_rejects_with_semicolons(ws: Workspace, write: Write) -> None:
    """A semicolon-separated file's bad rows reach the rejects file field by field."""
    ws = with_exports(ws, "accounts", {"delimiter": ";", "decimal": ","})
    path = write("a.csv", 'account_id;name;arr\nA1;"Acme; Inc";1,5\nA2;Beta;1.5\n')
    with pytest.raises(PartialFailure) as e:
        load(ws, "accounts", path, allow_rejects=True)
    with e.value.result.rejects_file.open(encoding="utf-8", newline="") as f:  # type: ignore[attr-defined]
        assert list(csv.reader(f))[1:] == [
            [
                "3",
                "2",
                "arr: '1.5' is not a number written with decimal mark ',' (account 'A2')",
                "A2",
                "Beta",
                "1.5",
            ]
        ]
    assert rows(ws, "SELECT account_id, name, arr FROM accounts") == [("A1", "Acme; Inc", 1.5)]


def test_reading_settings_are_part_of_the_fingerprint(ws: Workspace, write: Write) -> None:
    """The same file read with another delimiter or number format loads again; with the same
    settings (the flag equal to cstool.yaml) it is skipped."""
    path = write("a.csv", 'account_id;name;arr\nA1;Acme;"1.200"\n')
    ws = with_exports(ws, "accounts", {"delimiter": ";"})
    load(ws, "accounts", path)
    assert rows(ws, "SELECT arr FROM accounts") == [(1.2,)]
    assert load(ws, "accounts", path, delimiter=";").skipped
    ws = with_exports(ws, "accounts", {"delimiter": ";", "thousands": ".", "decimal": ","})
    again = load(ws, "accounts", path)
    assert (again.skipped, again.updated) == (False, 1)
    assert rows(ws, "SELECT arr FROM accounts") == [(1200.0,)]
    assert load(ws, "accounts", path).skipped


def test_default_settings_keep_the_fingerprint_of_earlier_loads(
    ws: Workspace, write: Write
) -> None:
    """With the reading settings at their defaults, the fingerprint is the one loads stored
    before delimiter and number formats existed, so those files are still skipped."""
    load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\n"))
    earlier = {
        "export": {"columns": {}, "date_formats": {}, "encoding": None},
        "date_format": "%Y-%m-%d",
        "encoding": "utf-8-sig",
    }
    digest = hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest()[:16]
    assert rows(ws, "SELECT settings FROM loads") == [(digest,)]


def test_a_bad_delimiter_flag_is_a_usage_error(ws: Workspace, write: Write) -> None:
    """A delimiter that is not one character (or tab) is refused with exit 2."""
    with pytest.raises(UsageError, match="'ab' cannot separate fields") as e:
        load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\n"), delimiter="ab")
    assert e.value.exit_code == 2


def test_date_format_per_column(ws: Workspace, write: Write) -> None:
    """A per-column date format reads that column; the others keep the default."""
    ws.config_path.write_text(
        "exports:\n  accounts:\n    date_formats: {renewal_date: '%m/%d/%Y'}\n", encoding="utf-8"
    )
    ws = open_workspace(ws.root)
    text = "account_id,name,renewal_date,onboarding_date\nA1,Acme,12/31/2026,2025-01-15\n"
    load(ws, "accounts", write("a.csv", text))
    assert rows(ws, "SELECT renewal_date, onboarding_date FROM accounts") == [
        ("2026-12-31", "2025-01-15")
    ]
    with pytest.raises(InputError) as e:
        load(ws, "accounts", write("b.csv", "account_id,name,renewal_date\nA1,Acme,2026-12-31\n"))
    assert "column renewal_date: '2026-12-31' is not a date in the format %m/%d/%Y" in error_text(
        e.value
    )


# -- the bad-input catalogue -----------------------------------------------------------------


@pytest.mark.parametrize("kind,content,fragments", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_is_rejected_and_changes_nothing(
    seeded: Workspace,
    write: Write,
    db_snapshot: Snapshot,
    kind: str,
    content: str | bytes,
    fragments: list[str],
) -> None:
    """Each bad input fails with exit 1, says where and what, and writes nothing."""
    before = db_snapshot(seeded.db_path)
    with pytest.raises(InputError) as e:
        load(seeded, kind, write(f"{kind}.csv", content))
    assert e.value.exit_code == 1
    text = error_text(e.value)
    for fragment in fragments:
        assert fragment in text
    assert db_snapshot(seeded.db_path) == before
    assert not seeded.rejects_dir.exists()


def with_exports(ws: Workspace, kind: str, exports: dict[str, Any] | None) -> Workspace:
    """The workspace reopened with ``exports`` as the kind's section of cstool.yaml."""
    if exports:
        section = json.dumps({"exports": {kind: exports}}, ensure_ascii=False)
        ws.config_path.write_text(section, encoding="utf-8")  # JSON is YAML
    return open_workspace(ws.root)


@pytest.mark.parametrize(
    "kind,content,settings,fragments",
    list(BAD_INPUTS_WITH_SETTINGS.values()),
    ids=list(BAD_INPUTS_WITH_SETTINGS),
)
def test_bad_input_with_settings_is_rejected_and_changes_nothing(
    seeded: Workspace,
    write: Write,
    db_snapshot: Snapshot,
    kind: str,
    content: str | bytes,
    settings: dict[str, Any],
    fragments: list[str],
) -> None:
    """Each bad input read with its settings fails with exit 1, located, writing nothing."""
    ws = with_exports(seeded, kind, settings.get("exports"))
    before = db_snapshot(ws.db_path)
    with pytest.raises(InputError) as e:
        load(ws, kind, write(f"{kind}.csv", content), **settings.get("flags", {}))
    assert e.value.exit_code == 1
    text = error_text(e.value)
    for fragment in fragments:
        assert fragment in text
    assert db_snapshot(ws.db_path) == before
    assert not ws.rejects_dir.exists()


def test_many_problems_keep_the_first_twenty_with_the_total(
    ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """With many bad rows the earliest 20 are kept, in file order, and all are counted."""
    lines = ["account_id,name,licenses_purchased", "A0,Zero,1,surplus"]
    lines += [f"A{i},N{i},{'-1' if i % 2 else i}" for i in range(1, 91)]
    before = db_snapshot(ws.db_path)
    with pytest.raises(InputError) as e:
        load(ws, "accounts", write("a.csv", "\n".join(lines) + "\n"))
    assert str(e.value) == "46 problems in a.csv; nothing was loaded"
    assert e.value.total == 46
    assert len(e.value.problems) == MAX_REPORTED == 20
    located = [str(p) for p in e.value.problems]
    assert located[0] == "a.csv: line 2 (record 1): has 4 fields, the header has 3"
    assert located[1] == (
        "a.csv: line 3 (record 2), column licenses_purchased: '-1' is below the minimum 0 "
        "(account 'A1')"
    )
    assert located[-1].startswith("a.csv: line 39 (record 38), ")
    assert db_snapshot(ws.db_path) == before


def test_problems_across_batches_have_exact_records(
    ws: Workspace, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad rows in many small batches are located at their true line and record."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    lines = ["account_id,name,licenses_purchased"]
    for i in range(2000):
        if i % 200 == 50:
            lines.append(f"A{i},N{i},1,surplus")
        elif i % 200 == 70:
            lines.append(f'A{i},"N\n{i}",-1')
        else:
            lines.append(f"A{i},N{i},{i}")
    with pytest.raises(InputError) as e:
        load(ws, "accounts", write("a.csv", "\n".join(lines) + "\n"))
    assert e.value.total == 20
    # Row i is record i + 1 and starts on line i + 2, plus one line per earlier row that
    # holds a newline (70 mod 200).
    expected = []
    for i in sorted(i for i in range(2000) if i % 200 in (50, 70)):
        line = i + 2 + sum(1 for j in range(i) if j % 200 == 70)
        if i % 200 == 50:
            expected.append(f"a.csv: line {line} (record {i + 1}): has 4 fields, the header has 3")
        else:
            expected.append(
                f"a.csv: line {line} (record {i + 1}), column licenses_purchased: "
                f"'-1' is below the minimum 0 (account 'A{i}')"
            )
    assert [str(p) for p in e.value.problems] == expected


# -- --allow-rejects ---------------------------------------------------------------------------


def test_allow_rejects_loads_the_good_rows(ws: Workspace, write: Write) -> None:
    """Good rows load; bad ones go to rejects/ with line, record and problem; exit 4."""
    text = (
        "account_id,name,licenses_purchased\n"
        "A1,Acme,10\n"
        'A2,"Beta\nCorp",-1\n'
        "A3,Gamma,3\n"
        "A4,Delta,4,surplus\n"
        "A5,Epsilon,5\n"
    )
    path = write("accounts.csv", text)
    with pytest.raises(PartialFailure) as e:
        load(ws, "accounts", path, allow_rejects=True)
    assert e.value.exit_code == 4
    result = e.value.result
    assert (result.rows, result.rejected, result.inserted) == (5, 2, 3)  # type: ignore[attr-defined]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rejects = ws.rejects_dir / f"accounts-{sha[:12]}.csv"
    assert result.rejects_file == rejects  # type: ignore[attr-defined]
    assert str(e.value) == (
        f"2 of 5 rows rejected to rejects/accounts-{sha[:12]}.csv; the other rows are loaded"
    )
    assert sorted(p.name for p in ws.rejects_dir.iterdir()) == [rejects.name]
    with rejects.open(encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [
            ["line", "record", "problem", "account_id", "name", "licenses_purchased"],
            [
                "3",
                "2",
                "licenses_purchased: '-1' is below the minimum 0 (account 'A2')",
                "A2",
                "Beta\nCorp",
                "-1",
            ],
            ["6", "4", "has 4 fields, the header has 3", "A4", "Delta", "4", "surplus"],
        ]
    assert rows(ws, "SELECT account_id FROM accounts ORDER BY 1") == [("A1",), ("A3",), ("A5",)]
    assert rows(ws, "SELECT rows, rejected FROM loads") == [(5, 2)]


def test_allow_rejects_after_blank_lines(ws: Workspace, write: Write) -> None:
    """Blank lines are not records: the rejects file holds the bad rows at their lines."""
    path = write("a.csv", "account_id,name,arr\n\nA1,Acme,1\n\n\nA2,Beta,x\nA3,G,1,2\n")
    with pytest.raises(PartialFailure) as e:
        load(ws, "accounts", path, allow_rejects=True)
    assert [str(p) for p in e.value.problems] == [
        "a.csv: line 6 (record 2), column arr: 'x' is not a number (account 'A2')",
        "a.csv: line 7 (record 3): has 4 fields, the header has 3",
    ]
    with e.value.result.rejects_file.open(encoding="utf-8", newline="") as f:  # type: ignore[attr-defined]
        assert list(csv.reader(f))[1:] == [
            ["6", "2", "arr: 'x' is not a number (account 'A2')", "A2", "Beta", "x"],
            ["7", "3", "has 4 fields, the header has 3", "A3", "G", "1", "2"],
        ]
    assert rows(ws, "SELECT account_id FROM accounts") == [("A1",)]


def test_allow_rejects_names_the_file_by_hash_not_data(ws: Workspace, write: Write) -> None:
    """A hostile value never reaches the rejects file's name."""
    path = write("x.csv", "account_id,name,arr\n../../etc/passwd,Evil,lots\n")
    with pytest.raises(PartialFailure):
        load(ws, "accounts", path, allow_rejects=True)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.name for p in ws.rejects_dir.iterdir()] == [f"accounts-{sha[:12]}.csv"]
    assert rows(ws, "SELECT COUNT(*) FROM accounts") == [(0,)]


def test_allow_rejects_with_small_batches(
    ws: Workspace, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across many batches exactly the bad rows are rejected and every good row loads."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    lines = ["account_id,name,licenses_purchased"]
    bad = set()
    for i in range(3000):
        if i % 100 == 50:
            lines.append(f"A{i},N{i},1,surplus")
            bad.add(f"A{i}")
        elif i % 100 == 70:
            lines.append(f'A{i},"N\n{i}",-1')
            bad.add(f"A{i}")
        else:
            lines.append(f"A{i},N{i},{i}")
    with pytest.raises(PartialFailure) as e:
        load(ws, "accounts", write("a.csv", "\n".join(lines) + "\n"), allow_rejects=True)
    assert e.value.total == len(bad) == 60
    loaded = {r[0] for r in rows(ws, "SELECT account_id FROM accounts")}
    assert loaded == {f"A{i}" for i in range(3000)} - bad
    rejects = e.value.result.rejects_file  # type: ignore[attr-defined]
    with rejects.open(encoding="utf-8", newline="") as f:
        assert sorted(r[3] for r in list(csv.reader(f))[1:]) == sorted(bad)


def test_allow_rejects_after_one_pass_rejects_a_bad_row_and_its_duplicate(
    seeded: Workspace, write: Write
) -> None:
    """A bad row and a later row with its key are both rejected in one go; a feature name
    only a rejected row uses is not stored."""
    text = (
        "date,account_id,user_id,feature,events\n"
        "2026-01-05,A1,U1,reports,x\n"
        "2026-01-05,A1,U1,reports,2\n"
        "2026-01-06,A1,U1,reports,3\n"
        "2026-01-06,A1,U1,lonely,-1\n"
    )
    with pytest.raises(PartialFailure) as e:
        load(seeded, "usage", write("usage.csv", text), allow_rejects=True)
    assert e.value.total == 3
    assert [p.location.record for p in e.value.problems] == [1, 2, 4]
    assert rows(seeded, "SELECT date, feature, events FROM usage_rows") == [
        ("2026-01-06", "reports", 3)
    ]
    assert rows(seeded, "SELECT feature FROM feature_names") == [("reports",)]


def test_allow_rejects_keeps_a_rejected_key_in_replace_mode(
    seeded: Workspace, write: Write
) -> None:
    """Users whose rows were rejected (bad value, or a duplicate of one) are not deleted."""
    text = "user_id,account_id,is_advocate\nU1,A1,perhaps\nU1,A1,yes\nU3,A2,no\n"
    with pytest.raises(PartialFailure) as e:
        load(seeded, "users", write("u.csv", text), mode="replace", allow_rejects=True)
    assert e.value.result.rejected == 2  # type: ignore[attr-defined]
    assert rows(seeded, "SELECT user_id FROM users ORDER BY 1") == [("U1",), ("U3",)]


def test_rejected_rows_are_not_marked_inactive(ws: Workspace, write: Write) -> None:
    """An account whose row was rejected is still in the export, so it stays active."""
    load(ws, "accounts", write("a.csv", "account_id,name,arr\nA1,Acme,1\nA2,Beta,2\nA3,Gamma,3\n"))
    with pytest.raises(PartialFailure) as e:
        load(
            ws,
            "accounts",
            write("b.csv", "account_id,name,arr\nA1,Acme,1\nA2,Beta,x\n"),
            mode="replace",
            allow_rejects=True,
        )
    assert e.value.result.deactivated == 1  # type: ignore[attr-defined]
    assert rows(ws, "SELECT account_id, arr, active FROM accounts ORDER BY 1") == [
        ("A1", 1.0, 1),
        ("A2", 2.0, 1),
        ("A3", 3.0, 0),
    ]


def test_rejected_rows_are_not_deleted_by_replace(seeded: Workspace, write: Write) -> None:
    """In replace mode a rejected row does not delete the stored row with its key."""
    with pytest.raises(PartialFailure):
        load(
            seeded,
            "users",
            write("u.csv", "user_id,account_id,is_advocate\nU1,A1,yes\nU2,A2,perhaps\n"),
            mode="replace",
            allow_rejects=True,
        )
    assert rows(seeded, "SELECT user_id, is_advocate FROM users ORDER BY 1") == [
        ("U1", 1),
        ("U2", None),
    ]


def test_reloading_after_rejects_loads_again(ws: Workspace, write: Write) -> None:
    """A file that had rejects is not skipped as already loaded."""
    path = write("a.csv", "account_id,name,arr\nA1,Acme,1\nA2,Beta,x\n")
    with pytest.raises(PartialFailure):
        load(ws, "accounts", path, allow_rejects=True)
    with pytest.raises(InputError):
        load(ws, "accounts", path)


# -- locking and atomicity ---------------------------------------------------------------------


def test_load_refuses_while_locked(ws: Workspace, write: Write, db_snapshot: Snapshot) -> None:
    """A load while another writer holds the lock fails with exit 3 and writes nothing."""
    path = write("a.csv", "account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    with ws.writing(), pytest.raises(LockHeld) as e:
        load(ws, "accounts", path)
    assert e.value.exit_code == 3
    assert db_snapshot(ws.db_path) == before
    assert load(ws, "accounts", path).inserted == 1


def test_crash_mid_load_rolls_everything_back(
    seeded: Workspace, write: Write, db_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in the 2nd batch leaves the database as it was."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    path = write("usage.csv", usage_csv(150, {"U1": "A1", "U2": "A2"}, 10))
    real = cstool.store.usage.upsert
    calls: list[int] = []

    def flaky(db: sqlite3.Connection, rows: object, **how: bool) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(db, rows, **how)  # type: ignore[arg-type]

    monkeypatch.setattr(cstool.store.usage, "upsert", flaky)
    before = db_snapshot(seeded.db_path)
    with pytest.raises(RuntimeError, match="disk on fire"):
        load(seeded, "usage", path)
    assert len(calls) == 2
    assert db_snapshot(seeded.db_path) == before
    monkeypatch.setattr(cstool.store.usage, "upsert", real)
    r = load(seeded, "usage", path)
    assert r.inserted == 3000


def _open_files() -> set[str]:
    """The paths this process has open (Linux)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            out.add(os.readlink(f"/proc/self/fd/{fd}"))
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failed_write_stops_the_checker_and_closes_the_file(
    seeded: Workspace, write: Write, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    """A write that fails mid-load (an error, or Ctrl-C) leaves no checker thread running
    and the file closed, Arrow's reader with it, by the time the failure reaches the caller."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    path = write("usage.csv", usage_csv(150, {"U1": "A1", "U2": "A2"}, 10))
    real = cstool.store.usage.upsert
    calls: list[int] = []

    def failing(db: sqlite3.Connection, rows: object, **how: bool) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise failure
        return real(db, rows, **how)  # type: ignore[arg-type]

    monkeypatch.setattr(cstool.store.usage, "upsert", failing)
    with pytest.raises(type(failure)):
        load(seeded, "usage", path)
    assert len(calls) == 2
    assert [t for t in threading.enumerate() if t.name == "cstool-check"] == []
    assert str(path) not in _open_files()


def test_prefetch_closes_its_items_on_the_worker() -> None:
    """A consumer that stops early has the producer closed on the worker thread, joined."""
    closed_on: list[str] = []

    def items() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed_on.append(threading.current_thread().name)

    with contextlib.closing(_prefetch(items())) as batches:
        assert next(batches) == 0
    assert closed_on == ["cstool-check"]
    assert [t for t in threading.enumerate() if t.name == "cstool-check"] == []


def test_late_problem_rolls_back_earlier_batches(
    seeded: Workspace, write: Write, db_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad row in the last batch undoes the rows written from the first batches."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    text = usage_csv(100, {"U1": "A1", "U2": "A2"}, 10) + "2026-05-01,A1,U1,reports,many\n"
    before = db_snapshot(seeded.db_path)
    with pytest.raises(InputError) as e:
        load(seeded, "usage", write("usage.csv", text))
    assert (
        "usage.csv: line 2002 (record 2001), column events: 'many' is not a whole number"
        in error_text(e.value)
    )
    assert db_snapshot(seeded.db_path) == before


def test_usage_duplicates_across_batches(
    seeded: Workspace, write: Write, db_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate usage key far from its first row is found and located."""
    monkeypatch.setattr(cstool.csvfile, "BATCH_BYTES", 4096)
    text = usage_csv(100, {"U1": "A1", "U2": "A2"}, 10) + "2026-01-01,A1,U1,feature0,5\n"
    before = db_snapshot(seeded.db_path)
    with pytest.raises(InputError) as e:
        load(seeded, "usage", write("usage.csv", text))
    assert (
        "usage.csv: line 2002 (record 2001), column date, user_id, feature: "
        "duplicate key (date, user_id, feature); first seen at record 1 (user 'U1')"
    ) in error_text(e.value)
    assert db_snapshot(seeded.db_path) == before


# -- the shipped sample data -------------------------------------------------------------------


def test_sample_data_loads_cleanly(tmp_path: Path) -> None:
    """Every sample export loads in order with no problem, and reloading changes nothing."""
    from cstool.schemas import LOAD_ORDER
    from cstool.workspace import init_workspace

    init_workspace(tmp_path / "acme", sample=True)
    ws = open_workspace(tmp_path / "acme")
    for kind in LOAD_ORDER:
        path = ws.root / "data" / f"{kind}.csv"
        with path.open(encoding="utf-8-sig", newline="") as f:
            records = sum(1 for _ in csv.reader(f)) - 1
        r = load(ws, kind, path)
        assert (kind, r.rows, r.inserted, r.rejected) == (kind, records, records, 0)
        assert records > 0
    assert all(load(ws, kind, ws.root / "data" / f"{kind}.csv").skipped for kind in LOAD_ORDER)


def test_same_file_read_with_new_settings_loads_again(ws: Workspace, write: Write) -> None:
    """An identical file is skipped only while the settings that read it are unchanged."""
    path = write("a.csv", "account_id,name,Tier\nA1,Acme,SMB\n")
    load(ws, "accounts", path)
    assert load(ws, "accounts", path).skipped
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        config.replace("    columns: {}", "    columns: {Tier: segment}"), encoding="utf-8"
    )
    again = load(open_workspace(ws.root), "accounts", path)
    assert not again.skipped
    assert again.updated == 1
    assert rows(ws, "SELECT segment FROM accounts") == [("SMB",)]


def test_email_events_without_url_column_load(ws: Workspace, write: Write) -> None:
    """url is part of the email_events key but may be absent; it is stored as ''."""
    path = write(
        "e.csv",
        "message_id,event,timestamp\n<m1@x>,open,2026-11-20T10:00:00Z\n"
        "<m1@x>,delivered,2026-11-20T09:59:00+00:00\n",
    )
    assert load(ws, "email_events", path).inserted == 2
    assert rows(ws, "SELECT event, timestamp, url FROM email_events ORDER BY 2") == [
        ("delivered", "2026-11-20T09:59:00Z", ""),
        ("open", "2026-11-20T10:00:00Z", ""),
    ]


def test_usage_date_outside_the_packable_range_is_rejected(
    seeded: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """A usage date before 1970 is reported with its line, and nothing is written."""
    before = db_snapshot(seeded.db_path)
    path = write("u.csv", "date,account_id,user_id,feature\n1969-12-31,A1,U1,reports\n")
    with pytest.raises(InputError) as e:
        load(seeded, "usage", path)
    assert [str(p) for p in e.value.problems] == [
        "u.csv: line 2 (record 1), column date: 1969-12-31 is outside 1970..4840 (user 'U1')"
    ]
    assert db_snapshot(seeded.db_path) == before


def test_usage_replace_with_allow_rejects_is_refused(seeded: Workspace, write: Write) -> None:
    """Replacing usage would drop rejected rows' history, so the combination is refused."""
    path = write("u.csv", usage_csv(2, {"U1": "A1"}, 1))
    with pytest.raises(UsageError, match="cannot be combined for usage"):
        load(seeded, "usage", path, mode="replace", allow_rejects=True)


def test_a_database_that_is_not_one_is_an_environment_error(ws: Workspace, write: Write) -> None:
    """A cstool.db overwritten with text is reported (exit 3), not a traceback."""
    ws.db_path.write_text("not a database, just text\n" * 100)
    for extra in ("-wal", "-shm"):
        Path(str(ws.db_path) + extra).unlink(missing_ok=True)
    with pytest.raises(CstoolError) as e:
        load(ws, "accounts", write("a.csv", "account_id,name\nA1,Acme\n"))
    assert e.value.exit_code == 3
    assert "cannot open the database cstool.db" in e.value.message
