"""The connection to a workspace database: opening, migrating and transactions.

Nothing here knows a table: the tables and their queries live in the domain modules of
:mod:`cstool.store`, and the order in which their migrations run in
:mod:`cstool.store.migrations`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType

from cstool.errors import EnvironmentProblem, InputError

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01: how usage dates are stored."""
    return (d - EPOCH).days


def day_date(n: int) -> date:
    """The date of a stored day number."""
    return EPOCH + timedelta(days=int(n))


def q(name: str) -> str:
    """Quote an identifier that comes from the declared schemas (never from a file)."""
    return '"' + name.replace('"', '""') + '"'


def schema_version(db: sqlite3.Connection) -> int:
    """How many migrations this database has seen (``PRAGMA user_version``)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


class Store:
    """An open workspace database: the shared connection every domain module works on.

    ``db`` is a plain :class:`sqlite3.Connection` in autocommit mode; writes belong inside
    :meth:`transaction`, which the caller holds around a whole unit of work.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    # -- opening ---------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(str(path), isolation_level=None, timeout=0.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("PRAGMA cache_size=-8192")
            db.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.DatabaseError as e:  # also "file is not a database"
            raise EnvironmentProblem(
                f"cannot open the database {path.name}: {e}",
                hint="check the file's permissions and that the disk is not full; a file that "
                "is not a database was not written by cstool",
            ) from None
        return db

    @classmethod
    def create(cls, path: Path) -> Store:
        """Create a new database with the current schema."""
        store = cls(cls._connect(path), path)
        store.migrate()
        return store

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing workspace database, applying pending migrations."""
        if not path.exists():
            raise InputError(
                f"{path.name} is missing from the workspace",
                hint="run `cstool init` to create a workspace",
            )
        store = cls(cls._connect(path), path)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def migrate(self) -> None:
        """Apply the migrations this database has not seen yet, each in a transaction."""
        from cstool.store.migrations import MIGRATIONS

        version = schema_version(self.db)
        if version > len(MIGRATIONS):
            raise EnvironmentProblem(
                f"the database was written by a newer cstool (schema {version}, this cstool "
                f"knows {len(MIGRATIONS)})",
                hint="upgrade cstool",
            )
        for i, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                step(self.db)
                self.db.execute(f"PRAGMA user_version = {i}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: committed on success, rolled back on any exception."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise EnvironmentProblem(
                f"the database is busy: {e}", hint="another process is writing; try again"
            ) from None
        try:
            yield
        except BaseException:
            # SQLite may already have rolled back (a full disk, an I/O error): the original
            # error is the one to report.
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
