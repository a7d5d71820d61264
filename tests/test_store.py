"""The store's schema: every earlier version migrates in place to the golden schema."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from cstool.errors import EnvironmentProblem
from cstool.schemas import KINDS
from cstool.store import Store, schema_version
from cstool.store.migrations import MIGRATIONS
from cstool.workspace import Workspace

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = GOLDEN / "schema.sql"
RELEASE_0_1_0 = GOLDEN / "workspace-0.1.0.sql"
REGENERATE = (
    "the schema differs from tests/golden/schema.sql. If the change is intended (a new "
    "migration appended to cstool/store/migrations.py), regenerate the file with "
    "`pytest tests/test_store.py --update-golden` and review its diff"
)


def schema_text(path: Path) -> str:
    """The schema of a database as stable text: its version, then every object, sorted."""
    db = sqlite3.connect(path)
    try:
        version = schema_version(db)
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        db.close()
    lines = [f"-- schema version {version}"]
    for kind, name, table, sql in sorted(rows, key=lambda r: (r[0], r[1])):
        if sql is None:  # the index SQLite makes for a PRIMARY KEY or UNIQUE constraint
            lines.append(f"-- {kind} {name} (automatic, on {table})")
        else:
            text = re.sub(r"\s+", " ", sql).strip()
            lines.append(f"-- {kind} {name}\n{text};")
    return "\n".join(lines) + "\n"


def at_version(path: Path, k: int) -> Path:
    """A database built by applying the first ``k`` migrations, as that release left it."""
    db = sqlite3.connect(path)
    try:
        for i, step in enumerate(MIGRATIONS[:k], start=1):
            step(db)
            db.execute(f"PRAGMA user_version = {i}")
        db.commit()
    finally:
        db.close()
    return path


def check_golden(path: Path, update_golden: bool) -> None:
    text = schema_text(path)
    if update_golden:
        SCHEMA.write_text(text, encoding="utf-8")
    assert text == SCHEMA.read_text(encoding="utf-8"), REGENERATE


def test_a_new_database_has_the_golden_schema(tmp_path: Path, update_golden: bool) -> None:
    """A database created now has the schema of tests/golden/schema.sql, at the last version."""
    Store.create(tmp_path / "new.db").close()
    check_golden(tmp_path / "new.db", update_golden)
    assert schema_text(tmp_path / "new.db").startswith(f"-- schema version {len(MIGRATIONS)}\n")


@pytest.mark.parametrize("k", range(len(MIGRATIONS)))
def test_every_earlier_version_migrates_to_the_golden_schema(tmp_path: Path, k: int) -> None:
    """A database at schema k (0 .. latest - 1) is migrated in place to the golden schema."""
    path = at_version(tmp_path / f"v{k}.db", k)
    assert schema_version(sqlite3.connect(path)) == k
    Store.open(path).close()
    assert schema_text(path) == SCHEMA.read_text(encoding="utf-8"), REGENERATE


def test_a_workspace_of_release_0_1_0_migrates_and_keeps_its_data(
    ws: Workspace, cli: Callable[..., Result]
) -> None:
    """A database written by cstool 0.1.0 opens, migrates to the golden schema, keeps rows."""
    ws.db_path.unlink()
    db = sqlite3.connect(ws.db_path)
    db.executescript(RELEASE_0_1_0.read_text(encoding="utf-8"))
    db.close()
    status = cli("-w", str(ws.root), "status", "--format", "csv")
    assert status.exit_code == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[1].startswith("accounts,2,2,2026-11-21T09:00:00,a.csv,")
    assert lines[4].startswith("usage,40,,2026-11-21T09:00:00,g.csv,")
    assert lines[4].endswith(",2026-11-01,2026-11-20")
    assert schema_text(ws.db_path) == SCHEMA.read_text(encoding="utf-8"), REGENERATE
    changes = cli("-w", str(ws.root), "score", "--as-of", "2026-11-20", "--format", "csv")
    assert changes.exit_code == 0, changes.stderr
    assert changes.stdout.splitlines()[1].startswith("A1,Acme,SMB,,0.1,red,1.0,green,0.5,")


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    """A database from a newer cstool (higher user_version) is refused, exit 3, untouched."""
    path = at_version(tmp_path / "new.db", len(MIGRATIONS))
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    before = schema_text(path)
    with pytest.raises(EnvironmentProblem) as caught:
        Store.open(path)
    assert caught.value.exit_code == 3
    assert "written by a newer cstool" in caught.value.message
    assert caught.value.hint == "upgrade cstool"
    assert schema_text(path) == before


def test_a_newer_workspace_is_refused_by_the_cli(ws: Workspace, cli: Callable[..., Result]) -> None:
    """`cstool status` on a newer workspace exits 3 and says to upgrade cstool."""
    db = sqlite3.connect(ws.db_path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    result = cli("-w", str(ws.root), "status")
    assert result.exit_code == 3
    assert "written by a newer cstool" in result.stderr
    assert "hint: upgrade cstool" in result.stderr


def test_every_kind_stored_as_a_table_has_its_declared_columns(tmp_path: Path) -> None:
    """The frozen migrations and the declared kinds agree (compact usage through its view)."""
    store = Store.create(tmp_path / "new.db")
    try:
        for kind in KINDS.values():
            table = "usage_rows" if kind.storage == "compact" else kind.name
            cols = {r[1] for r in store.db.execute(f'PRAGMA table_info("{table}")')}
            assert set(kind.column_names) <= cols, kind.name
    finally:
        store.close()
