"""Property tests: any text survives a CSV load, and problems are located exactly."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loading import load

from cstool.csvfile import record_lines
from cstool.errors import InputError, Location
from cstool.workspace import init_workspace, open_workspace

# Examples share the test's autouse isolation; each builds its own workspace in a temp dir.
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any character but NUL, with the characters CSV treats specially made common.
CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from([",", '"', "\r", "\n", "\r\n", " ", "=", "+", "-", "@", "é", "東", "🚀"]),
)
TEXT = st.lists(CHARS, max_size=30).map("".join)
LEADING = st.sampled_from(["", "=", "+", "-", "@"])
# Blank means missing, so a required value has something besides whitespace.
NAME = st.builds(lambda lead, body: lead + body, LEADING, TEXT).filter(lambda s: s.strip() != "")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# How Python's csv module may write a file. Not "\n" with minimal quoting: Python 3.11 then
# leaves a field holding a lone "\r" unquoted, which no reader can take back.
DIALECT = st.sampled_from(
    [("\r\n", csv.QUOTE_MINIMAL), ("\r\n", csv.QUOTE_ALL), ("\n", csv.QUOTE_ALL)]
)


def _csv(rows: list[list[str]], dialect: tuple[str, int]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=dialect[0], quoting=dialect[1]).writerows(rows)
    return buf.getvalue()


@SETTINGS
@given(
    names=st.lists(NAME, min_size=1, max_size=5),
    notes=st.lists(TEXT, min_size=5, max_size=5),
    dialect=DIALECT,
    bom=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-16-be"]),
)
def test_any_text_round_trips(
    names: list[str], notes: list[str], dialect: tuple[str, int], bom: bool, encoding: str
) -> None:
    """A name and an extra column written by Python's csv module read back unchanged, in
    UTF-8 or UTF-16 with or without a byte order mark."""
    header = ["account_id", "name", "Note"]
    rows = [[f"{i:05d}", name, notes[i]] for i, name in enumerate(names)]
    # Python's "utf-16" codec writes its own byte order mark.
    mark = "\ufeff" if bom and encoding != "utf-16" else ""
    text = mark + _csv([header, *rows], dialect)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root / "ws")
        ws = open_workspace(root / "ws")
        path = root / "accounts.csv"
        path.write_bytes(text.encode(encoding))
        result = load(ws, "accounts", path, encoding=encoding)
        assert result.inserted == len(names)
        db = sqlite3.connect(ws.db_path)
        try:
            got = list(db.execute("SELECT account_id, name, attributes FROM accounts ORDER BY 1"))
        finally:
            db.close()
    assert [(a, n, json.loads(attrs)) for a, n, attrs in got] == [
        (a, n, {"Note": note}) for a, n, note in rows
    ]


# (thousands, decimal) pairs that cstool.yaml accepts.
NUMBER_FORMATS = st.sampled_from(
    [(None, "."), (",", "."), (".", ","), (None, ","), (" ", ","), ("\u00a0", ","), ("'", ".")]
)


def _written(whole: int, fraction: str, thousands: str | None, decimal: str) -> str:
    """A number as a file writes it: digits grouped by threes, then the decimal mark."""
    digits = f"{whole:,}".replace(",", thousands) if thousands else str(whole)
    return digits + (decimal + fraction if fraction else "")


@SETTINGS
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    marks=NUMBER_FORMATS,
    names=st.lists(NAME, min_size=1, max_size=5),
    wholes=st.lists(st.integers(min_value=0, max_value=10**12), min_size=5, max_size=5),
    fractions=st.lists(st.text("0123456789", max_size=4), min_size=5, max_size=5),
    dialect=DIALECT,
)
def test_delimiter_and_number_formats_round_trip(
    delimiter: str,
    marks: tuple[str | None, str],
    names: list[str],
    wholes: list[int],
    fractions: list[str],
    dialect: tuple[str, int],
) -> None:
    """Names and numbers written with any delimiter, thousands separator and decimal mark
    read back equal when cstool.yaml names them."""
    thousands, decimal = marks
    header = ["account_id", "name", "arr", "licenses_purchased"]
    rows = [
        [f"A{i}", name, _written(wholes[i], fractions[i], thousands, decimal)]
        + [_written(wholes[-1 - i], "", thousands, decimal)]
        for i, name in enumerate(names)
    ]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=dialect[0], quoting=dialect[1]).writerows(
        [header, *rows]
    )
    settings = {"delimiter": "tab" if delimiter == "\t" else delimiter, "decimal": decimal}
    if thousands:
        settings["thousands"] = thousands
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root / "ws")
        (root / "ws" / "cstool.yaml").write_text(
            json.dumps({"exports": {"accounts": settings}}), encoding="utf-8"
        )
        ws = open_workspace(root / "ws")
        path = root / "accounts.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", newline="")
        assert load(ws, "accounts", path).inserted == len(names)
        db = sqlite3.connect(ws.db_path)
        try:
            got = list(
                db.execute(
                    "SELECT name, arr, licenses_purchased FROM accounts ORDER BY "
                    "CAST(substr(account_id, 2) AS INTEGER)"
                )
            )
        finally:
            db.close()
    assert got == [
        (name, float(f"{wholes[i]}.{fractions[i] or 0}"), wholes[-1 - i])
        for i, name in enumerate(names)
    ]


@SETTINGS
@given(names=st.lists(NAME, max_size=8), dialect=DIALECT)
def test_bad_record_is_located_after_multiline_fields(
    names: list[str], dialect: tuple[str, int]
) -> None:
    """A record with too many fields is reported at its true line and record."""
    rows = [["account_id", "name"]] + [[f"A{i}", n] for i, n in enumerate(names)]
    before = _csv(rows, dialect)
    text = before + _csv([["BAD", "x", "surplus"]], dialect)
    line = len(LINE_BREAK.findall(before)) + 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root / "ws")
        ws = open_workspace(root / "ws")
        path = root / "accounts.csv"
        path.write_bytes(text.encode("utf-8"))
        with pytest.raises(InputError) as e:
            load(ws, "accounts", path)
    assert [str(p) for p in e.value.problems] == [
        f"accounts.csv: line {line} (record {len(names) + 1}): has 3 fields, the header has 2"
    ]


@SETTINGS
@given(
    records=st.lists(st.lists(TEXT, min_size=1, max_size=3), min_size=1, max_size=10),
    dialect=DIALECT,
)
def test_record_lines_counts_physical_lines(
    records: list[list[str]], dialect: tuple[str, int]
) -> None:
    """record_lines gives the line each record starts on, counting newlines inside fields."""
    rows = [["header"], *records]
    expected = {}
    line = 1
    for number, row in enumerate(rows):
        expected[number] = line
        line += len(LINE_BREAK.findall(_csv([row], dialect)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_text(_csv(rows, dialect), encoding="utf-8", newline="")
        assert record_lines(path, "utf-8", range(1, len(rows))) == {
            n: expected[n] for n in range(1, len(rows))
        }


OPTIONAL_INT = st.none() | st.integers(min_value=1, max_value=10**6)


@given(
    file=st.text(min_size=1, max_size=20),
    line=OPTIONAL_INT,
    record=OPTIONAL_INT,
    column=st.none() | st.text(min_size=1, max_size=20),
)
def test_location_str(file: str, line: int | None, record: int | None, column: str | None) -> None:
    """A location reads 'file: line L (record R), column C', leaving out what is unknown."""
    text = str(Location(file, line=line, record=record, column=column))
    details = []
    if line is not None:
        details.append(
            f"line {line}" + (f" (record {record})" if record not in (None, line) else "")
        )
    elif record is not None:
        details.append(f"record {record}")
    if column is not None:
        details.append(f"column {column}")
    assert text == (f"{file}: " + ", ".join(details) if details else file)
    assert text.startswith(file)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.integers(min_value=0, max_value=2**62), max_size=400)
    | st.lists(st.integers(min_value=0, max_value=30), max_size=400),
    capacity=st.integers(min_value=1, max_value=64),
    sample=st.sampled_from([1, 2, 7, 4096]),
)
def test_key_set_finds_exactly_the_repeated_keys(
    keys: list[int], capacity: int, sample: int
) -> None:
    """The bounded-memory duplicate check agrees with counting, however keys spill to runs."""
    import numpy as np

    from cstool import ingest

    original = ingest._Run.SAMPLE
    ingest._Run.SAMPLE = sample
    try:
        ks = ingest._KeySet(capacity=capacity)
        for at in range(0, len(keys), 13):
            ks.add(np.array(keys[at : at + 13], dtype=np.int64))
        found = ks.duplicates().tolist()
    finally:
        ingest._Run.SAMPLE = original
    counts: dict[int, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    assert sorted(found) == sorted(k for k, n in counts.items() if n > 1)
    assert len(found) == len(set(found))
