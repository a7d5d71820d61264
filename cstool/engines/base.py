"""What every rollup engine shares: the job it is given and the rollup it returns.

See :mod:`cstool.engines` for the definition each engine implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cstool.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

SourceKind = Literal["parquet", "csv", "table", "workspace"]


@dataclass(frozen=True)
class Source:
    """Where usage rows are: Parquet or CSV files (a path, folder or glob), a table the engine
    knows by name, or the usage loaded in a cstool workspace database."""

    kind: SourceKind
    location: str


@dataclass(frozen=True)
class Reading:
    """How a source's columns are read: the usage export's settings in cstool.yaml."""

    columns: dict[str, str] = field(default_factory=dict)  # header renames
    date_format: str = "%Y-%m-%d"  # for dates stored as text
    delimiter: str = ","  # CSV
    encoding: str = "utf-8"  # CSV


@dataclass(frozen=True)
class Job:
    """One rollup: the source, the workspace's users and the dates and windows to count."""

    source: Source
    reading: Reading
    # user_id, account_id (text) and activated (int32 day number of activated_at, or null).
    users: pa.Table
    days: tuple[int, ...]  # day numbers, ascending
    depth_window_days: int
    breadth_window_days: int


@dataclass
class Rollup:
    """What an engine returns: statistics in long form, and what it read.

    ``accounts`` has (day, account_id, activated, active) for accounts with an activated
    user; ``features`` has (day, account_id, feature, users) with users > 0. Rows sort by
    day, account_id (and feature).
    """

    accounts: pa.Table
    features: pa.Table
    seen: list[str]  # every feature in the rows counted, sorted
    rows: int  # rows read
    span: tuple[int, int] | None = None  # first and last day of the rows (None: no rows)
    skipped_unknown: int = 0  # rows of users not in the users export
    skipped_moved: int = 0  # rows whose account_id is not the user's account
    examples: list[str] = field(default_factory=list)  # a few skipped users
    bad_dates: int = 0
    bad_events: int = 0
    missing: int = 0  # rows without a user_id or feature

    @property
    def skipped(self) -> int:
        return self.skipped_unknown + self.skipped_moved


class Engine(Protocol):
    """A rollup engine: turns a :class:`Job` into a :class:`Rollup`."""

    name: str

    def rollup(self, job: Job) -> Rollup:
        """Count the statistics of every account on ``job.days``."""
        ...

    def latest_day(self, source: Source, reading: Reading) -> int | None:
        """The latest day in the source's rows (None when it has none)."""
        ...


def usage_columns(fields: list[str], reading: Reading, label: str) -> dict[str, int]:
    """The positions of the canonical usage columns among a source's ``fields``, matched
    as a CSV header is: trimmed, in any case, with the renames of ``exports.usage.columns``.
    ``events`` may be absent (every row then counts as 1 event)."""
    from cstool.ingest import map_header
    from cstool.schemas import KINDS

    header = map_header(KINDS["usage"], fields, reading.columns, label)
    return dict(header.canonical)


def refuse_bad_rows(r: Rollup, label: str, date_format: str) -> None:
    """Refuse a rollup whose rows had values no load would accept."""
    problems = []
    if r.bad_dates:
        problems.append(
            f"{r.bad_dates:,} with a date that is not a date in the format {date_format}"
        )
    if r.bad_events:
        problems.append(f"{r.bad_events:,} with events that are not a whole number >= 0")
    if r.missing:
        problems.append(f"{r.missing:,} without a user_id or feature")
    if problems:
        n = r.bad_dates + r.bad_events + r.missing
        raise InputError(
            f"{label}: {n:,} usage row{'s' if n != 1 else ''} cannot be counted: "
            + "; ".join(problems)
            + "; nothing was rolled up",
            hint="fix the rows at the source"
            + (
                ", or set exports.usage.date_formats.date in cstool.yaml to the format the "
                "dates are written in"
                if r.bad_dates
                else ""
            ),
        )


def empty_tables() -> tuple[Any, Any]:
    """Empty ``accounts`` and ``features`` tables of a :class:`Rollup`."""
    import pyarrow as pa

    return (
        pa.table(
            {
                "day": pa.array([], pa.int32()),
                "account_id": pa.array([], pa.string()),
                "activated": pa.array([], pa.int64()),
                "active": pa.array([], pa.int64()),
            }
        ),
        pa.table(
            {
                "day": pa.array([], pa.int32()),
                "account_id": pa.array([], pa.string()),
                "feature": pa.array([], pa.string()),
                "users": pa.array([], pa.int64()),
            }
        ),
    )
