"""Validating and loading export files into the store: all or nothing, idempotent.

A load runs inside one SQLite transaction. Records are validated in bounded batches against
the kind's declared schema and written as they pass; the first problem stops the writing,
validation carries on to report every problem (up to a cap, with the total), and the
transaction is rolled back, so the database is exactly as it was. With ``allow_rejects`` the
load is run again skipping the bad records, which go to a rejects CSV with their reasons.

A dry run takes the same passes over a store opened for reading, but where a load writes a
batch it asks the store what writing it would change (:func:`cstool.store.exports.changes`,
by the very condition the upsert updates on), so it needs no write access and writes no
byte. A replace plans the same way first, inside its transaction, and refuses before
writing when it would retire more than half of the active rows.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shlex
import sqlite3
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cstool.csvfile import (
    BatchReader,
    delimiter_name,
    delimiter_of,
    prescan,
    read_header,
    record_lines,
)
from cstool.errors import InputError, Location, PartialFailure, Problem, UsageError
from cstool.schemas import ColType, Column, ExportKind, get_kind
from cstool.store import Store, exports, usage
from cstool.store.exports import LoadRecord

if TYPE_CHECKING:
    from cstool.workspace import Workspace

Mode = Literal["upsert", "replace"]
MAX_REPORTED = 20
_SAMPLES = 10  # bad values kept per column to fit hints to them
_WHOLE = r"^[+-]?[0-9]{1,18}$"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
Progress = Callable[[str, int, int], None]

_TRUE = ("true", "yes", "y", "t", "1")
_FALSE = ("false", "no", "n", "f", "0")
# Every accepted spelling, in any case, as messages list them.
_BOOL_WORDS = ", ".join(f"{t}/{f}" for t, f in zip(_TRUE[:-1], _FALSE[:-1], strict=True)) + (
    " or 1/0"
)
# Usage keys pack (day, uid, fid) into one int64: 20 + 28 + 15 bits.
_UID_BITS, _FID_BITS = 28, 15


@dataclass
class LoadResult:
    """What a load did."""

    kind: str
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deactivated: int = 0
    deleted: int = 0
    seconds: float = 0.0
    skipped: bool = False
    dry_run: bool = False
    rejects_file: Path | None = None
    sha256: str = ""
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Header:
    """How a file's header maps onto the kind's canonical columns."""

    fields: list[str]
    canonical: dict[str, int]  # canonical name -> field index
    extras: dict[str, int]  # attribute name -> field index
    # Empty fields a trailing comma leaves at the end of the header: every row must leave
    # them empty too.
    trailing: list[int] = field(default_factory=list)

    def label(self, column: str) -> str:
        """How messages name a canonical column: with the file's own header when it differs,
        as in ``Licenses (licenses_purchased)``."""
        at = self.canonical.get(column)
        own = self.fields[at].strip() if at is not None else column
        return column if own == column else f"{own} ({column})"


def map_header(
    kind: ExportKind,
    fields: list[str],
    renames: dict[str, str],
    name: str,
    delimiter: str = ",",
) -> _Header:
    """Match header fields to canonical columns; reject empty, duplicate or missing ones.

    Names match after trimming and regardless of case, both the canonical names and the
    renames of cstool.yaml.
    """
    canonical: dict[str, int] = {}
    extras: dict[str, int] = {}
    seen: dict[str, int] = {}
    problems = []
    known = {c.casefold(): c for c in kind.column_names}
    known.update((k.strip().casefold(), v) for k, v in renames.items())
    end = len(fields)
    while end > 1 and not fields[end - 1].strip():
        end -= 1
    for i, raw in enumerate(fields[:end]):
        label = raw.strip()
        if not label:
            problems.append(Problem(Location(name, line=1), f"header field {i + 1} is empty"))
            continue
        target = known.get(label.casefold())
        # Names that differ only in case are the same column, canonical or not.
        same = target or label.casefold()
        if same in seen:
            first = fields[seen[same]].strip()
            problems.append(
                Problem(
                    Location(name, line=1, column=label),
                    f"duplicate header {label!r} (fields {seen[same] + 1} and {i + 1}"
                    + (f"; field {seen[same] + 1} is {first!r}" if first != label else "")
                    + ")",
                )
            )
            continue
        seen[same] = i
        if target is not None:
            canonical[target] = i
        else:
            extras[label] = i
    missing = [c for c in kind.required if c not in canonical]
    if missing:
        problems.append(
            Problem(
                Location(name, line=1),
                f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            )
        )
    if problems:
        hint = _delimiter_hint(kind, fields, delimiter) or "fix the header row"
        if hint == "fix the header row" and missing:
            sample = ", ".join(f"'{f.strip()}'" for f in fields[:4] if f.strip())
            hint = (
                f"map the file's headers in cstool.yaml under exports.{kind.name}.columns "
                f"(e.g. 'Account ID': account_id); the file has {sample}"
            )
        raise InputError(
            problems[0].message, location=problems[0].location, hint=hint, problems=problems
        )
    return _Header(fields, canonical, extras, list(range(end, len(fields))))


def _delimiter_hint(kind: ExportKind, fields: list[str], delimiter: str) -> str | None:
    """When the header is one field holding another delimiter, the settings to read it."""
    if len(fields) != 1:
        return None
    counts = {d: fields[0].count(d) for d in ",;\t|" if d != delimiter}
    found = max(counts, key=lambda d: counts[d])
    if not counts[found]:
        return None
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    flag = delimiter_name(found)
    arg = flag if flag == "tab" else shlex.quote(flag) if flag == "'" else f"'{flag}'"
    hint = (
        f"the header looks {names[found]}-separated: pass --delimiter {arg}, or "
        f"set exports.{kind.name}.delimiter: {json.dumps(flag)} in cstool.yaml"
    )
    if found == ";":
        # Semicolons go with decimal commas: spreadsheets in much of Europe write 1.200,50.
        hint += "; if numbers read like 1.200,50, also set decimal: ',' and thousands: '.'"
    return hint


@dataclass
class _Checked:
    """A batch after checking: its cells, parsed columns, good rows and usage ids."""

    frame: list[Any]
    records: Any
    parsed: dict[str, Parsed]
    good: Any
    ids: tuple[Any, Any, list[tuple[int, str]]] | None  # usage: uid, fid, new feature names
    bytes_done: int


@dataclass
class _SeenKeys:
    """Keys of the rows read so far (non-usage kinds), and of rows rejected."""

    seen: dict[Any, int] = field(default_factory=dict)
    rejected: set[Any] = field(default_factory=set)


def _prefetch(items: Generator[Any, None, None], depth: int = 1) -> Generator[Any, None, None]:
    """Produce ``items`` in a worker thread, ``depth`` ahead of the consumer.

    An exception in the worker is raised here. However the consumer stops (done, an error of
    its own, KeyboardInterrupt), closing this generator stops the worker, which closes
    ``items`` on its own thread, and joins it: nothing of ``items`` (Arrow's reader above
    all) outlives the call, or runs while the interpreter shuts down.
    """
    import queue
    import threading

    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(tag: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                box.put((tag, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("done", None)
        except BaseException as e:  # handed to the consumer, which raises it
            put("error", e)
        finally:
            items.close()

    # Not a daemon: should a second KeyboardInterrupt cut the join short, the interpreter
    # still waits for the worker before it shuts down.
    worker = threading.Thread(target=work, name="cstool-check")
    worker.start()
    try:
        while True:
            tag, value = box.get()
            if tag == "done":
                return
            if tag == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


class _Problems:
    """Problems found so far: the earliest few kept, all counted, bad records remembered."""

    def __init__(self, name: str) -> None:
        self.name = name
        # A max-heap (by record, then order found) of the MAX_REPORTED earliest problems:
        # problems are not found in file order (bad field counts come last), yet people
        # should see the first ones in the file.
        self._heap: list[tuple[int, int, str | None, str]] = []
        self.total = 0
        self.bad_records: dict[int, str] = {}
        self.samples: dict[str, list[str]] = {}

    @property
    def kept(self) -> list[tuple[int, str | None, str]]:
        """The earliest problems in file order: (record, column, message)."""
        return [(-r, c, m) for r, _, c, m in sorted(self._heap, reverse=True)]

    def add(self, record: int, column: str | None, message: str) -> None:
        import heapq

        self.total += 1
        item = (-record, -self.total, column, message)
        if len(self._heap) < MAX_REPORTED:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)
        self.bad_records.setdefault(record, f"{column}: {message}" if column else message)

    def add_rows(
        self,
        records: Any,
        column: str | None,
        messages: dict[int, str],
        about: Callable[[int], str | None] | None = None,
    ) -> None:
        """Add one problem per batch row index in ``messages``, each followed by whom it is
        about (``about(row)``, as in "(user 'U3')") when that is known."""
        for i, message in messages.items():
            who = about(i) if about is not None else None
            self.add(int(records[i]), column, f"{message} ({who})" if who else message)

    def sample(self, column: str, values: list[str]) -> None:
        """Keep a few of a column's bad values, to fit the hint to them."""
        kept = self.samples.setdefault(column, [])
        kept.extend(values[: _SAMPLES - len(kept)])


def _show(v: Any) -> str:
    s = str(v)
    return repr(s if len(s) <= 40 else s[:37] + "...")


@dataclass
class Parsed:
    """One column of a batch parsed by its declared type.

    ``values`` holds what is stored (text, ISO dates, numbers, 0/1), null where the cell is
    empty or bad; ``bad`` marks rows that broke a rule and ``messages`` says why, per row.
    """

    values: Any  # pyarrow Array
    bad: Any  # numpy bool array
    messages: dict[int, str]
    days: Any = None  # numpy int64 day numbers, for date columns
    samples: list[str] = field(default_factory=list)  # a few bad values, for hints


@dataclass(frozen=True)
class NumberFormat:
    """How a file writes numbers: its thousands separator (if any) and decimal mark."""

    thousands: str | None = None
    decimal: str = "."

    @property
    def plain(self) -> bool:
        return self.thousands is None and self.decimal == "."

    def shape(self) -> str:
        """A pattern of the numbers written this way: digits grouped by threes when grouped."""
        t, d = (re.escape(self.thousands or ""), re.escape(self.decimal))
        whole = f"(?:[0-9]{{1,3}}(?:{t}[0-9]{{3}})+|[0-9]*)" if t else "[0-9]*"
        return f"^[+-]?{whole}(?:{d}[0-9]*)?(?:[eE][+-]?[0-9]+)?$"

    def describe(self) -> str:
        marks = f"written with decimal mark {self.decimal!r}"
        return marks + (f" and thousands {self.thousands!r}" if self.thousands else "")


def _mask(arr: Any) -> Any:
    """A pyarrow boolean array as a numpy bool array (null is False)."""
    import pyarrow.compute as pc

    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def _explain(arr: Any, mask: Any, text: Callable[[Any], str]) -> dict[int, str]:
    import numpy as np

    return {int(i): text(arr[int(i)].as_py()) for i in np.flatnonzero(mask)}


def _parse_dates(trimmed: Any, col: Column, date_format: str) -> tuple[Any, Any, Any]:
    """Dates or timestamps: (ISO text array, ok mask, day numbers or None).

    Exports repeat few distinct values, so each distinct string is parsed once, strictly,
    with Python's datetime (Arrow's parser accepts 2026-02-30).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from cstool.store import day_number

    enc = pc.dictionary_encode(trimmed)
    iso: list[str | None] = []
    days: list[int] = []
    for text in enc.dictionary.to_pylist():
        try:
            if col.type is ColType.DATE:
                d = datetime.strptime(text, date_format).date()
                iso.append(d.isoformat())
                days.append(day_number(d))
            else:
                t = datetime.fromisoformat(text)
                if t.tzinfo is not None:
                    t = t.astimezone(UTC).replace(tzinfo=None)
                iso.append(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
                days.append(0)
        except ValueError:
            iso.append(None)
            days.append(0)
    idx = enc.indices
    values = pc.take(pa.array(iso, type=pa.string()), idx)
    day_arr = np.asarray(days, dtype=np.int64)[idx.to_numpy(zero_copy_only=False)]
    return values, _mask(pc.is_valid(values)), day_arr if col.type is ColType.DATE else None


def _parse_column(
    col: Column, arr: Any, date_format: str, numbers: NumberFormat = NumberFormat()
) -> Parsed:
    """Parse a batch's text column by its declared type (all in Arrow, vectorised)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(arr)
    if col.default is not None:
        blank = pc.equal(trimmed, "")
        arr = pc.if_else(blank, col.default, arr)
        trimmed = pc.if_else(blank, col.default, trimmed)
    empty = _mask(pc.equal(trimmed, ""))
    present = ~empty
    msgs: dict[int, str] = {}
    days = None
    samples: list[str] = []  # values of the wrong shape for the type, to fit hints to them
    bad = np.zeros(len(arr), dtype=bool)
    if col.type is ColType.TEXT:
        values = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), arr)
        if col.choices:
            low = pc.utf8_lower(trimmed)
            bad = present & ~_mask(pc.is_in(low, value_set=pa.array(col.choices)))
            choices = ", ".join(col.choices)
            msgs.update(_explain(arr, bad, lambda v: f"{_show(v)} is not one of {choices}"))
            values = pc.if_else(pa.array(empty | bad), pa.scalar(None, pa.string()), low)
    elif col.type in (ColType.INTEGER, ColType.NUMBER):
        if col.type is ColType.INTEGER:
            pattern, what, target = _WHOLE, "a whole number", pa.int64()
        else:
            pattern, what, target = _NUMBER, "a number", pa.float64()
        plain = trimmed
        if not numbers.plain:
            # Written another way (1.200,50): the grouping must be right, then the marks
            # become plain digits and a point.
            shaped = _mask(pc.match_substring_regex(trimmed, numbers.shape()))
            if numbers.thousands:
                plain = pc.replace_substring(plain, numbers.thousands, "")
            if numbers.decimal != ".":
                plain = pc.replace_substring(plain, numbers.decimal, ".")
            plain = pc.if_else(pa.array(shaped), plain, "x")
            what += f" {numbers.describe()}"
        ok = _mask(pc.match_substring_regex(plain, pattern))
        bad = present & ~ok
        samples = [arr[int(i)].as_py().strip() for i in np.flatnonzero(bad)[:_SAMPLES]]
        msgs.update(_explain(arr, bad, lambda v: f"{_show(v)} is not {what}"))
        digits = pc.utf8_ltrim(pc.if_else(pa.array(ok), plain, "0"), characters="+")
        nums = pc.cast(digits, target)
        if col.minimum is not None:
            low_bad = ok & _mask(pc.less(nums, col.minimum))
            msgs.update(
                _explain(arr, low_bad, lambda v: f"{_show(v)} is below the minimum {col.minimum:g}")
            )
            bad |= low_bad
        if col.maximum is not None:
            hi_bad = ok & _mask(pc.greater(nums, col.maximum))
            msgs.update(
                _explain(arr, hi_bad, lambda v: f"{_show(v)} is above the maximum {col.maximum:g}")
            )
            bad |= hi_bad
        values = pc.if_else(pa.array(ok & ~bad), nums, pa.scalar(None, target))
    elif col.type in (ColType.DATE, ColType.TIMESTAMP):
        values, ok, days = _parse_dates(trimmed, col, date_format)
        bad = present & ~ok
        samples = [arr[int(i)].as_py().strip() for i in np.flatnonzero(bad)[:_SAMPLES]]
        expected = date_format if col.type is ColType.DATE else "ISO 8601 date and time"
        msgs.update(
            _explain(arr, bad, lambda v: f"{_show(v)} is not a date in the format {expected}")
        )
    else:  # BOOL
        low = pc.utf8_lower(trimmed)
        is_true = _mask(pc.is_in(low, value_set=pa.array(sorted(_TRUE))))
        is_false = _mask(pc.is_in(low, value_set=pa.array(sorted(_FALSE))))
        bad = present & ~is_true & ~is_false
        msgs.update(_explain(arr, bad, lambda v: f"{_show(v)} is not {_BOOL_WORDS}"))
        null = pa.scalar(None, pa.int64())
        values = pc.if_else(pa.array(is_true), 1, pc.if_else(pa.array(is_false), 0, null))
    if col.required:
        for i in np.flatnonzero(empty & ~bad):
            msgs[int(i)] = "a value is required"
        bad = bad | empty
    return Parsed(values, bad, msgs, days, samples)


def _sql_values(values: Any, in_key: bool) -> list[Any]:
    """Python values ready for SQLite; a missing key part is stored as '' so keys compare."""
    out = values.to_pylist()
    return ["" if v is None else v for v in out] if in_key else out


class _Subject:
    """Whom a batch's rows are about: the user (user_id) or else the account (account_id).

    ``about(column)`` gives a function from a row to "user 'U3'", or None when the row has
    neither or when the problem's column is the one that names them (its message shows the
    value already). It reads cells only for rows with problems.
    """

    def __init__(self, frame: list[Any], header: _Header) -> None:
        self.columns = [
            (name, frame[header.canonical[name]], noun)
            for name, noun in (("user_id", "user"), ("account_id", "account"))
            if name in header.canonical
        ]

    def __call__(self, *columns: str | None) -> Callable[[int], str | None] | None:
        if not self.columns:
            return None

        def who(row: int) -> str | None:
            for name, cells, noun in self.columns:
                value = (cells[row].as_py() or "").strip()
                if value:
                    return None if name in columns else f"{noun} {_show(value)}"
            return None

        return who


class _Loader:
    """One load of one file; see the module docstring for the protocol."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        kind: ExportKind,
        path: Path,
        encoding: str,
        delimiter: str,
        mode: Mode,
        progress: Progress | None,
    ) -> None:
        self.ws = ws
        self.store = store
        self.kind = kind
        self.path = path
        self.name = path.name
        self.encoding = encoding
        self.delimiter = delimiter
        self.mode = mode
        self.progress = progress
        cfg = ws.resolved.config
        self.export = cfg.export(kind.name)
        self.numbers = NumberFormat(self.export.thousands, self.export.decimal)
        self.default_date_format = cfg.date_format
        # What the pass wrote (rows inserted or updated) or, counting, would write.
        self.changed = 0
        self.new = 0
        self.updated = 0
        self.storage = _STORAGES[kind.storage](self)

    def date_format(self, column: str) -> str:
        return self.export.date_formats.get(column, self.default_date_format)

    # ------------------------------------------------------------------------------------
    def run(
        self, header: _Header, exclude: set[int], write: bool, count: bool = False
    ) -> tuple[_Problems, int, set[Any]]:
        """One pass over the file: validate every batch, write the good rows while clean
        (or with ``count``, count what writing them would change, writing nothing).

        Validation runs one batch ahead in a worker thread while this thread writes, so
        Arrow's parsing and checks overlap SQLite's inserts (both release the GIL).
        """
        import numpy as np

        problems = _Problems(self.name)
        reader = BatchReader(self.path, self.encoding, len(header.fields), self.delimiter)
        self.storage.start_pass()
        keys = _SeenKeys()
        skip = np.fromiter(exclude, dtype=np.int64) if exclude else None
        total = self.path.stat().st_size
        rows = 0
        refs = self.storage.reference_sets()
        checked = self._check_batches(reader, header, problems, keys, skip, refs)
        # closing(): should a write fail, the checker thread is stopped at once.
        with contextlib.closing(_prefetch(checked)) as batches:
            for batch in batches:
                rows += len(batch.records)
                # A normal pass writes only while everything so far is clean; a pass that
                # excludes known bad records writes every good row.
                clean = problems.total == 0 and not reader.bad
                if (write or count) and (clean or skip is not None):
                    self.storage.apply(batch, header, write)
                if self.progress:
                    self.progress("loading", batch.bytes_done, total)
        blank = len(header.trailing)
        blank_end = f" (the last {blank} empty)" if blank > 1 else " (the last one empty)"
        for b in reader.bad:
            fields = f"{b.actual} field{'s' if b.actual != 1 else ''}"
            has = f"has {fields}, the header has {b.expected}" + (blank_end if blank else "")
            problems.add(b.record, None, has)
        self.storage.end_pass(header, problems, write)
        # A rejected row is still in the export: its stored row is neither marked inactive
        # nor deleted.
        return problems, rows + len(reader.bad), set(keys.seen) | keys.rejected

    def _check_batches(
        self,
        reader: BatchReader,
        header: _Header,
        problems: _Problems,
        keys: _SeenKeys,
        skip: Any,
        refs: dict[str, Any],
    ) -> Generator[_Checked, None, None]:
        """Parse and check each batch; touches no database (it runs in a worker thread)."""
        import numpy as np
        import pyarrow as pa

        # Closed here, on the checker thread that reads it, however the checking ends.
        with contextlib.closing(iter(reader)) as batches:
            for batch in batches:
                frame, recs = batch.columns, batch.records
                bad = np.zeros(len(recs), dtype=bool)
                parsed: dict[str, Parsed] = {}
                about = _Subject(frame, header)
                for col in self.kind.columns:
                    if col.name in header.canonical:
                        cells = frame[header.canonical[col.name]]
                    elif col.default is not None:
                        cells = pa.array([col.default] * len(recs), type=pa.string())
                    else:
                        continue
                    parsed[col.name] = _parse_column(
                        col, cells, self.date_format(col.name), self.numbers
                    )
                    problems.add_rows(
                        recs, header.label(col.name), parsed[col.name].messages, about(col.name)
                    )
                    problems.sample(col.name, parsed[col.name].samples)
                    bad |= parsed[col.name].bad
                for at in header.trailing:
                    bad |= self._check_trailing(frame[at], at, recs, problems, about)
                # Records already known bad (a pass that loads the good rows of a rejected file)
                # are left out of keys and features. Every other row, even one that broke a rule,
                # is still checked against the others, so one pass reports all of a file's
                # problems.
                skipped = np.isin(recs, skip) if skip is not None else np.zeros(len(recs), bool)
                bad |= skipped
                out, ids = self.storage.check(
                    parsed, recs, bad, skipped, keys, refs, problems, header, about
                )
                bad |= out
                yield _Checked(frame, recs, parsed, ~bad, ids, batch.bytes_done)

    def _check_trailing(
        self, cells: Any, at: int, recs: Any, problems: _Problems, about: _Subject
    ) -> Any:
        """Rows with a value under an empty header field that a trailing comma left."""
        import pyarrow.compute as pc

        filled = _mask(pc.not_equal(pc.utf8_trim_whitespace(cells), ""))
        if filled.any():
            problems.add_rows(
                recs,
                None,
                _explain(
                    cells,
                    filled,
                    lambda v: f"field {at + 1} holds {_show(v)}, but its header is empty",
                ),
                about(None),
            )
        return filled

    def counted(self, found: tuple[int, int]) -> None:
        """Add the (new, updated) rows a counting pass found in a batch."""
        self.new += found[0]
        self.updated += found[1]

    def attributes(self, batch: _Checked, header: _Header, keep: Any) -> list[str | None]:
        """The extra columns of the kept rows of a batch, as JSON per row (None without)."""
        import numpy as np

        if not header.extras:
            return [None] * int(np.count_nonzero(batch.good))
        extra = {n: batch.frame[i].filter(keep).to_pylist() for n, i in header.extras.items()}
        return [
            json.dumps(dict(zip(extra, vals, strict=True)), ensure_ascii=False)
            for vals in zip(*extra.values(), strict=True)
        ]


class _Storage:
    """How a kind's rows are checked for keys and references, written or counted, and
    retired, chosen once per load by the kind's ``storage``: see :class:`_TableStorage` and
    :class:`_CompactStorage`."""

    # Whether --mode replace can keep the stored rows of rejected records.
    replace_keeps_rejects = True

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.kind = loader.kind

    def start_pass(self) -> None:
        """Before each pass over the file."""

    def reference_sets(self) -> dict[str, Any]:
        """What the reference checks of a pass look values up in (built once per pass)."""
        return {}

    def check(
        self,
        parsed: dict[str, Parsed],
        recs: Any,
        bad: Any,
        skipped: Any,
        keys: _SeenKeys,
        refs: dict[str, Any],
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> tuple[Any, Any]:
        """Rows breaking a key or reference rule, and what writing the batch needs."""
        raise NotImplementedError

    def apply(self, batch: _Checked, header: _Header, write: bool) -> None:
        """Write a batch's good rows, or (``write`` false) count what writing them would do."""
        raise NotImplementedError

    def end_pass(self, header: _Header, problems: _Problems, write: bool) -> None:
        """After each pass over the file."""

    def retiring(
        self, db: sqlite3.Connection, keys: set[Any], result: LoadResult, stored: int
    ) -> list[tuple[Any, ...]]:
        """What a replace retires (``keys``: those the file has); counted into ``result``."""
        raise NotImplementedError

    def before_write(self, db: sqlite3.Connection, mode: Mode) -> None:
        """Before the writing pass of a replace."""

    def after_write(
        self, db: sqlite3.Connection, mode: Mode, gone: list[tuple[Any, ...]], result: LoadResult
    ) -> None:
        """After the rows are written: retire ``gone``, keep derived tables right."""


class _TableStorage(_Storage):
    """A table of the declared columns: keys and references checked row by row."""

    def reference_sets(self) -> dict[str, Any]:
        """Per reference column, the keys it may name, as an Arrow array built once per pass."""
        import pyarrow as pa

        refs: dict[str, Any] = {}
        for ref in self.kind.references:
            key = get_kind(ref.kind).key[0]
            refs[ref.column] = pa.array(
                sorted(exports.key_values(self.loader.store.db, ref.kind, key)), type=pa.string()
            )
        return refs

    def check(
        self,
        parsed: dict[str, Parsed],
        recs: Any,
        bad: Any,
        skipped: Any,
        keys: _SeenKeys,
        refs: dict[str, Any],
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> tuple[Any, Any]:
        out = self._check_references(parsed, refs, recs, problems, header, about)
        out |= self._generic_keys(parsed, recs, bad | out, skipped, keys, problems, header, about)
        return out, None

    def _check_references(
        self,
        parsed: dict[str, Parsed],
        refs: dict[str, Any],
        recs: Any,
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> Any:
        """Rows naming an account, user or opportunity that is not loaded (any row with a
        value there, whatever else is wrong with it)."""
        import numpy as np
        import pyarrow.compute as pc

        out = np.zeros(len(recs), dtype=bool)
        for ref in self.kind.references:
            if ref.column not in parsed:
                continue
            values = parsed[ref.column].values
            known = _mask(pc.is_in(values, value_set=refs[ref.column]))
            missing = _mask(pc.is_valid(values)) & ~known
            if missing.any():
                problems.add_rows(
                    recs,
                    header.label(ref.column),
                    {
                        int(i): f"{ref.column} {_show(values[int(i)].as_py())} is not a known "
                        f"{ref.kind[:-1]}"
                        for i in np.flatnonzero(missing)
                    },
                    about(ref.column),
                )
                out |= missing
        return out

    def _generic_keys(
        self,
        parsed: dict[str, Any],
        recs: Any,
        bad: Any,
        skipped: Any,
        keys: _SeenKeys,
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> Any:
        """Rows whose key repeats an earlier row's: every row whose key columns are sound
        takes part, so a row with a bad value elsewhere still shows up as the first one."""
        import numpy as np

        # Keys as they are stored, so that they compare equal to the rows in the database
        # (a timestamp is text there) and two values stored alike count as duplicates.
        cols = [_sql_values(parsed[k].values, True) for k in self.kind.key]
        key_bad = np.logical_or.reduce([parsed[k].bad for k in self.kind.key]) | skipped
        rows = list(zip(*cols, strict=True)) if len(cols) > 1 else cols[0]
        out = np.zeros(len(recs), dtype=bool)
        label = ", ".join(header.label(k) for k in self.kind.key)
        msgs: dict[int, str] = {}
        for i, k in enumerate(rows):
            if key_bad[i]:
                # Still in the export: replace mode must not delete its stored row.
                parts = k if isinstance(k, tuple) else (k,)
                if bad[i] and all(v != "" for v in parts):
                    keys.rejected.add(k)
                continue
            first = keys.seen.setdefault(k, int(recs[i]))
            if first != recs[i]:
                out[i] = True
                msgs[i] = f"duplicate key {_show(k)}; first seen at record {first}"
        if msgs:
            problems.add_rows(recs, label, msgs, about(*self.kind.key))
        return out

    def apply(self, batch: _Checked, header: _Header, write: bool) -> None:
        import numpy as np
        import pyarrow as pa

        if not np.any(batch.good):
            return
        keep = pa.array(batch.good)
        attrs = self.loader.attributes(batch, header, keep)
        cols, rows, merge = self._table_rows(batch.parsed, keep, attrs, bool(header.extras))
        db = self.loader.store.db
        if write:
            self.loader.changed += exports.upsert(db, self.kind, cols, rows, merge_attributes=merge)
        else:
            self.loader.counted(exports.changes(db, self.kind, cols, rows, merge_attributes=merge))

    def _table_rows(
        self, parsed: dict[str, Parsed], keep: Any, attrs: list[str | None], extras: bool
    ) -> tuple[list[str], Iterator[tuple[Any, ...]], bool]:
        """The columns, rows and attribute merging with which a batch is written.

        An upsert writes only the columns the file has (an absent column is kept as
        stored) and merges attributes; a replace writes every column (the file is the
        whole truth: absent means empty) and replaces attributes.
        """
        replace = self.loader.mode == "replace"
        cols = [c.name for c in self.kind.columns if replace or c.name in parsed]
        n = len(attrs)
        values = [
            _sql_values(parsed[c].values.filter(keep), c in self.kind.key)
            if c in parsed
            else [None] * n
            for c in cols
        ]
        if replace or extras:
            cols.append("attributes")
            values.append(attrs)
        return cols, zip(*values, strict=True), not replace

    def retiring(
        self, db: sqlite3.Connection, keys: set[Any], result: LoadResult, stored: int
    ) -> list[tuple[Any, ...]]:
        gone = exports.retiring(db, self.kind, keys)
        # A full export of a snapshot kind marks what it no longer has inactive, never deletes.
        if self.kind.snapshot:
            result.deactivated = len(gone)
        else:
            result.deleted = len(gone)
        return gone

    def after_write(
        self, db: sqlite3.Connection, mode: Mode, gone: list[tuple[Any, ...]], result: LoadResult
    ) -> None:
        if gone:
            exports.retire(db, self.kind, gone)


class _CompactStorage(_Storage):
    """Usage: integer days, users and features (see :mod:`cstool.store.usage`), resolved and
    checked with arrays; keys repeated across batches found in bounded memory at the end."""

    # Replacing usage empties it first, so a rejected row's stored history would be lost.
    replace_keeps_rejects = False

    def __init__(self, loader: _Loader) -> None:
        super().__init__(loader)
        self._refs: _UsageRefs | None = None

    @property
    def refs(self) -> _UsageRefs:
        """The users, features and keys of the current pass."""
        assert self._refs is not None, "start_pass() comes first"
        return self._refs

    def start_pass(self) -> None:
        # A pass that re-reads the file to name repeated keys keeps the refs it searches.
        if self._refs is None or self._refs.find is None:
            self._refs = _UsageRefs(self.loader.store)

    def check(
        self,
        parsed: dict[str, Parsed],
        recs: Any,
        bad: Any,
        skipped: Any,
        keys: _SeenKeys,
        refs: dict[str, Any],
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> tuple[Any, Any]:
        return self._usage_keys(parsed, recs, skipped, problems, header, about)

    def _usage_keys(
        self,
        parsed: dict[str, Parsed],
        recs: Any,
        skipped: Any,
        problems: _Problems,
        header: _Header,
        about: _Subject,
    ) -> tuple[Any, tuple[Any, Any, list[tuple[int, str]]]]:
        """Resolve users and features to ids, check accounts, and pack the row keys.

        Each check takes every row whose values it needs are sound, whatever else is wrong
        with the row, so that one pass finds every problem.
        """
        import numpy as np

        u = self.refs
        users, accounts = parsed["user_id"].values, parsed["account_id"].values
        uid, acct_ok = u.users(users, accounts)
        out = np.zeros(len(recs), dtype=bool)
        user_ok = ~parsed["user_id"].bad
        unknown = (uid < 0) & user_ok
        if unknown.any():
            problems.add_rows(
                recs,
                header.label("user_id"),
                _explain(users, unknown, lambda v: f"user_id {_show(v)} is not a known user"),
            )
            out |= unknown
        wrong = user_ok & ~unknown & ~parsed["account_id"].bad & ~acct_ok
        if wrong.any():
            problems.add_rows(
                recs,
                header.label("account_id"),
                {
                    int(i): f"account_id {_show(accounts[int(i)].as_py())} is not the account of "
                    f"user {_show(users[int(i)].as_py())} "
                    f"({_show(u.account_of(users[int(i)].as_py()))})"
                    for i in np.flatnonzero(wrong)
                },
            )
            out |= wrong
        day = parsed["date"].days
        date_ok = ~parsed["date"].bad
        # Keys pack the day into 20 bits: dates from 1970 to 4840 (and usage before 1970
        # is not a thing).
        outside = date_ok & ((day < 0) | (day >= 1 << 20))
        if outside.any():
            problems.add_rows(
                recs,
                header.label("date"),
                _explain(parsed["date"].values, outside, lambda v: f"{v} is outside 1970..4840"),
                about("date"),
            )
            out |= outside
        keyed = user_ok & ~unknown & date_ok & ~outside & ~parsed["feature"].bad & ~skipped
        fid, new_features = u.features(parsed["feature"].values, keyed)
        packed = (day << (_UID_BITS + _FID_BITS)) | (uid << _FID_BITS) | fid
        # Duplicates inside this batch are found here; across batches at the end.
        dmask = np.zeros(len(recs), dtype=bool)
        if u.find is not None:
            u.found(packed[keyed], recs[keyed])
        else:
            okpos = np.flatnonzero(keyed)
            keys = packed[okpos]
            order = np.argsort(keys, kind="stable")
            sk = keys[order]
            repeat = np.flatnonzero(sk[1:] == sk[:-1]) + 1
            if len(repeat):
                first = np.searchsorted(sk, sk[repeat], side="left")
                msgs = {}
                for r, f in zip(repeat.tolist(), first.tolist(), strict=True):
                    row = int(okpos[order[r]])
                    dmask[row] = True
                    msgs[row] = (
                        "duplicate key (date, user_id, feature); first seen at record "
                        f"{int(recs[okpos[order[f]]])}"
                    )
                problems.add_rows(recs, self.key_label(header), msgs, about("date"))
                out |= dmask
            u.keys.add(packed[keyed & ~dmask])
        return out, (uid, fid, new_features)

    def key_label(self, header: _Header) -> str:
        return ", ".join(header.label(k) for k in self.kind.key)

    def _late_usage_duplicates(self, header: _Header, problems: _Problems) -> None:
        """Report keys repeated across batches, re-reading the file to name their records."""
        dups = self.refs.keys.duplicates()
        if not len(dups):
            return
        self.refs.find = dups
        self.loader.run(header, set(), write=False)
        self.refs.find = None
        label = self.key_label(header)
        for key, seen in sorted(self.refs.hits.items(), key=lambda kv: kv[1][1]):
            user = self.refs.user_of((key >> _FID_BITS) & ((1 << _UID_BITS) - 1))
            for rec in seen[1:]:
                problems.add(
                    rec,
                    label,
                    "duplicate key (date, user_id, feature); first seen at record "
                    f"{seen[0]} (user {_show(user)})",
                )

    def end_pass(self, header: _Header, problems: _Problems, write: bool) -> None:
        if self.refs.find is None:
            self._late_usage_duplicates(header, problems)
            if write:
                usage.widen_user_activity(self.loader.store.db, self.refs.spans())

    def apply(self, batch: _Checked, header: _Header, write: bool) -> None:
        import numpy as np
        import pyarrow as pa

        db, parsed = self.loader.store.db, batch.parsed
        assert batch.ids is not None
        if write:
            # Names first, even for a batch with no good rows left, since later batches use
            # the ids the checker gave them.
            usage.add_features(db, batch.ids[2])
        idx = np.flatnonzero(batch.good)
        if not len(idx):
            return
        keep = pa.array(batch.good)
        attrs = self.loader.attributes(batch, header, keep)
        events = parsed["events"].values.filter(keep).to_numpy(zero_copy_only=False)
        uid, fid, _ = batch.ids
        day, uid, fid = parsed["date"].days[idx], uid[idx], fid[idx]
        parts = [day, uid, fid, events]

        def rows() -> Iterator[tuple[Any, ...]]:
            columns: list[Any] = [a.tolist() for a in parts]
            if header.extras:
                columns.append(attrs)
            return zip(*columns, strict=True)

        extras = bool(header.extras)
        if not write:
            merge = self.loader.mode == "upsert"
            self.loader.counted(usage.changes(db, rows(), attributes=extras, merge=merge))
            return
        new_days = bool(day.min() > self.refs.last_stored_day)
        self.loader.changed += usage.upsert(db, rows, attributes=extras, new_days=new_days)
        self.refs.widen(uid[events > 0], day[events > 0])

    def retiring(
        self, db: sqlite3.Connection, keys: set[Any], result: LoadResult, stored: int
    ) -> list[tuple[Any, ...]]:
        # Every stored row the file does not have goes; the others matched one of its rows.
        result.deleted = stored - result.updated - result.unchanged
        return []

    def before_write(self, db: sqlite3.Connection, mode: Mode) -> None:
        if mode == "replace":
            usage.clear(db)

    def after_write(
        self, db: sqlite3.Connection, mode: Mode, gone: list[tuple[Any, ...]], result: LoadResult
    ) -> None:
        if mode == "upsert" and result.updated:
            # An update may have turned a user's only activity into events = 0, which
            # widening cannot undo; rebuilding is a single scan and only when rows changed.
            usage.rebuild_user_activity(db)


_STORAGES: dict[str, type[_Storage]] = {"table": _TableStorage, "compact": _CompactStorage}


def _lookup(table: Any, values: Any) -> Any:
    """Position of each value of a pyarrow string array in a sorted numpy string array; -1
    where absent. Only the batch's distinct values are searched."""
    import numpy as np
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(values)
    if not len(table):
        return np.full(len(values), -1, dtype=np.int64)
    distinct = enc.dictionary
    width = table.dtype.itemsize // 4
    # Longer strings would be cut to the table's width and could match wrongly.
    fits = _mask(pc.less_equal(pc.utf8_length(distinct), width))
    wanted = np.array(distinct.to_pylist(), dtype=table.dtype) if len(distinct) else table[:0]
    pos = np.searchsorted(table, wanted)
    inside = pos < len(table)
    found = np.zeros(len(distinct), dtype=bool)
    found[inside] = table[pos[inside]] == wanted[inside]
    found &= fits
    at = np.append(np.where(found, pos, -1), -1)
    # A missing value (a bad row already) points at the trailing -1.
    return at[pc.fill_null(enc.indices, len(distinct)).to_numpy(zero_copy_only=False)]


def _repeated(sorted_keys: Any) -> Any:
    """The distinct values that occur more than once in a sorted array."""
    import numpy as np

    dup = sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]]
    return dup[np.r_[True, dup[1:] != dup[:-1]]] if len(dup) else dup


@dataclass
class _Run:
    """A sorted run of keys spilled to disk, with every SAMPLE-th key kept in memory."""

    path: Path
    length: int
    samples: Any

    SAMPLE = 4096

    def between(self, lo: int | None, hi: int | None) -> Any:
        """The run's keys k with lo <= k < hi, reading only the blocks that can hold them."""
        import numpy as np

        first = 0 if lo is None else max(int(np.searchsorted(self.samples, lo)) - 1, 0)
        last = len(self.samples) if hi is None else int(np.searchsorted(self.samples, hi))
        start, stop = first * self.SAMPLE, min(last * self.SAMPLE, self.length)
        keys = np.fromfile(self.path, dtype=np.int64, count=max(stop - start, 0), offset=start * 8)
        keep = np.ones(len(keys), dtype=bool)
        if lo is not None:
            keep &= keys >= lo
        if hi is not None:
            keep &= keys < hi
        return keys[keep]


class _KeySet:
    """Packed usage keys of one load, checked for repeats in bounded memory.

    Keys collect in a fixed buffer; a full buffer is sorted and spilled to a temporary file.
    The final check reads all runs one slice of the key space at a time (plain reads, not a
    memory map, so the pages do not stay resident), so memory stays flat however many rows
    the file has.
    """

    def __init__(self, capacity: int = 2_000_000) -> None:
        import numpy as np

        self.buf = np.empty(capacity, dtype=np.int64)
        self.n = 0
        self.runs: list[_Run] = []
        self.tmp: Any = None

    def add(self, keys: Any) -> None:
        while len(keys):
            take = min(len(keys), len(self.buf) - self.n)
            self.buf[self.n : self.n + take] = keys[:take]
            self.n += take
            keys = keys[take:]
            if self.n == len(self.buf):
                self._spill()

    def _spill(self) -> None:
        import tempfile

        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="cstool-keys-")
        run = self.buf[: self.n]
        run.sort()
        path = Path(self.tmp.name) / f"run{len(self.runs)}.keys"
        run.tofile(path)
        self.runs.append(_Run(path, len(run), run[:: _Run.SAMPLE].copy()))
        self.n = 0

    def duplicates(self) -> Any:
        """The distinct keys that occur more than once."""
        import numpy as np

        try:
            if not self.runs:
                return _repeated(np.sort(self.buf[: self.n]))
            if self.n:
                self._spill()
            # Slice boundaries from the samples: each sample stands for SAMPLE keys of its
            # run, so a slice holds about half a buffer of keys.
            samples = np.sort(np.concatenate([r.samples for r in self.runs]))
            step = max(len(self.buf) // (2 * _Run.SAMPLE), 1)
            bounds: list[int | None] = [None, *samples[step::step].tolist(), None]
            found = [
                _repeated(np.sort(np.concatenate([r.between(lo, hi) for r in self.runs])))
                for lo, hi in itertools.pairwise(bounds)
            ]
            return np.concatenate(found)
        finally:
            if self.tmp is not None:
                self.tmp.cleanup()
                self.tmp = None
                self.runs = []


class _UsageRefs:
    """What a usage load resolves with arrays rather than per row: users, features, keys."""

    def __init__(self, store: Store) -> None:
        import numpy as np

        index = usage.user_index(store.db)
        self.user_ids, self.user_uid, self.user_account, self.account_ids = index
        span = usage.day_range(store.db)
        self.last_stored_day = -1 if span is None else span[1]
        self.fids = dict(usage.feature_names(store.db))
        self._index_features()
        self.next_fid = max(self.fids.values(), default=0) + 1
        self.keys = _KeySet()
        size = int(self.user_uid.max()) + 2 if len(self.user_uid) else 1
        self.first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        self.last = np.full(size, -1, dtype=np.int64)
        # Set while re-reading the file to name the records of repeated keys.
        self.find: Any = None
        self.hits: dict[int, list[int]] = {}

    def users(self, user_ids: Any, account_ids: Any) -> tuple[Any, Any]:
        """Per row: the user's uid (-1 when unknown) and whether account_id is theirs.

        Each batch's distinct users and accounts are found by binary search in sorted
        arrays built once per load, so no per-user Python objects are kept.
        """
        import numpy as np

        upos = _lookup(self.user_ids, user_ids)
        apos = _lookup(self.account_ids, account_ids)
        known = upos >= 0
        uid = np.where(known, self.user_uid[upos], -1)
        theirs = np.where(known, self.user_account[upos], -2)
        return uid, theirs == apos

    def user_of(self, uid: int) -> str:
        """The user_id of a user's id."""
        import numpy as np

        return str(self.user_ids[int(np.flatnonzero(self.user_uid == uid)[0])])

    def account_of(self, user_id: str) -> str | None:
        import numpy as np

        pos = int(np.searchsorted(self.user_ids, user_id))
        if pos < len(self.user_ids) and self.user_ids[pos] == user_id:
            return str(self.account_ids[self.user_account[pos]])
        return None

    def features(self, names: Any, ok: Any) -> tuple[Any, list[tuple[int, str]]]:
        """Feature ids per row, and the (id, name) of names first seen in this batch's rows
        marked ``ok``, which the writer stores with the batch (the worker shares no list with
        it). A load that writes excludes the rows already known bad, so names only rejected
        rows use are never stored."""
        import pyarrow as pa
        import pyarrow.compute as pc

        new: list[tuple[int, str]] = []
        pos = pc.index_in(names, value_set=self.feature_set)
        missing = _mask(pc.is_null(pos)) & ok
        if missing.any():
            for name in sorted(set(pc.filter(names, pa.array(missing)).to_pylist())):
                if self.next_fid >= 1 << _FID_BITS:
                    raise InputError(
                        f"more than {(1 << _FID_BITS) - 1:,} distinct features in usage",
                        hint="feature names should name product features, not events or users",
                    )
                self.fids[name] = self.next_fid
                new.append((self.next_fid, name))
                self.next_fid += 1
            self._index_features()
            pos = pc.index_in(names, value_set=self.feature_set)
        return self.feature_ids[pc.fill_null(pos, -1).to_numpy(zero_copy_only=False)], new

    def _index_features(self) -> None:
        import numpy as np
        import pyarrow as pa

        names = sorted(self.fids)
        self.feature_set = pa.array(names, type=pa.string())
        self.feature_ids = np.array([self.fids[n] for n in names] + [0], dtype=np.int64)

    def widen(self, uid: Any, day: Any) -> None:
        """Track each user's first and last active day across the load."""
        import numpy as np

        np.minimum.at(self.first, uid, day)
        np.maximum.at(self.last, uid, day)

    def spans(self) -> Iterator[tuple[int, int, int]]:
        """(uid, first day, last day) of every user active in this load, a slice at a time so
        that hundreds of thousands of users never become Python objects all at once."""
        import numpy as np

        touched = np.flatnonzero(self.last >= 0)
        for at in range(0, len(touched), 65536):
            part = touched[at : at + 65536]
            yield from zip(
                part.tolist(), self.first[part].tolist(), self.last[part].tolist(), strict=True
            )

    def found(self, keys: Any, recs: Any) -> None:
        import numpy as np

        hit = np.isin(keys, self.find)
        for k, r in zip(keys[hit].tolist(), recs[hit].tolist(), strict=True):
            self.hits.setdefault(k, []).append(r)


def load(
    ws: Workspace,
    kind_name: str,
    path: Path,
    *,
    mode: Mode = "upsert",
    encoding: str | None = None,
    delimiter: str | None = None,
    allow_rejects: bool = False,
    dry_run: bool = False,
    force: bool = False,
    now: datetime,
    progress: Progress | None = None,
) -> LoadResult:
    """Validate ``path`` as a ``kind_name`` export and merge it into the workspace database.

    ``encoding`` and ``delimiter`` (a character, or tab) override the kind's settings in
    cstool.yaml. ``dry_run`` checks the file the same way and counts what loading it would
    change, reading the store only (no write access needed, no manifest entry, no rejects
    file). A replace that would retire more than half of the active rows is refused unless
    ``force``.

    ``now`` is the time the manifest records for the load (the core never reads the clock).

    Raises :class:`InputError` (nothing written) when the file has problems, or
    :class:`PartialFailure` (exit 4) with ``allow_rejects`` when some rows were rejected.
    """
    if mode not in ("upsert", "replace"):
        raise UsageError(f"unknown mode {mode!r}", hint="use --mode upsert or --mode replace")
    kind = get_kind(kind_name)
    if mode == "replace" and allow_rejects and not _STORAGES[kind.storage].replace_keeps_rejects:
        raise UsageError(
            f"--mode replace and --allow-rejects cannot be combined for {kind.name}",
            hint="fix the file and replace, or load the good rows with --mode upsert",
        )
    started = time.perf_counter()
    cfg = ws.resolved.config.export(kind.name)
    enc = encoding or cfg.encoding or "utf-8"
    try:
        sep = delimiter_of(delimiter) if delimiter is not None else cfg.delimiter
    except ValueError as e:
        raise UsageError(str(e), hint="e.g. --delimiter ';' or --delimiter tab") from None
    file_label = ws.relative(path)
    size = path.stat().st_size if path.exists() else 0

    checked = 0

    def pre_progress(n: int) -> None:
        nonlocal checked
        checked += n
        if progress:
            progress("checking", checked, size)

    scan = prescan(path, enc, pre_progress, delimiter=sep)
    fields = read_header(path, scan.encoding, sep)
    header = map_header(kind, fields, cfg.columns, path.name, sep)
    opts = _Options(mode, allow_rejects, dry_run, force)
    with ws.open_store(write=not dry_run) as store:
        return _load_locked(
            ws,
            store,
            kind,
            path,
            file_label,
            scan.sha256,
            scan.encoding,
            sep,
            header,
            opts,
            now,
            progress,
            started,
        )


@dataclass(frozen=True)
class _Options:
    """How to load: the mode, and the flags that change what a load may do."""

    mode: Mode
    allow_rejects: bool
    dry_run: bool
    force: bool


def _load_locked(
    ws: Workspace,
    store: Store,
    kind: ExportKind,
    path: Path,
    label: str,
    sha: str,
    enc: str,
    sep: str,
    header: _Header,
    opts: _Options,
    now: datetime,
    progress: Progress | None,
    started: float,
) -> LoadResult:
    mode = opts.mode
    last = exports.last_load(store.db, kind.name)
    settings = _settings_fingerprint(ws, kind, enc, sep)
    if (
        last is not None
        and (last.sha256, last.mode, last.settings) == (sha, mode, settings)
        and last.rejected == 0
    ):
        return LoadResult(
            kind.name,
            label,
            rows=last.rows,
            unchanged=last.rows,
            skipped=True,
            dry_run=opts.dry_run,
            sha256=sha,
            seconds=time.perf_counter() - started,
        )
    for ref in kind.references:
        if kind.column(ref.column).required and exports.count(store.db, ref.kind) == 0:
            raise InputError(
                f"no {ref.kind} are loaded yet, and every row needs a known one in {ref.column}",
                location=Location(path.name),
                hint=f"load {ref.kind} first: cstool load {ref.kind} FILE",
            )
    loader = _Loader(ws, store, kind, path, enc, sep, mode, progress)
    result = LoadResult(kind.name, label, sha256=sha, dry_run=opts.dry_run)
    # A dry run reads one snapshot and writes nothing; a load is one transaction.
    unit = store.snapshot if opts.dry_run else store.transaction
    try:
        with unit():
            _merge(store, loader, header, set(), result, opts, path)
            result.seconds = time.perf_counter() - started
            if not opts.dry_run:
                exports.record_load(store.db, _record(result, mode, now, settings))
        return result
    except _Rollback as rb:
        problems = rb.problems
    located = _locate(path, enc, sep, problems)
    if not opts.allow_rejects:
        shown = problems.total
        raise InputError(
            f"{shown:,} problem{'s' if shown != 1 else ''} in {path.name}; nothing was loaded",
            hint=_rejection_hint(kind, problems, loader),
            problems=located,
            total=problems.total,
        )
    with unit():
        _merge(store, loader, header, set(problems.bad_records), result, opts, path)
        result.seconds = time.perf_counter() - started
        if not opts.dry_run:
            exports.record_load(store.db, _record(result, mode, now, settings))
    result.problems = located
    if opts.dry_run:
        raise PartialFailure(
            f"{result.rejected:,} of {result.rows:,} rows would be rejected; nothing was written",
            result=result,
            problems=located,
            total=problems.total,
            hint="fix the rows, or load with --allow-rejects to load the good ones and write "
            "the bad ones to a rejects file",
        )
    result.rejects_file = _write_rejects(ws, kind, path, enc, sep, header, problems, sha)
    raise PartialFailure(
        f"{result.rejected:,} of {result.rows:,} rows rejected to "
        f"{ws.relative(result.rejects_file)}; the other rows are loaded",
        result=result,
        problems=located,
        total=problems.total,
        hint="fix the rejected rows and load them again; the good rows are already loaded",
    )


def _merge(
    store: Store,
    loader: _Loader,
    header: _Header,
    exclude: set[int],
    result: LoadResult,
    opts: _Options,
    path: Path,
) -> None:
    """Merge the file into the store, skipping the records in ``exclude``; fill ``result``.

    An upsert validates and writes in one pass. A dry run and a replace first count what
    the merge would change (a dry run stops there); a replace then checks what it retires
    and writes in a second pass. Runs inside the caller's transaction (or read snapshot).
    """
    kind, db = loader.kind, store.db
    plan = opts.dry_run or opts.mode == "replace"
    stored = exports.count(db, kind.name)
    active = exports.active(db, kind) if kind.snapshot and opts.mode == "replace" else stored
    loader.changed = loader.new = loader.updated = 0
    problems, result.rows, keys = loader.run(header, exclude, write=not plan, count=plan)
    if not exclude:
        if problems.total:
            raise _Rollback(problems)
        if not result.rows:
            # A header alone is a broken export, not "every row is gone": loading it
            # would mark every account inactive, or empty the table in replace mode.
            raise InputError(
                "the file has a header but no rows; nothing was loaded",
                location=Location(path.name, line=2),
                hint="export the file again with its rows",
            )
    result.rejected = len(exclude)
    if not plan:
        result.inserted = exports.count(db, kind.name) - stored
        result.updated = loader.changed - result.inserted
    else:
        result.inserted, result.updated = loader.new, loader.updated
    result.unchanged = result.rows - result.rejected - result.inserted - result.updated
    gone: list[tuple[Any, ...]] = []
    if opts.mode == "replace":
        gone = loader.storage.retiring(db, keys, result, stored)
        _refuse_mass_retire(kind, result, active, opts, path)
    if opts.dry_run:
        return
    if opts.mode == "replace":
        loader.storage.before_write(db, opts.mode)
        loader.changed = 0
        again, rows, _ = loader.run(header, exclude, write=True)
        if (again.total, rows) != (problems.total, result.rows):
            # Counted on one file, written from another: roll it all back.
            raise InputError(
                f"{path.name} changed while it was being loaded; nothing was loaded",
                location=Location(path.name),
                hint="load it again once it is written completely",
            )
    loader.storage.after_write(db, opts.mode, gone, result)


def _refuse_mass_retire(
    kind: ExportKind, result: LoadResult, active: int, opts: _Options, path: Path
) -> None:
    """Refuse a replace that retires more than half of the active rows, unless forced: a
    file that is not the full export it claims to be (a filtered report, a wrong file)."""
    retired = result.deactivated + result.deleted
    if opts.force or retired * 2 <= active:
        return
    share = 100 * retired / active
    pct = f"{share:.0f}%" if round(share) > 50 else f"{share:.1f}%"
    what = (
        f"mark {retired:,} of {active:,} active {kind.label} inactive"
        if kind.snapshot
        else f"delete {retired:,} of {active:,} {kind.label}"
    )
    raise InputError(
        f"--mode replace would {what} ({pct}); nothing was loaded",
        location=Location(path.name),
        hint=f"if {path.name} is the full export, pass --force to load it anyway "
        "(--dry-run --force shows everything it would change); to merge a partial export, "
        "load it with --mode upsert",
    )


_REJECT_TAIL = "pass --allow-rejects to load the good rows and write the bad ones to a rejects file"
# Ways files write dates, tried on the values that failed to suggest a setting that fits.
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d, %Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
)
# Ways files write numbers, likewise.
_NUMBER_FORMATS = (
    NumberFormat(",", "."),
    NumberFormat(".", ","),
    NumberFormat(None, ","),
    NumberFormat(" ", ","),
    NumberFormat("\u00a0", ","),
    NumberFormat("\u202f", ","),
    NumberFormat("'", "."),
    NumberFormat(" ", "."),
)


def _rejection_hint(kind: ExportKind, problems: _Problems, loader: _Loader) -> str:
    """What to do about a rejected file: the setting that reads its dates or numbers, when
    every bad value of a column fits one (never the setting already in use)."""
    for col in kind.columns:
        samples = problems.samples.get(col.name)
        if not samples:
            continue
        where = f"exports.{kind.name}"
        if col.type is ColType.DATE:
            now = loader.date_format(col.name)
            fits = [f for f in _DATE_FORMATS if f != now and _all_parse(samples, f)]
            if fits:
                alt = f" (or '{fits[1]}')" if len(fits) > 1 else ""
                return (
                    f"the {col.name} values look like {fits[0]}{alt}, not {now}: set "
                    f"{where}.date_formats: {{{col.name}: '{fits[0]}'}} in cstool.yaml; else "
                    f"fix the rows, or {_REJECT_TAIL}"
                )
            return (
                f"if the file writes {col.name} another way than {now}, set its format under "
                f"{where}.date_formats in cstool.yaml; else fix the rows, or {_REJECT_TAIL}"
            )
        elif col.type in (ColType.INTEGER, ColType.NUMBER):
            whole = col.type is ColType.INTEGER
            ways = [
                n
                for n in _NUMBER_FORMATS
                if n != loader.numbers and all(_number_fits(v, n, whole) for v in samples)
            ]
            if ways:
                setting = f"decimal: {ways[0].decimal!r}" if ways[0].decimal != "." else ""
                if ways[0].thousands:
                    setting += (" and " if setting else "") + f"thousands: {ways[0].thousands!r}"
                return (
                    f"if the file writes numbers like {samples[0]}, set {setting} under {where} "
                    f"in cstool.yaml; else fix the rows, or {_REJECT_TAIL}"
                )
    return f"fix the rows and load again, or {_REJECT_TAIL}"


def _all_parse(values: list[str], date_format: str) -> bool:
    try:
        for v in values:
            datetime.strptime(v, date_format)
    except ValueError:
        return False
    return True


def _number_fits(value: str, numbers: NumberFormat, whole: bool) -> bool:
    """Whether ``value`` reads as a number (or whole number) written the ``numbers`` way."""
    if not re.fullmatch(numbers.shape(), value):
        return False
    plain = value.replace(numbers.thousands or "", "").replace(numbers.decimal, ".")
    return bool(re.fullmatch(_WHOLE if whole else _NUMBER, plain))


class _Rollback(Exception):
    def __init__(self, problems: _Problems) -> None:
        super().__init__("validation failed")
        self.problems = problems


def _settings_fingerprint(ws: Workspace, kind: ExportKind, encoding: str, delimiter: str) -> str:
    """What decides how a file's bytes are read: the kind's mapping, date and number formats,
    encoding and delimiter (from cstool.yaml or the flags)."""
    import hashlib

    cfg = ws.resolved.config
    export = cfg.export(kind.name)
    reading = {"delimiter": delimiter, "thousands": export.thousands, "decimal": export.decimal}
    facts: dict[str, Any] = {
        "export": export.model_dump(mode="json", exclude=set(reading)),
        "date_format": cfg.date_format,
        "encoding": encoding,
    }
    # Settings at their defaults are left out, so that loads recorded before these settings
    # existed keep their fingerprint and an unchanged file is still skipped.
    facts.update((k, v) for k, v in reading.items() if v != _READING_DEFAULTS[k])
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


_READING_DEFAULTS: dict[str, Any] = {"delimiter": ",", "thousands": None, "decimal": "."}


def _record(r: LoadResult, mode: Mode, now: datetime, settings: str) -> LoadRecord:
    stamp = now.replace(microsecond=0).isoformat()
    return LoadRecord(
        r.kind,
        r.file,
        r.sha256,
        mode,
        r.rows,
        r.inserted,
        r.updated,
        r.unchanged,
        r.rejected,
        r.deactivated,
        stamp,
        round(r.seconds, 3),
        settings,
    )


def _locate(path: Path, enc: str, sep: str, problems: _Problems) -> list[Problem]:
    lines = record_lines(path, enc, [r for r, _, _ in problems.kept], sep)
    return [
        Problem(Location(path.name, line=lines.get(r), record=r, column=c), m)
        for r, c, m in sorted(problems.kept, key=lambda p: p[0])
    ]


def _write_rejects(
    ws: Workspace,
    kind: ExportKind,
    path: Path,
    enc: str,
    sep: str,
    header: _Header,
    problems: _Problems,
    sha: str,
) -> Path:
    """Bad records with their line and reason, named by the file's hash (never by raw data)."""
    from cstool.csvfile import iter_records, write_csv_atomic

    bad = problems.bad_records
    out_rows = [
        [line, rec, bad[rec], *fields]
        for rec, line, fields in iter_records(path, enc, sep)
        if rec in bad
    ]
    dest = ws.rejects_dir / f"{kind.name}-{sha[:12]}.csv"
    write_csv_atomic(dest, ["line", "record", "problem", *header.fields], out_rows)
    return dest
