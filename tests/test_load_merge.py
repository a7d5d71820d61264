"""Partial exports: an upsert keeps what the file does not have, columns and attributes alike."""

from __future__ import annotations

import json
import sqlite3
import string
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loading import load

from cstool.workspace import Workspace, init_workspace, open_workspace

Write = Callable[[str, str | bytes], Path]

FULL = (
    "account_id,name,industry,csm,arr,Tier,Health Note\n"
    "A1,Acme,Retail,Priya Raman,1000,Gold,watch out\n"
    "A2,Beta,Banking,Tom Li,2500.5,Silver,fine\n"
    "A3,Gamma,Retail,Tom Li,300,Bronze,new\n"
)


def stored(ws: Workspace) -> dict[str, tuple[object, ...]]:
    """Each account's canonical columns and parsed attributes, by account_id."""
    db = sqlite3.connect(ws.db_path)
    try:
        cur = db.execute(
            "SELECT account_id, name, industry, csm, arr, active, attributes FROM accounts"
        )
        return {r[0]: (*r[1:6], json.loads(r[6]) if r[6] else None) for r in cur}
    finally:
        db.close()


def manifest(ws: Workspace) -> list[tuple[object, ...]]:
    """(rows, inserted, updated, unchanged, deactivated) of every load, oldest first."""
    db = sqlite3.connect(ws.db_path)
    try:
        return list(
            db.execute(
                "SELECT rows, inserted, updated, unchanged, deactivated FROM loads ORDER BY load_id"
            )
        )
    finally:
        db.close()


def test_partial_upsert_keeps_absent_columns_and_attributes(ws: Workspace, write: Write) -> None:
    """A file with fewer columns updates the ones it has and keeps the others, attributes too."""
    load(ws, "accounts", write("full.csv", FULL))
    partial = "account_id,name,csm,Tier\nA1,Acme,Tom Li,Platinum\nA2,Beta,Tom Li,Silver\n"
    r = load(ws, "accounts", write("partial.csv", partial))
    assert (r.rows, r.inserted, r.updated, r.unchanged, r.deactivated) == (2, 0, 1, 1, 0)
    got = stored(ws)
    assert got["A1"] == ("Acme", "Retail", "Tom Li", 1000.0, 1, got["A1"][5])
    assert got["A1"][5] == {"Tier": "Platinum", "Health Note": "watch out"}
    assert got["A2"] == (
        "Beta",
        "Banking",
        "Tom Li",
        2500.5,
        1,
        {"Tier": "Silver", "Health Note": "fine"},
    )
    assert got["A3"] == (
        "Gamma",
        "Retail",
        "Tom Li",
        300.0,
        1,
        {"Tier": "Bronze", "Health Note": "new"},
    )
    assert manifest(ws) == [(3, 3, 0, 0, 0), (2, 0, 1, 1, 0)]


def test_partial_upsert_without_attributes_keeps_them(ws: Workspace, write: Write) -> None:
    """A file with no extra columns leaves every stored attribute as it was."""
    load(ws, "accounts", write("full.csv", FULL))
    r = load(ws, "accounts", write("names.csv", "account_id,name\nA1,Acme Corp\nA2,Beta\n"))
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 1)
    got = stored(ws)
    assert got["A1"] == ("Acme Corp", "Retail", "Priya Raman", 1000.0, 1, got["A1"][5])
    assert [got[a][5] for a in ("A1", "A2")] == [
        {"Tier": "Gold", "Health Note": "watch out"},
        {"Tier": "Silver", "Health Note": "fine"},
    ]


def test_an_empty_cell_clears_a_present_column(ws: Workspace, write: Write) -> None:
    """An empty cell in a column the file has clears it: null for a canonical column, empty
    text for an attribute; columns the file lacks stay."""
    load(ws, "accounts", write("full.csv", FULL))
    text = "account_id,name,industry,Tier\nA1,Acme,,\nA2,Beta,Banking,Silver\n"
    r = load(ws, "accounts", write("p.csv", text))
    assert (r.updated, r.unchanged) == (1, 1)
    assert stored(ws)["A1"] == (
        "Acme",
        None,
        "Priya Raman",
        1000.0,
        1,
        {"Tier": "", "Health Note": "watch out"},
    )


def test_partial_reload_is_idempotent(ws: Workspace, write: Write) -> None:
    """The same partial rows loaded again (in a new file) count as unchanged and change nothing."""
    load(ws, "accounts", write("full.csv", FULL))
    load(ws, "accounts", write("p1.csv", "account_id,name,csm,Tier\nA1,Acme,Tom Li,Platinum\n"))
    after = stored(ws)
    text = "name,account_id,Tier,csm\r\nAcme,A1,Platinum,Tom Li\r\n"
    again = load(ws, "accounts", write("p2.csv", text))
    assert not again.skipped
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (1, 0, 0, 1)
    assert stored(ws) == after
    # And the full file again restores what it says, counting only the row it changes.
    full = load(ws, "accounts", write("full2.csv", FULL.replace("\n", "\r\n")))
    assert (full.inserted, full.updated, full.unchanged) == (0, 1, 2)
    assert stored(ws)["A1"][2:] == (
        "Priya Raman",
        1000.0,
        1,
        {"Tier": "Gold", "Health Note": "watch out"},
    )


def test_new_attribute_keys_are_added_to_stored_ones(ws: Workspace, write: Write) -> None:
    """A column seen for the first time joins the stored attributes of the rows it names."""
    load(ws, "accounts", write("full.csv", FULL))
    r = load(ws, "accounts", write("nps.csv", "account_id,name,NPS Owner\nA3,Gamma,Kim\n"))
    assert (r.updated, r.unchanged) == (1, 0)
    assert stored(ws)["A3"][5] == {"Tier": "Bronze", "Health Note": "new", "NPS Owner": "Kim"}


def test_replace_takes_the_file_as_the_whole_truth(ws: Workspace, write: Write) -> None:
    """--mode replace empties the columns and drops the attributes the file does not have."""
    load(ws, "accounts", write("full.csv", FULL))
    r = load(
        ws,
        "accounts",
        write("r.csv", "account_id,name,Tier\nA1,Acme,Gold\n"),
        mode="replace",
        force=True,  # it retires two of three accounts
    )
    assert (r.updated, r.unchanged, r.deactivated) == (1, 0, 2)
    assert stored(ws)["A1"] == ("Acme", None, None, None, 1, {"Tier": "Gold"})
    assert stored(ws)["A2"][4] == 0


def test_usage_attributes_merge_on_upsert(seeded: Workspace, write: Write) -> None:
    """Usage rows keep attribute keys a later file lacks, and count as unchanged when equal."""
    head = "date,account_id,user_id,feature,events"
    load(seeded, "usage", write("u1.csv", f"{head},source,region\n2026-01-01,A1,U1,f,3,web,eu\n"))
    r = load(seeded, "usage", write("u2.csv", f"{head},source\n2026-01-01,A1,U1,f,3,app\n"))
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 0)
    r = load(seeded, "usage", write("u3.csv", f"{head},region\n2026-01-01,A1,U1,f,3,eu\n"))
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 1)
    db = sqlite3.connect(seeded.db_path)
    (attrs,) = db.execute("SELECT attributes FROM usage").fetchone()
    db.close()
    assert json.loads(attrs) == {"source": "app", "region": "eu"}


# -- the merge as a property -------------------------------------------------------------------

# name is required, so every file has it.
COLUMNS = ("name", "industry", "csm", "Tier", "Note")
text = st.text(string.ascii_letters + " ", max_size=6).map(str.strip)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.lists(st.tuples(*[text] * 5), min_size=1, max_size=4),
    subset=st.sets(st.sampled_from(COLUMNS[1:]), max_size=4),
    second=st.lists(st.tuples(*[text] * 5), min_size=1, max_size=4),
)
def test_a_partial_upsert_is_a_merge(
    first: list[tuple[str, ...]],
    subset: set[str],
    second: list[tuple[str, ...]],
) -> None:
    """For any full file and any subset of its columns, each stored row ends as the full row
    with the subset's values laid over it, and the counts say which rows changed."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root / "ws")
        ws = open_workspace(root / "ws")
        names = [f"N{i}" if not v[0] else v[0] for i, v in enumerate(first)]
        full = [
            {"account_id": f"A{i}", **dict(zip(COLUMNS, (names[i], *v[1:]), strict=True))}
            for i, v in enumerate(first)
        ]
        (root / "a.csv").write_text(_csv(["account_id", *COLUMNS], full), encoding="utf-8")
        load(ws, "accounts", root / "a.csv")
        cols = [c for c in COLUMNS if c in subset or c == "name"]
        # The second file names some of the same accounts and maybe a new one (name given).
        patch = [
            {"account_id": f"A{i}", **dict(zip(COLUMNS, v, strict=True))}
            for i, v in enumerate(second)
        ]
        for row in patch:
            row["name"] = row["name"] or "X"
        (root / "b.csv").write_text(_csv(["account_id", *cols], patch), encoding="utf-8")
        r = load(ws, "accounts", root / "b.csv")
        expected = {row["account_id"]: dict(row) for row in full}
        changed = 0
        for row in patch:
            before = expected.get(row["account_id"])
            # A new row has what the file gives it: empty canonical columns otherwise.
            base = before or {"account_id": row["account_id"], "industry": "", "csm": ""}
            after = {**base, **{c: row[c] for c in cols}}
            changed += before is not None and after != before
            expected[row["account_id"]] = after
        assert (r.inserted, r.updated) == (len(patch) - min(len(patch), len(full)), changed)
        assert r.unchanged == len(patch) - r.inserted - r.updated
        assert _stored_rows(ws) == {
            a: {c: v for c, v in row.items() if c != "account_id"} for a, row in expected.items()
        }


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows([[row[c] for c in header] for row in rows])
    return out.getvalue()


def _stored_rows(ws: Workspace) -> dict[str, dict[str, str]]:
    """Stored rows as the CSV text they came from: null reads as an empty cell."""
    db = sqlite3.connect(ws.db_path)
    try:
        out = {}
        for a, name, industry, csm, attrs in db.execute(
            "SELECT account_id, name, industry, csm, attributes FROM accounts"
        ):
            row = {"name": name, "industry": industry or "", "csm": csm or ""}
            row.update(json.loads(attrs) if attrs else {})
            out[a] = row
        return out
    finally:
        db.close()
