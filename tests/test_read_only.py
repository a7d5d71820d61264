"""Reading a workspace without write access: the read commands work, writes say why not."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from cstool.errors import EnvironmentProblem
from cstool.store import Store

GOLDEN = Path(__file__).parent / "golden"
Cli = Callable[..., Result]

READS = [
    ["status", "--format", "csv"],
    ["score", "--no-save", "--as-of", "2026-11-20", "--format", "csv"],
    ["score", "explain", "A1", "--as-of", "2026-11-20"],
    ["changes", "--format", "csv"],
    ["thresholds", "show", "--format", "csv"],
    ["thresholds", "calibrate", "--as-of", "2026-11-20", "--format", "csv"],
]
WRITES = [
    ["score", "--as-of", "2026-11-20"],
    ["load", "accounts", "accounts.csv"],
]


def build(root: Path, cli: Cli) -> Path:
    """A workspace with accounts, users, usage, thresholds and snapshots a week apart."""
    assert cli("init", str(root)).exit_code == 0
    (root / "cstool.db").unlink()
    db = sqlite3.connect(root / "cstool.db")
    db.executescript((GOLDEN / "workspace-0.1.0.sql").read_text(encoding="utf-8"))
    db.close()
    scored = cli("-w", str(root), "score", "--as-of", "2026-11-13")
    assert scored.exit_code == 0, scored.stderr
    (root / ".cstool.lock").unlink()
    (root.parent / "accounts.csv").write_text("account_id,name\nA9,New\n", encoding="utf-8")
    return root


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_reading_takes_no_lock_and_writes_nothing(tmp_path: Path, cli: Cli) -> None:
    """Every read command leaves the workspace byte for byte as it was: no lock, no WAL."""
    root = build(tmp_path / "ws", cli)
    before = files(root)
    for args in READS:
        result = cli("-w", str(root), *args)
        assert result.exit_code == 0, (args, result.stderr)
    assert files(root) == before
    assert "Stored" not in cli("-w", str(root), *READS[1]).stderr


def test_score_no_save_stores_nothing_but_shows_what_score_stores(tmp_path: Path, cli: Cli) -> None:
    """score --no-save prints the rows score prints, and stores neither snapshot nor cuts."""
    root = build(tmp_path / "ws", cli)
    db = sqlite3.connect(root / "cstool.db")
    db.execute("DELETE FROM thresholds")
    db.commit()
    db.close()
    before = files(root)
    dry = cli("-w", str(root), "score", "--no-save", "--as-of", "2026-11-06", "--format", "csv")
    assert dry.exit_code == 0, dry.stderr
    assert files(root) == before
    wet = cli("-w", str(root), "score", "--as-of", "2026-11-06", "--format", "csv")
    assert wet.exit_code == 0
    assert wet.stdout == dry.stdout
    assert "calibrated on the data of 2026-11-06 and stored them" in wet.stderr


def test_a_store_opened_for_reading_refuses_transactions(tmp_path: Path, cli: Cli) -> None:
    """A store opened with write=False cannot start a write transaction."""
    root = build(tmp_path / "ws", cli)
    with Store.open(root / "cstool.db", write=False) as store:
        assert store.read_only
        with pytest.raises(RuntimeError, match="opened for reading"):
            store.transaction().__enter__()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM accounts")


def test_reading_an_older_schema_migrates_it_when_it_may(tmp_path: Path) -> None:
    """Opening a schema-2 database for reading upgrades it first (it may write there)."""
    from cstool.store.migrations import MIGRATIONS

    db = sqlite3.connect(tmp_path / "old.db")
    for i, step in enumerate(MIGRATIONS[:2], start=1):
        step(db)
        db.execute(f"PRAGMA user_version = {i}")
    db.commit()
    db.close()
    with Store.open(tmp_path / "old.db", write=False) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# -- real permissions --------------------------------------------------------------------
# Tests usually run as root, which ignores file permissions: the child process below drops
# to the user nobody after importing everything it needs (reading as root once warms every
# lazy import), then runs the commands on a workspace it may only read.

CHILD = r"""
import json, os, shutil, sys
from pathlib import Path
from typer.testing import CliRunner
from cstool.cli import app

root, copy, commands = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
os.chdir(root.parent)
runner = CliRunner()
def run(where, args):
    r = runner.invoke(app, ["-w", str(where), *args])
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return [r.exit_code, r.stdout, r.stderr]
for args in commands:
    run(copy, args)
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
print(json.dumps([run(root, args) for args in commands]))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder others may enter (pytest's own tmp folder is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="cstool-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(folder)


def _freeze(root: Path) -> None:
    """Take write permission away from the workspace folder and every file in it."""
    for p in sorted(root.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    root.chmod(0o555)


def _run_child(root: Path, copy: Path, commands: list[list[str]]) -> list[list[object]]:
    if os.geteuid() == 0 and sys.platform != "linux":
        pytest.skip("dropping to the user nobody is only done on Linux")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(copy), json.dumps(commands)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    out: list[list[object]] = json.loads(proc.stdout.splitlines()[-1])
    return out


@pytest.mark.parametrize("open_elsewhere", [False, True], ids=["closed", "open-elsewhere"])
def test_a_read_only_workspace_can_be_read(
    shared_tmp: Path, cli: Cli, open_elsewhere: bool
) -> None:
    """Without write access, the read commands work (WAL database, with or without its -shm
    file present) and the writing ones exit 3 saying the workspace is read-only."""
    root = build(shared_tmp / "ws", cli)
    copy = shutil.copytree(root, shared_tmp / "copy")
    expected = [cli("-w", str(copy), *args) for args in READS]
    db = sqlite3.connect(root / "cstool.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    holder = sqlite3.connect(root / "cstool.db") if open_elsewhere else None
    try:
        if holder is not None:
            holder.execute("SELECT COUNT(*) FROM accounts").fetchone()  # creates -wal, -shm
        _freeze(root)
        before = files(root)
        results = _run_child(root, copy, READS + WRITES)
    finally:
        if holder is not None:
            holder.close()
    for args, want, (code, stdout, stderr) in zip(READS, expected, results, strict=False):
        assert code == 0, (args, stderr)
        assert stdout == want.stdout, args
    for args, (code, stdout, stderr) in zip(WRITES, results[len(READS) :], strict=True):
        assert code == 3, (args, stderr)
        assert stdout == ""
        assert f"Error: cannot write to {root}: the folder or cstool.db is read-only" in str(stderr)
    if not open_elsewhere:
        assert files(root) == before


def test_a_read_only_database_with_pending_changes_is_not_read_stale(
    shared_tmp: Path, cli: Cli
) -> None:
    """Committed changes left in the -wal file of a read-only folder: exit 3, not old data."""
    root = build(shared_tmp / "ws", cli)
    copy = shutil.copytree(root, shared_tmp / "copy")
    # A crash after a commit leaves the change in the -wal file, not yet in cstool.db: a copy
    # of the files taken while a connection holds them open is the same on disk.
    db = sqlite3.connect(root / "cstool.db")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("UPDATE accounts SET name = 'Changed' WHERE account_id = 'A1'")
    db.commit()
    frozen = shared_tmp / "frozen"
    frozen.mkdir()
    for name in ("cstool.yaml", "cstool.db", "cstool.db-wal"):
        shutil.copyfile(root / name, frozen / name)
    db.close()
    _freeze(frozen)
    [(code, _, stderr)] = _run_child(frozen, copy, [["status"]])
    assert code == 3
    assert "cstool.db has changes not yet written back from cstool.db-wal" in str(stderr)


def test_writing_a_read_only_database_is_refused_before_anything(tmp_path: Path) -> None:
    """Store.open(write=True) on a database it may not write raises exit 3 at once."""
    if os.geteuid() == 0:
        pytest.skip("root may write any file; the child-process tests cover this")
    path = tmp_path / "x.db"
    Store.create(path).close()
    path.chmod(0o444)
    with pytest.raises(EnvironmentProblem) as caught:
        Store.open(path)
    assert caught.value.exit_code == 3
