"""The SQLite store of a workspace: the one layer that holds SQL.

Layout:

- :mod:`cstool.store.core`: :class:`Store` (the shared connection ``db`` and its ``path``),
  opening and creating, ``migrate()`` and ``transaction()``. Re-exported here.
- :mod:`cstool.store.sql`: what domain modules share: ``q()`` to quote a declared
  identifier, ``day_number()``/``day_date()`` (how days are stored), and the SQL that
  merges JSON attributes. Domain modules import these from here, never from ``core``:
  ``core`` imports the migration list, which imports every domain module.
- :mod:`cstool.store.migrations`: ``MIGRATIONS``, the one ordered, append-only list of
  schema migrations; ``PRAGMA user_version`` counts how many a database has seen.
- One module per domain with that domain's tables and queries, as plain functions over a
  :class:`sqlite3.Connection`: :mod:`~cstool.store.exports` (export tables, load manifest,
  status), :mod:`~cstool.store.usage` (compact usage, users, features, activity spans),
  :mod:`~cstool.store.adoption` (thresholds and snapshots), :mod:`~cstool.store.rollups`
  (per-account usage statistics rolled up by an engine), and one per domain that came
  after them (timeline, nps, ctas, accounts, ...).

Opening: a workspace opens its store with ``ws.open_store(write=...)``. A write open holds
the workspace lock and refuses a read-only workspace (exit 3); a read open (the default)
takes no lock and needs no write access, and its store refuses ``transaction()``. Callers
own transactions::

    with ws.open_store(write=True) as store, store.transaction():
        exports.upsert(store.db, kind, columns, rows)

A reader that runs several queries which must agree holds ``store.snapshot()``, a read
transaction that writes nothing. A dry run asks what a write would change without writing:
``exports.changes`` counts by the very condition ``exports.upsert`` updates on.

Adding a domain (or a table to one):

1. Write ``cstool/store/<domain>.py``: a migration function creating its tables
   (``def create_tables(db: sqlite3.Connection) -> None``), then its queries as functions
   taking ``db`` first. Writing functions never commit: they run inside the caller's
   ``store.transaction()``.
2. Append the migration to ``MIGRATIONS`` in :mod:`cstool.store.migrations`. Never edit,
   reorder or remove a migration that has shipped; a change is a new migration.
3. Regenerate the schema golden file on purpose: ``pytest tests/test_store.py
   --update-golden``, and review its diff.

Identifiers in SQL come from declared schemas and constants, never from a file's data.
"""

from cstool.store.core import Store, schema_version
from cstool.store.sql import EPOCH, day_date, day_number, q

__all__ = ["EPOCH", "Store", "day_date", "day_number", "q", "schema_version"]
