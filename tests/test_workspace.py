"""Creating, finding and locking a workspace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cstool.errors import InputError, LockHeld, NotFoundError
from cstool.workspace import Workspace, find_root, init_workspace, open_workspace

REPO = Path(__file__).resolve().parents[1]


def test_init_creates_the_layout(tmp_path: Path) -> None:
    """init writes cstool.yaml, a migrated cstool.db and the starter folders."""
    result = init_workspace(tmp_path / "acme")
    root = tmp_path / "acme"
    assert result.root == root.resolve()
    assert result.created == (
        "cstool.yaml",
        "cstool.db",
        "playbooks/",
        "email_templates/",
        "journeys/",
        "outbox/",
    )
    assert (root / "cstool.yaml").is_file()
    for folder in ("playbooks", "email_templates", "journeys", "outbox"):
        assert (root / folder).is_dir()
    assert not (root / "data").exists()
    db = sqlite3.connect(root / "cstool.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"accounts", "users", "usage", "loads"} <= tables
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_init_writes_the_company(tmp_path: Path) -> None:
    """The company name given to init is the company of the new workspace."""
    init_workspace(tmp_path / "acme", company="Globex: West")
    assert open_workspace(tmp_path / "acme").resolved.config.company == "Globex: West"


def test_init_copies_the_starter_files(tmp_path: Path) -> None:
    """Every bundled playbook and template file is copied into the workspace."""
    init_workspace(tmp_path / "acme")
    for folder in ("playbooks", "email_templates"):
        shipped = sorted(p.relative_to(REPO / folder) for p in (REPO / folder).rglob("*"))
        copied = sorted(
            p.relative_to(tmp_path / "acme" / folder)
            for p in (tmp_path / "acme" / folder).rglob("*")
        )
        assert copied == shipped


def test_init_with_sample_copies_the_sample_exports(tmp_path: Path) -> None:
    """init --sample copies every sample CSV into data/."""
    result = init_workspace(tmp_path / "acme", sample=True)
    shipped = sorted(p.name for p in (REPO / "sample_data").glob("*.csv"))
    assert "accounts.csv" in shipped
    assert sorted(p.name for p in (tmp_path / "acme" / "data").iterdir()) == shipped
    for name in shipped:
        assert (tmp_path / "acme" / "data" / name).read_bytes() == (
            REPO / "sample_data" / name
        ).read_bytes()
    assert result.created[-1] == "data/"


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """init into an existing workspace fails and leaves its files as they were."""
    init_workspace(tmp_path / "acme")
    config = tmp_path / "acme" / "cstool.yaml"
    config.write_text("company: Mine\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        init_workspace(tmp_path / "acme")
    assert "cstool.yaml already exists; init never overwrites files" in str(e.value)
    assert e.value.exit_code == 1
    assert config.read_text(encoding="utf-8") == "company: Mine\n"


def test_init_refuses_when_only_the_database_exists(tmp_path: Path) -> None:
    """An existing cstool.db is never replaced by init."""
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "cstool.db").write_bytes(b"precious")
    with pytest.raises(InputError, match=r"cstool\.db already exists"):
        init_workspace(tmp_path / "acme")
    assert (tmp_path / "acme" / "cstool.db").read_bytes() == b"precious"
    assert not (tmp_path / "acme" / "cstool.yaml").exists()


def test_init_into_an_unrelated_folder(tmp_path: Path) -> None:
    """A folder holding other files can become a workspace; the files stay."""
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "notes.txt").write_text("keep", encoding="utf-8")
    init_workspace(tmp_path / "acme")
    assert (tmp_path / "acme" / "notes.txt").read_text(encoding="utf-8") == "keep"
    assert (tmp_path / "acme" / "cstool.yaml").is_file()


def test_find_by_explicit_path(tmp_path: Path) -> None:
    """An explicit folder is the workspace, wherever the current directory is."""
    init_workspace(tmp_path / "acme")
    assert find_root(tmp_path / "acme", env={}) == (tmp_path / "acme").resolve()


def test_find_by_environment(tmp_path: Path) -> None:
    """CSTOOL_WORKSPACE names the workspace when no flag does."""
    init_workspace(tmp_path / "acme")
    env = {"CSTOOL_WORKSPACE": str(tmp_path / "acme")}
    assert find_root(None, env=env) == (tmp_path / "acme").resolve()


def test_flag_beats_environment(tmp_path: Path) -> None:
    """An explicit folder wins over CSTOOL_WORKSPACE."""
    init_workspace(tmp_path / "one")
    init_workspace(tmp_path / "two")
    env = {"CSTOOL_WORKSPACE": str(tmp_path / "one")}
    assert find_root(tmp_path / "two", env=env) == (tmp_path / "two").resolve()


def test_find_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From a nested folder the nearest cstool.yaml upwards is found."""
    init_workspace(tmp_path / "acme")
    nested = tmp_path / "acme" / "reports" / "2026" / "q1"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_root(None, env={}) == (tmp_path / "acme").resolve()


def test_not_found_has_a_hint(tmp_path: Path) -> None:
    """Outside any workspace the error says how to make or name one."""
    with pytest.raises(NotFoundError) as e:
        find_root(None, env={})
    assert "no cstool workspace here or in any parent folder" in str(e.value)
    assert "cstool init" in (e.value.hint or "")
    assert e.value.exit_code == 1


def test_explicit_folder_without_config(tmp_path: Path) -> None:
    """Naming a folder that is not a workspace fails with its path."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError) as e:
        find_root(tmp_path / "empty", env={})
    assert (
        str(e.value)
        == f"{(tmp_path / 'empty').resolve()} is not a cstool workspace (no cstool.yaml)"
    )


def test_open_resolves_the_config(ws: Workspace) -> None:
    """open_workspace returns the root and its validated configuration."""
    assert ws.config_path == ws.root / "cstool.yaml"
    assert ws.db_path == ws.root / "cstool.db"
    assert ws.resolved.config.company == "Acme"


def test_writing_lock_refuses_a_second_writer(ws: Workspace) -> None:
    """While one writer holds the lock another is refused at once (exit 3)."""
    other = open_workspace(ws.root)
    with ws.writing():
        with pytest.raises(LockHeld) as e, other.writing():
            pass  # pragma: no cover
        assert e.value.exit_code == 3
        assert "another cstool process is writing" in str(e.value)
    with other.writing():
        pass


def test_relative_names_files_inside_the_workspace(ws: Workspace, tmp_path: Path) -> None:
    """Paths inside the workspace are shown relative to it, others as given."""
    assert ws.relative(ws.root / "data" / "a.csv") == "data/a.csv"
    assert ws.relative(tmp_path / "a.csv") == str(tmp_path / "a.csv")
