"""Validating and loading export files into the store: all or nothing, idempotent.

A load runs inside one SQLite transaction. Records are validated in bounded batches against
the kind's declared schema and written as they pass; the first problem stops the writing,
validation carries on to report every problem (up to a cap, with the total), and the
transaction is rolled back, so the database is exactly as it was. With ``allow_rejects`` the
load is run again skipping the bad records, which go to a rejects CSV with their reasons.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cstool.csvfile import BatchReader, prescan, read_header, record_lines
from cstool.errors import InputError, Location, PartialFailure, Problem, UsageError
from cstool.schemas import ColType, Column, ExportKind, get_kind
from cstool.store import LoadRecord, Store

if TYPE_CHECKING:
    import pandas as pd

    from cstool.workspace import Workspace

Mode = Literal["upsert", "replace"]
MAX_REPORTED = 20
Progress = Callable[[str, int, int], None]

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}
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
    rejects_file: Path | None = None
    sha256: str = ""
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Header:
    """How a file's header maps onto the kind's canonical columns."""

    fields: list[str]
    canonical: dict[str, int]  # canonical name -> field index
    extras: dict[str, int]  # attribute name -> field index


def map_header(kind: ExportKind, fields: list[str], renames: dict[str, str], name: str) -> _Header:
    """Match header fields to canonical columns; reject empty, duplicate or missing ones."""
    canonical: dict[str, int] = {}
    extras: dict[str, int] = {}
    seen: dict[str, int] = {}
    problems = []
    for i, raw in enumerate(fields):
        label = raw.strip()
        if not label:
            problems.append(Problem(Location(name, line=1), f"header field {i + 1} is empty"))
            continue
        target = renames.get(label, label)
        if target in seen:
            problems.append(
                Problem(
                    Location(name, line=1, column=label),
                    f"duplicate header {label!r} (fields {seen[target] + 1} and {i + 1})",
                )
            )
            continue
        seen[target] = i
        if target in kind.column_names:
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
        hint = "fix the header row"
        if missing:
            sample = ", ".join(f"'{f.strip()}'" for f in fields[:4] if f.strip())
            hint = (
                f"map the file's headers in cstool.yaml under exports.{kind.name}.columns "
                f"(e.g. 'Account ID': account_id); the file has {sample}"
            )
        raise InputError(
            problems[0].message, location=problems[0].location, hint=hint, problems=problems
        )
    return _Header(fields, canonical, extras)


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

    def add_mask(self, records: Any, mask: Any, column: str, messages: Any) -> None:
        import numpy as np

        idx = np.flatnonzero(mask)
        for i in idx[:MAX_REPORTED]:
            self.add(int(records[i]), column, str(messages[i]))
        for i in idx[MAX_REPORTED:]:
            self.total += 1
            self.bad_records.setdefault(int(records[i]), f"{column}: {messages[i]}")


def _show(v: Any) -> str:
    s = str(v)
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _parse_column(col: Column, s: pd.Series, date_format: str) -> tuple[pd.Series, Any, Any]:
    """Parse a text column by its declared type: (values, bad mask, messages per row)."""
    import numpy as np
    import pandas as pd

    stripped = s.str.strip()
    if col.default is not None:
        s = s.where(stripped != "", col.default)
        stripped = s.str.strip()
    empty = (stripped == "").to_numpy()
    msgs = np.full(len(s), "", dtype=object)
    if col.type is ColType.TEXT:
        values = s.where(~empty, None).astype(object)
        bad = np.zeros(len(s), dtype=bool)
        if col.choices:
            low = stripped.str.lower()
            bad = ~empty & ~low.isin(col.choices).to_numpy()
            msgs[bad] = [f"{_show(v)} is not one of {', '.join(col.choices)}" for v in s[bad]]
            values = low.where(~empty, None).astype(object)
    elif col.type in (ColType.INTEGER, ColType.NUMBER):
        if col.type is ColType.INTEGER:
            ok = stripped.str.fullmatch(r"[+-]?\d{1,18}").fillna(False).to_numpy(dtype=bool)
            what = "a whole number"
        else:
            ok = (
                stripped.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
                .fillna(False)
                .to_numpy(dtype=bool)
            )
            what = "a number"
        bad = ~empty & ~ok
        msgs[bad] = [f"{_show(v)} is not {what}" for v in s[bad]]
        # Arrow casts validated digits to numbers in C; rows that failed stay missing.
        import pyarrow as pa
        import pyarrow.compute as pc

        target = pa.int64() if col.type is ColType.INTEGER else pa.float64()
        digits = stripped.where(ok, "0").str.lstrip("+")
        cast = pc.cast(pa.array(digits, type=pa.string()), target)
        nums = pd.Series(cast.to_numpy(zero_copy_only=False), index=s.index).where(ok)
        if col.minimum is not None:
            low_bad = ok & (nums < col.minimum).fillna(False).to_numpy(dtype=bool)
            msgs[low_bad] = [f"{_show(v)} is below the minimum {col.minimum:g}" for v in s[low_bad]]
            bad |= low_bad
        if col.maximum is not None:
            hi_bad = ok & (nums > col.maximum).fillna(False).to_numpy(dtype=bool)
            msgs[hi_bad] = [f"{_show(v)} is above the maximum {col.maximum:g}" for v in s[hi_bad]]
            bad |= hi_bad
        if col.type is ColType.INTEGER:
            values = nums.astype("Int64")
        else:
            values = nums.astype("Float64")
    elif col.type in (ColType.DATE, ColType.TIMESTAMP):
        # Exports repeat few distinct dates, so only the distinct strings are parsed.
        codes, uniques = pd.factorize(stripped)
        if col.type is ColType.DATE:
            parsed = pd.to_datetime(pd.Series(uniques), format=date_format, errors="coerce")
        else:
            parsed = pd.to_datetime(pd.Series(uniques), format="ISO8601", utc=True, errors="coerce")
        parsed_rows = pd.Series(parsed.to_numpy()[codes], index=s.index)
        bad = ~empty & parsed_rows.isna().to_numpy()
        expected = date_format if col.type is ColType.DATE else "ISO 8601 date and time"
        msgs[bad] = [f"{_show(v)} is not a date in the format {expected}" for v in s[bad]]
        values = parsed_rows
    else:  # BOOL
        low = stripped.str.lower()
        is_true = low.isin(_TRUE).to_numpy()
        is_false = low.isin(_FALSE).to_numpy()
        bad = ~empty & ~is_true & ~is_false
        msgs[bad] = [f"{_show(v)} is not true/false, yes/no or 1/0" for v in s[bad]]
        values = pd.Series(np.where(is_true, 1, 0), index=s.index, dtype="Int64").where(
            is_true | is_false, pd.NA
        )
    if col.required:
        req_bad = empty
        msgs[req_bad & ~bad] = "a value is required"
        bad = bad | req_bad
    return values, bad, msgs


def _sql_values(col: Column, values: pd.Series, in_key: bool) -> list[Any]:
    """Python values ready for SQLite (None for missing) from parsed column values."""
    import pandas as pd

    if col.type is ColType.DATE:
        out = values.dt.strftime("%Y-%m-%d")
    elif col.type is ColType.TIMESTAMP:
        out = values.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        out = values
    lst = out.astype(object).where(out.notna(), None).tolist()
    if in_key:
        lst = ["" if v is None else v for v in lst]
    return [None if v is pd.NA else v for v in lst]


class _Loader:
    """One load of one file; see the module docstring for the protocol."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        kind: ExportKind,
        path: Path,
        encoding: str,
        mode: Mode,
        progress: Progress | None,
    ) -> None:
        self.ws = ws
        self.store = store
        self.kind = kind
        self.path = path
        self.name = path.name
        self.encoding = encoding
        self.mode = mode
        self.progress = progress
        cfg = ws.resolved.config
        self.export = cfg.export(kind.name)
        self.default_date_format = cfg.date_format
        self.changed = 0
        self.usage: _UsageRefs | None = None

    def date_format(self, column: str) -> str:
        return self.export.date_formats.get(column, self.default_date_format)

    # ------------------------------------------------------------------------------------
    def run(
        self, header: _Header, exclude: set[int], write: bool
    ) -> tuple[_Problems, int, set[Any]]:
        """One pass over the file: validate every batch, write the good rows while clean."""
        import numpy as np

        problems = _Problems(self.name)
        reader = BatchReader(self.path, self.encoding, len(header.fields))
        refs = self._reference_sets()
        seen_keys: dict[Any, int] = {}
        rejected_keys: set[Any] = set()
        if self.kind.name == "usage" and (self.usage is None or self.usage.find is None):
            self.usage = _UsageRefs(self.store)
        rows = 0
        total = self.path.stat().st_size
        skip = np.fromiter(exclude, dtype=np.int64) if exclude else None
        for batch in reader:
            frame, recs = batch.frame, batch.records
            bad = np.zeros(len(frame), dtype=bool)
            parsed: dict[str, Any] = {}
            for cname, idx in header.canonical.items():
                col = self.kind.column(cname)
                values, cbad, msgs = _parse_column(col, frame[f"c{idx}"], self.date_format(cname))
                problems.add_mask(recs, cbad, cname, msgs)
                bad |= cbad
                parsed[cname] = values
            for col in self.kind.columns:
                if col.name not in parsed and col.default is not None:
                    import pandas as pd

                    parsed[col.name], _, _ = _parse_column(
                        col,
                        pd.Series([col.default] * len(frame), dtype=object),
                        self.date_format(col.name),
                    )
            bad |= self._check_references(parsed, refs, recs, problems, bad)
            if self.kind.name == "usage":
                bad |= self._usage_keys(parsed, recs, bad, problems)
            else:
                bad |= self._generic_keys(parsed, recs, bad, seen_keys, rejected_keys, problems)
            if skip is not None:
                bad |= np.isin(recs, skip)
            rows += len(frame)
            # A normal pass writes only while everything so far is clean; a pass that
            # excludes known bad records writes every good row.
            clean = problems.total == 0 and not reader.bad
            if write and (clean or skip is not None):
                self._write(frame, header, parsed, ~bad, refs)
            if self.progress:
                self.progress("loading", batch.bytes_done, total)
        for b in reader.bad:
            fields = f"{b.actual} field{'s' if b.actual != 1 else ''}"
            problems.add(b.record, None, f"has {fields}, the header has {b.expected}")
        if self.usage is not None and self.usage.find is None:
            self._late_usage_duplicates(header, problems)
            if write:
                self.store.widen_user_activity(self.usage.spans())
        # A rejected row is still in the export: its stored row is neither marked inactive
        # nor deleted.
        return problems, rows + len(reader.bad), set(seen_keys) | rejected_keys

    # ------------------------------------------------------------------------------------
    def _reference_sets(self) -> dict[str, Any]:
        refs: dict[str, Any] = {}
        for ref in self.kind.references:
            if self.kind.name == "usage":
                continue
            key = get_kind(ref.kind).key[0]
            refs[ref.column] = self.store.existing_keys(ref.kind, key)
        return refs

    def _check_references(
        self, parsed: dict[str, Any], refs: dict[str, Any], recs: Any, problems: _Problems, bad: Any
    ) -> Any:
        import numpy as np

        out = np.zeros(len(recs), dtype=bool)
        for ref in self.kind.references:
            if self.kind.name == "usage" or ref.column not in parsed:
                continue
            s = parsed[ref.column]
            present = s.notna().to_numpy()
            known = s.isin(refs[ref.column]).to_numpy()
            missing = present & ~known & ~bad
            if missing.any():
                msgs = np.array(
                    [f"{ref.column} {_show(v)} is not a known {ref.kind[:-1]}" for v in s[missing]]
                    + [""],
                    dtype=object,
                )
                full = np.full(len(s), "", dtype=object)
                full[missing] = msgs[:-1]
                problems.add_mask(recs, missing, ref.column, full)
                out |= missing
        return out

    def _generic_keys(
        self,
        parsed: dict[str, Any],
        recs: Any,
        bad: Any,
        seen: dict[Any, int],
        rejected: set[Any],
        problems: _Problems,
    ) -> Any:
        import numpy as np

        # Keys as they are stored, so that they compare equal to the rows in the database
        # (a timestamp is text there) and two values stored alike count as duplicates.
        cols = [_sql_values(self.kind.column(k), parsed[k], True) for k in self.kind.key]
        keys = list(zip(*cols, strict=True)) if len(cols) > 1 else cols[0]
        out = np.zeros(len(recs), dtype=bool)
        label = ", ".join(self.kind.key)
        for i, k in enumerate(keys):
            if bad[i]:
                parts = k if isinstance(k, tuple) else (k,)
                if all(v != "" for v in parts):
                    rejected.add(k)
                continue
            first = seen.setdefault(k, int(recs[i]))
            if first != recs[i]:
                out[i] = True
                problems.add(
                    int(recs[i]), label, f"duplicate key {_show(k)}; first seen at record {first}"
                )
        return out

    def _usage_keys(self, parsed: dict[str, Any], recs: Any, bad: Any, problems: _Problems) -> Any:
        """Resolve users and features to ids, check accounts, and pack the row keys."""
        import numpy as np

        assert self.usage is not None
        u = self.usage
        uid, acct_ok, known = u.users(parsed["user_id"], parsed["account_id"])
        out = np.zeros(len(recs), dtype=bool)
        unknown = ~known & ~bad
        if unknown.any():
            msgs = np.full(len(recs), "", dtype=object)
            msgs[unknown] = [
                f"user_id {_show(v)} is not a known user" for v in parsed["user_id"][unknown]
            ]
            problems.add_mask(recs, unknown, "user_id", msgs)
            out |= unknown
        wrong = ~bad & known & ~acct_ok
        if wrong.any():
            msgs = np.full(len(recs), "", dtype=object)
            msgs[wrong] = [
                f"account_id {_show(a)} is not the account of user {_show(usr)} "
                f"({_show(u.account_of(usr))})"
                for a, usr in zip(
                    parsed["account_id"][wrong], parsed["user_id"][wrong], strict=True
                )
            ]
            problems.add_mask(recs, wrong, "account_id", msgs)
            out |= wrong
        ok = ~(bad | out)
        fid = u.features(parsed["feature"], ok)
        day = _days(parsed["date"])
        packed = (day << (_UID_BITS + _FID_BITS)) | (uid << _FID_BITS) | fid
        # Duplicates inside this batch are found here; across batches at the end.
        dmask = np.zeros(len(recs), dtype=bool)
        if u.find is not None:
            u.found(packed[ok], recs[ok])
        else:
            import pandas as pd

            sub = pd.Series(packed[ok])
            dup_local = sub.duplicated(keep="first").to_numpy()
            if dup_local.any():
                first_rec = dict(
                    zip(sub[~dup_local].tolist(), recs[ok][~dup_local].tolist(), strict=True)
                )
                dmask[np.flatnonzero(ok)[dup_local]] = True
                msgs = np.full(len(recs), "", dtype=object)
                msgs[dmask] = [
                    f"duplicate key (date, user_id, feature); first seen at record {first_rec[k]}"
                    for k in packed[dmask].tolist()
                ]
                problems.add_mask(recs, dmask, "date, user_id, feature", msgs)
                out |= dmask
            u.keys.add(packed[ok & ~dmask])
        parsed["_uid"], parsed["_fid"], parsed["_day"] = uid, fid, day
        return out

    def _late_usage_duplicates(self, header: _Header, problems: _Problems) -> None:
        """Report keys repeated across batches, re-reading the file to name their records."""
        assert self.usage is not None
        dups = self.usage.keys.duplicates()
        if not len(dups):
            return
        self.usage.find = dups
        self.run(header, set(), write=False)
        self.usage.find = None
        for _, seen in sorted(self.usage.hits.items(), key=lambda kv: kv[1][1]):
            for rec in seen[1:]:
                problems.add(
                    rec,
                    "date, user_id, feature",
                    f"duplicate key (date, user_id, feature); first seen at record {seen[0]}",
                )

    # ------------------------------------------------------------------------------------
    def _write(
        self,
        frame: pd.DataFrame,
        header: _Header,
        parsed: dict[str, Any],
        good: Any,
        refs: dict[str, Any],
    ) -> None:
        import numpy as np

        idx = np.flatnonzero(good)
        if not len(idx):
            return
        attrs: list[str | None]
        if header.extras:
            extra_cols = {
                n: frame[f"c{i}"].to_numpy(dtype=object)[idx] for n, i in header.extras.items()
            }
            attrs = [
                json.dumps(dict(zip(extra_cols, vals, strict=True)), ensure_ascii=False)
                for vals in zip(*extra_cols.values(), strict=True)
            ]
        else:
            attrs = [None] * len(idx)
        if self.kind.name == "usage":
            assert self.usage is not None
            events = parsed["events"].to_numpy(dtype="int64", na_value=1)[idx]
            day, uid, fid = parsed["_day"][idx], parsed["_uid"][idx], parsed["_fid"][idx]
            self.store.add_features(self.usage.take_new_features())
            self.changed += self.store.upsert_usage(
                zip(day.tolist(), uid.tolist(), fid.tolist(), events.tolist(), attrs, strict=True)
            )
            self.usage.widen(uid[events > 0], day[events > 0])
            return
        cols = [c.name for c in self.kind.columns if c.name in parsed]
        values = [
            [
                v
                for i, v in enumerate(
                    _sql_values(self.kind.column(c), parsed[c], c in self.kind.key)
                )
                if good[i]
            ]
            for c in cols
        ]
        self.changed += self.store.upsert(
            self.kind, [*cols, "attributes"], zip(*values, attrs, strict=True)
        )


class _KeySet:
    """Packed usage keys of one load, checked for repeats in bounded memory.

    Keys collect in a fixed buffer; a full buffer is sorted and spilled to a temporary file.
    The final check walks all runs one slice of the key space at a time, so memory stays
    flat however many rows the file has.
    """

    def __init__(self, capacity: int = 4_000_000) -> None:
        import numpy as np

        self.buf = np.empty(capacity, dtype=np.int64)
        self.n = 0
        self.runs: list[Path] = []
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

        import numpy as np

        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="cstool-keys-")
        run = self.buf[: self.n]
        run.sort()
        path = Path(self.tmp.name) / f"run{len(self.runs)}.npy"
        np.save(path, run)
        self.runs.append(path)
        self.n = 0

    def duplicates(self) -> Any:
        """The distinct keys that occur more than once."""
        import numpy as np

        try:
            if not self.runs:
                run = np.sort(self.buf[: self.n])
                return np.unique(run[1:][run[1:] == run[:-1]])
            if self.n:
                self._spill()
            runs = [np.load(p, mmap_mode="r") for p in self.runs]
            step = max(len(self.buf) // (2 * len(runs)), 1)
            bounds = np.unique(np.concatenate([r[::step] for r in runs]))
            found = []
            lo = None
            for hi in [*bounds[1:].tolist(), None]:
                parts = [
                    r[
                        (0 if lo is None else np.searchsorted(r, lo)) : (
                            len(r) if hi is None else np.searchsorted(r, hi)
                        )
                    ]
                    for r in runs
                ]
                chunk = np.sort(np.concatenate(parts))
                found.append(np.unique(chunk[1:][chunk[1:] == chunk[:-1]]))
                lo = hi
            return np.unique(np.concatenate(found))
        finally:
            if self.tmp is not None:
                self.tmp.cleanup()
                self.tmp = None
                self.runs = []


class _UsageRefs:
    """What a usage load resolves with arrays rather than per row: users, features, keys."""

    def __init__(self, store: Store) -> None:
        import numpy as np
        import pandas as pd

        ids, uids, accounts = store.user_table()
        self.user_index = pd.Index(ids, dtype=object)
        self.user_uid = np.array(uids + [-1], dtype=np.int64)
        self.user_account = np.array(accounts + [None], dtype=object)
        self.fids = dict(store.feature_names())
        self.next_fid = max(self.fids.values(), default=0) + 1
        self.new_features: list[tuple[int, str]] = []
        self.keys = _KeySet()
        size = int(self.user_uid.max()) + 2 if len(ids) else 1
        self.first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        self.last = np.full(size, -1, dtype=np.int64)
        # Set while re-reading the file to name the records of repeated keys.
        self.find: Any = None
        self.hits: dict[int, list[int]] = {}

    def users(self, user_ids: pd.Series, account_ids: pd.Series) -> tuple[Any, Any, Any]:
        """Per row: uid, whether account_id is the user's account, whether the user is known."""
        import numpy as np
        import pandas as pd

        ucodes, uniques = pd.factorize(user_ids.fillna(""))
        pos = self.user_index.get_indexer(pd.Index(uniques, dtype=object))
        uid = self.user_uid[pos][ucodes]
        known = uid >= 0
        # Compare accounts on distinct (user, account) pairs rather than on every row.
        acodes, auniques = pd.factorize(account_ids.fillna(""))
        pair = ucodes.astype(np.int64) * (len(auniques) + 1) + acodes
        pcodes, puniques = pd.factorize(pair)
        pu, pa = puniques // (len(auniques) + 1), puniques % (len(auniques) + 1)
        match = self.user_account[pos[pu]] == np.asarray(auniques, dtype=object)[pa]
        return uid, np.asarray(match, dtype=bool)[pcodes], known

    def account_of(self, user_id: str) -> str | None:
        import pandas as pd

        pos = self.user_index.get_indexer(pd.Index([user_id], dtype=object))[0]
        return None if pos < 0 else str(self.user_account[pos])

    def features(self, names: pd.Series, ok: Any) -> Any:
        """Feature ids per row; names first seen in good rows get new ids."""
        import numpy as np
        import pandas as pd

        codes, uniques = pd.factorize(names.fillna(""))
        used = set(np.unique(codes[ok]).tolist())
        for i, name in enumerate(uniques):
            if name not in self.fids and i in used:
                self.fids[name] = self.next_fid
                self.new_features.append((self.next_fid, name))
                self.next_fid += 1
        return np.array([self.fids.get(n, 0) for n in uniques] + [0], dtype=np.int64)[codes]

    def take_new_features(self) -> list[tuple[int, str]]:
        new, self.new_features = self.new_features, []
        return new

    def widen(self, uid: Any, day: Any) -> None:
        """Track each user's first and last active day across the load."""
        import numpy as np

        np.minimum.at(self.first, uid, day)
        np.maximum.at(self.last, uid, day)

    def spans(self) -> list[tuple[int, int, int]]:
        import numpy as np

        touched = np.flatnonzero(self.last >= 0)
        return list(
            zip(
                touched.tolist(),
                self.first[touched].tolist(),
                self.last[touched].tolist(),
                strict=True,
            )
        )

    def found(self, keys: Any, recs: Any) -> None:
        import numpy as np

        hit = np.isin(keys, self.find)
        for k, r in zip(keys[hit].tolist(), recs[hit].tolist(), strict=True):
            self.hits.setdefault(k, []).append(r)


def _days(dates: pd.Series) -> Any:
    """Day numbers (days since 1970-01-01) of parsed dates; NaT becomes 0."""
    import numpy as np

    ns = dates.to_numpy(dtype="datetime64[ns]")
    out = ns.astype("datetime64[D]").astype(np.int64)
    out[np.isnat(ns)] = 0
    return out


def load(
    ws: Workspace,
    kind_name: str,
    path: Path,
    *,
    mode: Mode = "upsert",
    encoding: str | None = None,
    allow_rejects: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Validate ``path`` as a ``kind_name`` export and merge it into the workspace database.

    Raises :class:`InputError` (nothing written) when the file has problems, or
    :class:`PartialFailure` (exit 4) with ``allow_rejects`` when some rows were rejected.
    """
    if mode not in ("upsert", "replace"):
        raise UsageError(f"unknown mode {mode!r}", hint="use --mode upsert or --mode replace")
    kind = get_kind(kind_name)
    started = time.perf_counter()
    cfg = ws.resolved.config.export(kind.name)
    enc = encoding or cfg.encoding or "utf-8"
    file_label = ws.relative(path)
    size = path.stat().st_size if path.exists() else 0

    def pre_progress(n: int, _done: list[int] = [0]) -> None:  # noqa: B006
        _done[0] += n
        if progress:
            progress("checking", _done[0], size)

    scan = prescan(path, enc, pre_progress)
    header = map_header(kind, read_header(path, scan.encoding), cfg.columns, path.name)
    with ws.writing():
        store = Store.open(ws.db_path)
        try:
            return _load_locked(
                ws,
                store,
                kind,
                path,
                file_label,
                scan.sha256,
                scan.encoding,
                header,
                mode,
                allow_rejects,
                now,
                progress,
                started,
            )
        finally:
            store.close()


def _load_locked(
    ws: Workspace,
    store: Store,
    kind: ExportKind,
    path: Path,
    label: str,
    sha: str,
    enc: str,
    header: _Header,
    mode: Mode,
    allow_rejects: bool,
    now: datetime | None,
    progress: Progress | None,
    started: float,
) -> LoadResult:
    last = store.last_load(kind.name)
    if last is not None and last.sha256 == sha and last.mode == mode and last.rejected == 0:
        return LoadResult(
            kind.name,
            label,
            rows=last.rows,
            unchanged=last.rows,
            skipped=True,
            sha256=sha,
            seconds=time.perf_counter() - started,
        )
    loader = _Loader(ws, store, kind, path, enc, mode, progress)
    result = LoadResult(kind.name, label, sha256=sha)
    try:
        with store.transaction():
            before_rows = _prepare(store, kind, mode)
            problems, result.rows, keys = loader.run(header, set(), write=True)
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
            _finish(store, kind, mode, keys, result, before_rows, loader.changed)
            result.seconds = time.perf_counter() - started
            store.record_load(_record(result, mode, now))
        return result
    except _Rollback as rb:
        problems = rb.problems
    located = _locate(path, enc, problems)
    if not allow_rejects:
        shown = problems.total
        raise InputError(
            f"{shown:,} problem{'s' if shown != 1 else ''} in {path.name}; nothing was loaded",
            hint="fix the rows and load again, or pass --allow-rejects to load the good rows "
            "and write the bad ones to a rejects file",
            problems=located,
            total=problems.total,
        )
    with store.transaction():
        before_rows = _prepare(store, kind, mode)
        loader.changed = 0
        exclude = set(problems.bad_records)
        _, result.rows, keys = loader.run(header, exclude, write=True)
        result.rejected = len(exclude)
        _finish(store, kind, mode, keys, result, before_rows, loader.changed)
        result.seconds = time.perf_counter() - started
        store.record_load(_record(result, mode, now))
    result.rejects_file = _write_rejects(ws, kind, path, enc, header, problems, sha)
    result.problems = located
    raise PartialFailure(
        f"{result.rejected:,} of {result.rows:,} rows rejected to "
        f"{ws.relative(result.rejects_file)}; the other rows are loaded",
        result=result,
        problems=located,
        total=problems.total,
        hint="fix the rejected rows and load them again; the good rows are in",
    )


def _prepare(store: Store, kind: ExportKind, mode: Mode) -> int:
    """Start of a merge inside the transaction: replace mode empties usage first."""
    if mode == "replace" and kind.name == "usage":
        store.clear("usage")
    return store.count(kind.name)


class _Rollback(Exception):
    def __init__(self, problems: _Problems) -> None:
        super().__init__("validation failed")
        self.problems = problems


def _finish(
    store: Store,
    kind: ExportKind,
    mode: Mode,
    keys: set[Any],
    result: LoadResult,
    before_rows: int,
    changed: int,
) -> None:
    """Count what the merge changed, then deactivate or delete what the file no longer has."""
    result.inserted = store.count(kind.name) - before_rows
    result.updated = changed - result.inserted
    result.unchanged = result.rows - result.rejected - result.inserted - result.updated
    if kind.snapshot:
        result.deactivated = store.deactivate_missing(kind, keys)
    elif mode == "replace" and kind.name != "usage":
        result.deleted = store.delete_missing(kind, keys)
    if kind.name == "usage" and result.updated:
        # An update may have turned a user's only activity into events = 0, which widening
        # cannot undo; rebuilding is a single scan and only happens when rows changed.
        store.rebuild_user_activity()


def _record(r: LoadResult, mode: Mode, now: datetime | None) -> LoadRecord:
    stamp = (now or datetime.now()).replace(microsecond=0).isoformat()
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
    )


def _locate(path: Path, enc: str, problems: _Problems) -> list[Problem]:
    lines = record_lines(path, enc, [r for r, _, _ in problems.kept])
    return [
        Problem(Location(path.name, line=lines.get(r), record=r, column=c), m)
        for r, c, m in sorted(problems.kept, key=lambda p: p[0])
    ]


def _write_rejects(
    ws: Workspace,
    kind: ExportKind,
    path: Path,
    enc: str,
    header: _Header,
    problems: _Problems,
    sha: str,
) -> Path:
    """Bad records with their line and reason, named by the file's hash (never by raw data)."""
    import csv

    from cstool.csvfile import write_csv_atomic

    bad = problems.bad_records
    lines: dict[int, int] = {}
    out_rows: list[list[Any]] = []
    with path.open(encoding=enc, newline="") as f:
        reader = csv.reader(f)
        start = 1
        for rec, fields in enumerate(reader):
            if rec in bad:
                lines[rec] = start
                out_rows.append([start, rec, bad[rec], *fields])
            start = reader.line_num + 1
    dest = ws.rejects_dir / f"{kind.name}-{sha[:12]}.csv"
    write_csv_atomic(dest, ["line", "record", "problem", *header.fields], out_rows)
    return dest
