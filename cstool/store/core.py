"""The connection to a workspace database: opening, migrating and transactions.

Nothing here knows a table: the tables and their queries live in the domain modules of
:mod:`cstool.store`, and the order in which their migrations run in
:mod:`cstool.store.migrations`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from cstool.errors import EnvironmentProblem, InputError
from cstool.store.migrations import MIGRATIONS


def schema_version(db: sqlite3.Connection) -> int:
    """How many migrations this database has seen (``PRAGMA user_version``)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def writable(path: Path) -> bool:
    """Whether this process may change ``path`` and create files beside it (journal, lock)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_only_problem(path: Path) -> EnvironmentProblem:
    """The error for a write to a database this process may only read."""
    return EnvironmentProblem(
        f"cannot write to {path.parent}: the folder or {path.name} is read-only",
        hint="run the command as a user who may write there; commands that only read "
        "(status, score --no-save, score explain, changes, thresholds show) work without it",
    )


def _refuse_newer(version: int, known: int) -> None:
    if version > known:
        raise EnvironmentProblem(
            f"the database was written by a newer cstool (schema {version}, this cstool "
            f"knows {known})",
            hint="upgrade cstool",
        )


def _cannot_open(path: Path, e: sqlite3.Error) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"cannot open the database {path.name}: {e}",
        hint="check the file's permissions and that the disk is not full; a file that "
        "is not a database was not written by cstool",
    )


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, for a database this process may not change."""
    uri = path.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=5.0)
    try:
        # The first read opens the WAL index (the -shm file), which may fail: see below.
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as e:
        db.close()
        if not e.sqlite_errorname.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            raise
    # A WAL database is read through its -shm index, which a process that cannot write the
    # folder cannot create. There is none when no connection is open, so nobody is writing:
    # the file alone is the database, and it can be read as immutable, unless committed
    # changes are still waiting in the -wal file.
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise EnvironmentProblem(
            f"{path.name} has changes not yet written back from {wal.name}, and its folder "
            "is read-only",
            hint="open the workspace once as a user who may write there (any cstool command "
            "does), then read it again",
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


class Store:
    """An open workspace database: the shared connection every domain module works on.

    ``db`` is a plain :class:`sqlite3.Connection` in autocommit mode; writes belong inside
    :meth:`transaction`, which the caller holds around a whole unit of work. A store opened
    for reading (``read_only``) refuses transactions.
    """

    def __init__(self, db: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self.db = db
        self.path = path
        self.read_only = read_only

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
            raise _cannot_open(path, e) from None
        return db

    @staticmethod
    def _connect_for_reading(path: Path) -> sqlite3.Connection:
        try:
            if writable(path):
                # A read-write connection that runs no writes (query_only): as the last
                # connection to close, it removes the -wal and -shm files it needed.
                db = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
                db.execute("PRAGMA query_only=ON")
            else:
                db = _connect_read_only(path)
            db.execute("PRAGMA cache_size=-8192")
            db.execute("PRAGMA temp_store=MEMORY")
            schema_version(db)
        except sqlite3.DatabaseError as e:
            raise _cannot_open(path, e) from None
        return db

    @classmethod
    def create(cls, path: Path) -> Store:
        """Create a new database with the current schema."""
        store = cls(cls._connect(path), path)
        store.migrate()
        return store

    @classmethod
    def open(cls, path: Path, *, write: bool = True) -> Store:
        """Open an existing workspace database, applying pending migrations.

        ``write=False`` opens it for reading, which needs no write access to the database or
        its folder: a database in a read-only folder is read as it is on disk. (Reading an
        older schema migrates it first, which does need write access.)
        """
        if not path.exists():
            raise InputError(
                f"{path.name} is missing from the workspace",
                hint="run `cstool init` to create a workspace",
            )
        if write:
            if not writable(path):
                raise read_only_problem(path)
            store = cls(cls._connect(path), path)
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
            return store
        db = cls._connect_for_reading(path)
        version = schema_version(db)
        if version != len(MIGRATIONS):
            db.close()
            _refuse_newer(version, len(MIGRATIONS))
            if not writable(path):
                raise EnvironmentProblem(
                    f"{path.name} has schema {version} of an older cstool, and upgrading it "
                    "needs write access",
                    hint="open the workspace once as a user who may write there (any cstool "
                    "command does), then read it again",
                )
            cls.open(path, write=True).close()
            db = cls._connect_for_reading(path)
        return cls(db, path, read_only=True)

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
        version = schema_version(self.db)
        _refuse_newer(version, len(MIGRATIONS))
        for i, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                step(self.db)
                self.db.execute(f"PRAGMA user_version = {i}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: committed on success, rolled back on any exception."""
        if self.read_only:
            raise RuntimeError("a transaction on a store opened for reading")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if e.sqlite_errorname.startswith("SQLITE_READONLY"):
                raise read_only_problem(self.path) from None
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

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the database as it was when the
        first one ran, whatever other processes commit meanwhile. Writes nothing."""
        self.db.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
