"""The one ordered list of schema migrations.

``PRAGMA user_version`` counts the migrations a database has seen; opening it applies the rest
in order, each in its own transaction. The list is append-only: a migration that has shipped is
never edited, reordered or removed, because workspaces out there already ran it. A change to
the schema is a new function, in the domain module that owns the tables, appended here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from cstool.store import adoption, ctas, exports, nps, refs, rollups, sends, timeline, usage

Migration = Callable[[sqlite3.Connection], None]


def initial(db: sqlite3.Connection) -> None:
    """Schema 1: the export tables, users and compact usage, and the load manifest."""
    exports.create_kind_tables(db)
    usage.create_tables(db)
    exports.create_manifest(db)


MIGRATIONS: list[Migration] = [
    initial,  # 1
    adoption.create_tables,  # 2
    exports.add_load_settings,  # 3
    adoption.add_snapshot_basis,  # 4
    timeline.create_tables,  # 5
    nps.create_indexes,  # 6
    adoption.index_account_history,  # 7
    ctas.create_tables,  # 8
    sends.create_tables,  # 9
    rollups.create_tables,  # 10
    refs.create_tables,  # 11
]
