"""Tests of the deterministic sample-data generator."""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cstool.errors import InputError
from cstool.sample import FILE_NAMES, generate
from cstool.schemas import KINDS, LOAD_ORDER

END = date(2026, 11, 20)
SMALL = {"accounts": 30, "days": 28, "seed": 11, "end": END}


def _read(directory: Path, kind: str) -> pd.DataFrame:
    return pd.read_csv(
        directory / FILE_NAMES[kind], dtype=str, keep_default_na=False, encoding="utf-8"
    )


def _tables(directory: Path) -> dict[str, pd.DataFrame]:
    return {kind: _read(directory, kind) for kind in LOAD_ORDER}


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", **SMALL)
    second = generate(tmp_path / "b", **SMALL)
    assert first.rows == second.rows
    for name in FILE_NAMES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    generate(tmp_path / "c", **{**SMALL, "seed": 12})
    usage = (tmp_path / "a" / "usage.csv").read_bytes()
    assert (tmp_path / "c" / "usage.csv").read_bytes() != usage


def test_subset_of_kinds_matches_full_run(tmp_path: Path) -> None:
    generate(tmp_path / "full", **SMALL)
    summary = generate(tmp_path / "part", kinds=["references", "usage"], **SMALL)
    assert list(summary.rows) == ["usage", "references"]
    assert sorted(p.name for p in (tmp_path / "part").iterdir()) == [
        "references.csv",
        "usage.csv",
    ]
    for name in ("usage.csv", "references.csv"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    generate(tmp_path, **SMALL)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError, match="already exists") as info:
        generate(tmp_path, **SMALL)
    assert info.value.hint == "choose an empty directory or remove the file"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before

    other = tmp_path / "other"
    other.mkdir()
    (other / "references.csv").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"references\.csv already exists"):
        generate(other, **SMALL)
    assert [p.name for p in other.iterdir()] == ["references.csv"]
    assert (other / "references.csv").read_text(encoding="utf-8") == "keep me\n"


def test_headers_are_the_declared_columns_and_counts_match(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = generate(tmp_path, progress=lambda done, total: calls.append((done, total)), **SMALL)
    assert list(summary.rows) == list(LOAD_ORDER)
    assert summary.directory == tmp_path
    assert summary.end == END
    assert calls[-1] == (SMALL["days"], SMALL["days"])
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert not list(tmp_path.glob("*.tmp"))
    for kind in LOAD_ORDER:
        raw = (tmp_path / FILE_NAMES[kind]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in raw
        with (tmp_path / FILE_NAMES[kind]).open(encoding="utf-8", newline="") as f:
            records = list(csv.reader(f))
        assert tuple(records[0]) == KINDS[kind].column_names
        assert len(records) - 1 == summary.rows[kind]
        assert summary.rows[kind] > 0, kind


def test_value_formats(tmp_path: Path) -> None:
    generate(tmp_path, **SMALL)
    t = _tables(tmp_path)
    iso_date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for kind, spec in KINDS.items():
        frame = t[kind]
        for column in spec.columns:
            values = frame[column.name]
            present = values[values != ""]
            if column.type.value == "date":
                assert present.str.match(iso_date).all(), (kind, column.name)
            elif column.type.value == "bool":
                assert present.isin(["true", "false"]).all(), (kind, column.name)
            elif column.type.value == "integer":
                assert present.str.fullmatch(r"\d+").all(), (kind, column.name)
            elif column.type.value == "timestamp":
                assert present.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
            if column.required:
                assert (values != "").all(), (kind, column.name)
            if column.choices:
                assert present.isin(column.choices).all(), (kind, column.name)
    assert t["accounts"]["account_id"].str.fullmatch(r"ACC-\d{5}").all()
    assert t["users"]["user_id"].str.fullmatch(r"USR-\d{6}").all()
    assert t["users"]["email"].str.fullmatch(r"[a-z0-9.]+@[a-z0-9]+\.example").all()
    assert set(t["accounts"]["segment"]) <= {"Enterprise", "Mid-Market", "SMB"}


def test_keys_are_unique_and_references_resolve(tmp_path: Path) -> None:
    generate(tmp_path, **SMALL)
    t = _tables(tmp_path)
    for kind, spec in KINDS.items():
        assert not t[kind].duplicated(list(spec.key)).any(), kind
        for ref in spec.references:
            values = t[kind][ref.column]
            values = values[values != ""]
            target = t[ref.kind][KINDS[ref.kind].key[0]]
            assert values.isin(target).all(), (kind, ref.column)

    user_account = t["users"].set_index("user_id")["account_id"]
    for kind in ("usage", "nps", "references"):
        frame = t[kind][t[kind]["user_id"] != ""]
        assert frame["account_id"].eq(frame["user_id"].map(user_account)).all(), kind
    assert t["references"]["opportunity_id"].isin(t["opportunities"]["opportunity_id"]).all()
    advocates = t["users"].set_index("user_id")["is_advocate"]
    assert t["references"]["user_id"].map(advocates).eq("true").all()

    usage = t["usage"]
    assert usage["feature"].isin(t["features"]["feature"]).all()
    events = usage["events"].astype(int)
    assert (events >= 0).all()
    assert (events == 0).mean() < 0.05


def test_usage_is_sorted_and_inside_the_window(tmp_path: Path) -> None:
    generate(tmp_path, **SMALL)
    usage = _read(tmp_path, "usage")
    start = END - timedelta(days=SMALL["days"] - 1)
    assert usage["date"].min() >= start.isoformat()
    assert usage["date"].max() <= END.isoformat()
    assert usage["date"].nunique() > SMALL["days"] // 2
    keys = list(zip(usage["date"], usage["user_id"], usage["feature"], strict=True))
    assert keys == sorted(keys)

    emails = _read(tmp_path, "email_events")
    assert emails["timestamp"].min() >= f"{start.isoformat()}T00:00:00Z"
    assert emails["timestamp"].max() <= f"{END.isoformat()}T23:59:59Z"
    nps = _read(tmp_path, "nps")
    assert nps["date"].between(start.isoformat(), END.isoformat()).all()


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    from cstool.errors import UsageError

    with pytest.raises(UsageError):
        generate(tmp_path, kinds=["accounts", "invoices"], **SMALL)
    assert not tmp_path.joinpath("accounts.csv").exists()
