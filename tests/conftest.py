"""Shared fixtures: every test runs isolated in its own temporary folder."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner, Result

from cstool import console
from cstool.workspace import Workspace, init_workspace, open_workspace

if TYPE_CHECKING:
    from smtp_server import SmtpServer

ACCOUNTS = "account_id,name,licenses_purchased\nA1,Acme,10\nA2,Beta,5\n"
USERS = "user_id,account_id,email\nU1,A1,u1@example.com\nU2,A2,u2@example.com\n"
USAGE_HEADER = "date,account_id,user_id,feature,events\n"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether this run rewrites golden files (``pytest --update-golden``) instead of checking."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder, with no cstool environment, a fixed width and no colour."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CSTOOL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    # The global options live in a module-level object that outlives one invocation.
    for name, value in vars(console.Options()).items():
        monkeypatch.setattr(console.options, name, value)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A new, empty workspace at ``tmp_path/ws``."""
    init_workspace(tmp_path / "ws")
    return open_workspace(tmp_path / "ws")


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        # newline="" so that "\r\n" in a test's text reaches the file unchanged.
        with path.open("w", encoding="utf-8", newline="") as f:
            f.write(content)
    else:
        path.write_bytes(content)
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text (UTF-8, line ends untouched) or bytes to a file in the test folder."""
    return lambda name, content: _write(tmp_path / name, content)


@pytest.fixture
def seeded(ws: Workspace, tmp_path: Path) -> Workspace:
    """A workspace holding accounts A1, A2 and users U1 (of A1), U2 (of A2)."""
    from loading import load

    load(ws, "accounts", _write(tmp_path / "seed_accounts.csv", ACCOUNTS))
    load(ws, "users", _write(tmp_path / "seed_users.csv", USERS))
    return ws


def _dump(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


@pytest.fixture
def db_snapshot() -> Callable[[Path], str]:
    """A stable dump of every table of a database, to assert it did not change."""
    return _dump


@pytest.fixture
def runner() -> CliRunner:
    """A Typer test runner (stdout and stderr are captured separately)."""
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner) -> Callable[..., Result]:
    """Invoke ``cstool ARGS...`` in-process; unexpected exceptions propagate as bugs."""
    from cstool.cli import app

    def invoke(*args: str, **kwargs: object) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False, **kwargs)  # type: ignore[arg-type]

    return invoke


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 recording what it accepts (see tests/smtp_server.py)."""
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        yield server
