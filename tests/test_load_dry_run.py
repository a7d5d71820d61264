"""load --dry-run: the same checks and counts as a load, and not one byte written; and the
replace that would retire more than half of the active rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS, USAGE
from loading import load
from typer.testing import Result

from cstool.errors import CstoolError, InputError, PartialFailure
from cstool.ingest import LoadResult
from cstool.workspace import Workspace, init_workspace, open_workspace

Write = Callable[[str, str | bytes], Path]
Cli = Callable[..., Result]


def files(root: Path) -> dict[str, bytes]:
    """Every file of a workspace, byte for byte."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def counts(r: LoadResult) -> tuple[int, ...]:
    """What a load says it did (or would do)."""
    return (r.rows, r.inserted, r.updated, r.unchanged, r.rejected, r.deactivated, r.deleted)


def error_text(e: CstoolError) -> str:
    """An error as people read it: message, each located problem, and the hint."""
    return "\n".join([str(e), *(str(p) for p in e.problems), f"hint: {e.hint}"])


def usage_rows(days: range, users: dict[str, str], features: int, bump: int = 0) -> str:
    """Usage rows, one per day, user and feature, events varying with ``bump``."""
    return "".join(
        f"2026-01-{d:02d},{a},{u},f{f},{(d + f + bump) % 5}\n"
        for d in days
        for u, a in users.items()
        for f in range(features)
    )


U = {"U1": "A1", "U2": "A2"}

# id: (kind, first file or None, second file, mode): the dry run of the second file after
# the first is loaded must predict exactly what loading it does.
SCENARIOS = {
    "accounts-upsert": (
        "accounts",
        "account_id,name,csm,Tier\nA3,Gamma,Kim,Gold\nA4,Delta,Kim,Silver\n",
        "account_id,name,Tier\nA3,Gamma,Gold\nA4,Delta Ltd,Silver\nA5,Eps,Bronze\n",
        "upsert",
    ),
    "accounts-upsert-attribute-only": (
        "accounts",
        "account_id,name,Tier,Note\nA3,Gamma,Gold,x\nA4,Delta,Silver,y\n",
        "account_id,name,Note\nA3,Gamma,x\nA4,Delta,z\n",
        "upsert",
    ),
    "accounts-replace": (
        "accounts",
        "account_id,name\nA3,Gamma\n",
        "account_id,name,csm\nA1,Acme,\nA2,Beta Ltd,\nA3,Gamma,Kim\nA9,New,\n",
        "replace",
    ),
    "accounts-replace-half": (
        "accounts",
        None,
        "account_id,name,licenses_purchased\nA1,Acme,10\n",
        "replace",
    ),
    "users-replace": (
        "users",
        "user_id,account_id,email\nU3,A1,u3@example.com\nU4,A2,u4@example.com\n",
        "user_id,account_id,email\nU1,A1,u1@example.com\nU2,A2,new@example.com\n"
        "U3,A1,u3@example.com\nU5,A1,\n",
        "replace",
    ),
    "email-events-replace": (
        "email_events",
        "message_id,event,timestamp,url\nm1,open,2026-01-01T10:00:00Z,\n"
        "m1,click,2026-01-01T10:01:00Z,https://example.com\nm2,open,2026-01-02T10:00:00Z,\n",
        "message_id,event,timestamp,url,user_agent\nm1,open,2026-01-01T10:00:00+00:00,,UA\n"
        "m1,click,2026-01-01T10:01:00Z,https://example.com,\nm3,open,2026-01-03T10:00:00Z,,\n",
        "replace",
    ),
    "usage-upsert": (
        "usage",
        USAGE + usage_rows(range(1, 8), U, 3),
        USAGE + usage_rows(range(5, 12), U, 3, bump=1),
        "upsert",
    ),
    "usage-upsert-same": (
        "usage",
        USAGE + usage_rows(range(1, 8), U, 3),
        USAGE.replace("\n", "\r\n") + usage_rows(range(1, 8), U, 3).replace("\n", "\r\n"),
        "upsert",
    ),
    "usage-replace": (
        "usage",
        USAGE + usage_rows(range(1, 8), U, 3),
        USAGE + usage_rows(range(3, 9), U, 3, bump=2),
        "replace",
    ),
    "usage-replace-unchanged": (
        "usage",
        USAGE + usage_rows(range(1, 8), U, 3),
        USAGE + usage_rows(range(2, 9), U, 2, bump=5),
        "replace",
    ),
    "usage-attributes": (
        "usage",
        USAGE.strip() + ",src,region\n2026-01-01,A1,U1,f,3,web,eu\n2026-01-02,A1,U1,f,3,web,eu\n",
        USAGE.strip() + ",src\n2026-01-01,A1,U1,f,3,app\n2026-01-02,A1,U1,f,3,web\n",
        "upsert",
    ),
}


@pytest.mark.parametrize(
    ("kind", "first", "second", "mode"), list(SCENARIOS.values()), ids=list(SCENARIOS)
)
def test_dry_run_predicts_the_load_and_writes_nothing(
    seeded: Workspace, write: Write, kind: str, first: str | None, second: str, mode: str
) -> None:
    """A dry run reports exactly the counts the load then reports, and leaves every file of
    the workspace byte for byte as it was: no manifest entry, no lock, no WAL."""
    if first is not None:
        load(seeded, kind, write("first.csv", first))
    path = write("second.csv", second)
    before = files(seeded.root)
    dry = load(seeded, kind, path, mode=mode, dry_run=True, force=True)  # type: ignore[arg-type]
    assert dry.dry_run and not dry.skipped
    assert files(seeded.root) == before
    real = load(seeded, kind, path, mode=mode, force=True)  # type: ignore[arg-type]
    assert not real.dry_run
    assert counts(dry) == counts(real)
    assert files(seeded.root) != before


def test_dry_run_counts_by_kind(seeded: Workspace, write: Write) -> None:
    """The counts themselves: new, updated, unchanged and retired rows of a replace."""
    path = write("a.csv", "account_id,name,licenses_purchased\nA1,Acme,10\nA2,Beta,6\nA3,C,1\n")
    r = load(seeded, "accounts", path, mode="replace", dry_run=True)
    assert counts(r) == (3, 1, 1, 1, 0, 0, 0)
    path = write("u.csv", "user_id,account_id,email\nU1,A1,u1@example.com\n")
    r = load(seeded, "users", path, mode="replace", dry_run=True)
    assert counts(r) == (1, 0, 0, 1, 0, 0, 1)


def test_dry_run_of_a_loaded_file_is_skipped(seeded: Workspace, tmp_path: Path) -> None:
    """The file last loaded, read the same way, would change nothing: the dry run says so."""
    r = load(seeded, "accounts", tmp_path / "seed_accounts.csv", dry_run=True)
    assert r.skipped and r.dry_run
    assert (r.rows, r.unchanged) == (2, 2)


def test_dry_run_needs_no_lock(seeded: Workspace, write: Write) -> None:
    """A dry run works while another process holds the write lock."""
    path = write("a.csv", "account_id,name\nA1,Acme\nA3,Gamma\n")
    with seeded.writing():
        r = load(seeded, "accounts", path, dry_run=True)
    assert (r.inserted, r.unchanged) == (1, 1)


@pytest.mark.parametrize(
    ("kind", "content", "fragments"), list(BAD_INPUTS.values()), ids=list(BAD_INPUTS)
)
def test_dry_run_reports_what_a_load_reports(
    seeded: Workspace, write: Write, kind: str, content: str | bytes, fragments: list[str]
) -> None:
    """For every bad input, a dry run fails with exit 1 and the very problems and hint of the
    load, and writes nothing."""
    path = write(f"{kind}.csv", content)
    before = files(seeded.root)
    with pytest.raises(InputError) as dry:
        load(seeded, kind, path, dry_run=True)
    assert files(seeded.root) == before
    with pytest.raises(InputError) as real:
        load(seeded, kind, path)
    assert dry.value.exit_code == 1
    assert error_text(dry.value) == error_text(real.value)
    assert dry.value.total == real.value.total


def test_dry_run_with_allow_rejects(seeded: Workspace, write: Write) -> None:
    """With --allow-rejects, a dry run counts the good rows, names the bad ones, exits 4 like
    the load, and writes no rejects file."""
    text = "account_id,name,arr\nA1,Acme,x\nA3,Gamma,5\nA4,,1\nA2,Beta,\n"
    path = write("a.csv", text)
    before = files(seeded.root)
    with pytest.raises(PartialFailure) as dry:
        load(seeded, "accounts", path, allow_rejects=True, dry_run=True)
    assert files(seeded.root) == before
    assert not seeded.rejects_dir.exists()
    assert str(dry.value) == "2 of 4 rows would be rejected; nothing was written"
    with pytest.raises(PartialFailure) as real:
        load(seeded, "accounts", path, allow_rejects=True)
    assert counts(dry.value.result) == counts(real.value.result) == (4, 1, 0, 1, 2, 0, 0)  # type: ignore[attr-defined]
    assert [str(p) for p in dry.value.problems] == [str(p) for p in real.value.problems]


# -- the mass-retire guard ---------------------------------------------------------------------


def accounts_ws(root: Path, n: int) -> Workspace:
    """A workspace with n active accounts A1..An."""
    init_workspace(root)
    ws = open_workspace(root)
    rows = "".join(f"A{i},Account {i}\n" for i in range(1, n + 1))
    (root / "all.csv").write_text("account_id,name\n" + rows, encoding="utf-8")
    load(ws, "accounts", root / "all.csv")
    return ws


def keep(ws: Workspace, n: int) -> Path:
    """An accounts export with only the first n accounts."""
    path = ws.root.parent / f"keep{n}.csv"
    rows = "".join(f"A{i},Account {i}\n" for i in range(1, n + 1))
    path.write_text("account_id,name\n" + rows, encoding="utf-8")
    return path


def test_replace_retiring_more_than_half_is_refused(tmp_path: Path) -> None:
    """A replace that would mark 6 of 10 accounts inactive is refused, count and share named,
    and writes nothing; a dry run says the same."""
    ws = accounts_ws(tmp_path / "ws", 10)
    before = files(ws.root)
    for dry_run in (False, True):
        with pytest.raises(InputError) as e:
            load(ws, "accounts", keep(ws, 4), mode="replace", dry_run=dry_run)
        assert str(e.value) == (
            "keep4.csv: --mode replace would mark 6 of 10 active accounts inactive (60%); "
            "nothing was loaded"
        )
        assert "pass --force" in (e.value.hint or "")
        assert e.value.exit_code == 1
        assert files(ws.root) == before


def test_replace_retiring_half_or_forced_loads(tmp_path: Path) -> None:
    """Exactly half is allowed; more than half loads with force, and the share counts only the
    accounts still active."""
    ws = accounts_ws(tmp_path / "ws", 10)
    assert load(ws, "accounts", keep(ws, 5), mode="replace").deactivated == 5
    # 5 active now: keeping 2 retires 3 of 5 (60%).
    with pytest.raises(InputError, match="mark 3 of 5 active accounts inactive"):
        load(ws, "accounts", keep(ws, 2), mode="replace")
    dry = load(ws, "accounts", keep(ws, 2), mode="replace", dry_run=True, force=True)
    assert (dry.deactivated, dry.unchanged) == (3, 2)
    assert load(ws, "accounts", keep(ws, 2), mode="replace", force=True).deactivated == 3


def test_replace_guard_counts_deleted_rows_of_other_kinds(seeded: Workspace, write: Write) -> None:
    """Users and usage are guarded too: the share is of the rows stored, with one decimal when
    the whole number would read as half."""
    users = "".join(f"U{i},A1\n" for i in range(3, 202))
    load(seeded, "users", write("u.csv", "user_id,account_id\n" + users))
    kept = "".join(f"U{i},A1\n" for i in range(3, 103))  # keeps 100 of 201
    with pytest.raises(InputError, match=r"would delete 101 of 201 users \(50\.2%\)"):
        load(seeded, "users", write("k.csv", "user_id,account_id\n" + kept), mode="replace")
    load(seeded, "usage", write("g.csv", USAGE + usage_rows(range(1, 5), U, 2)))
    with pytest.raises(InputError, match=r"would delete 14 of 16 usage rows \(88%\)"):
        path = write("g2.csv", USAGE + usage_rows(range(1, 2), U, 1))
        load(seeded, "usage", path, mode="replace")


# -- the command -------------------------------------------------------------------------------


def test_cli_dry_run_summary(cli: Cli, seeded: Workspace, write: Write) -> None:
    """cstool load --dry-run prints one line of what would change and writes nothing."""
    write("b.csv", "account_id,name,licenses_purchased\nA1,Acme,10\nA2,Beta Ltd,5\nA3,Gamma,1\n")
    before = files(seeded.root)
    result = cli("-w", "ws", "load", "accounts", "b.csv", "--mode", "replace", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "Dry run: b.csv would load 3 accounts (1 new, 1 updated, 1 unchanged, 0 retired); "
        "nothing was written\n"
    )
    assert files(seeded.root) == before


def test_cli_refuses_a_mass_retire(cli: Cli, tmp_path: Path) -> None:
    """A replace retiring most accounts exits 1 with the count; --force loads it."""
    accounts_ws(tmp_path / "ws", 4)
    (tmp_path / "one.csv").write_text("account_id,name\nA1,Account 1\n", encoding="utf-8")
    result = cli("-w", "ws", "load", "accounts", "one.csv", "--mode", "replace")
    assert result.exit_code == 1
    assert "would mark 3 of 4 active accounts inactive (75%); nothing was loaded" in result.stderr
    result = cli("-w", "ws", "load", "accounts", "one.csv", "--mode", "replace", "--force")
    assert result.exit_code == 0, result.stderr
    assert "3 marked inactive" in result.stderr


# -- without write access ----------------------------------------------------------------------
# Tests run as root, which ignores permissions: the child drops to the user nobody after the
# imports (a first dry run as root warms every lazy import), then dry-runs a frozen workspace.

CHILD = r"""
import json, os, sys
from pathlib import Path
from typer.testing import CliRunner
from cstool.cli import app

root, warm, args = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
os.chdir(root.parent)
runner = CliRunner()
def run(where):
    r = runner.invoke(app, ["-w", str(where), *args])
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return [r.exit_code, r.stdout, r.stderr]
run(warm)
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
print(json.dumps(run(root)))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder others may enter (pytest's own tmp folder is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="cstool-dry-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(folder)


def test_dry_run_in_a_read_only_workspace(shared_tmp: Path) -> None:
    """Without write access to the workspace, a dry run reports its counts (exit 0) and the
    workspace stays byte for byte."""
    if os.geteuid() == 0 and sys.platform != "linux":
        pytest.skip("dropping to the user nobody is only done on Linux")
    ws = accounts_ws(shared_tmp / "ws", 3)
    warm = shutil.copytree(ws.root, shared_tmp / "warm")
    (shared_tmp / "b.csv").write_text(
        "account_id,name\nA1,Account 1\nA2,Renamed\nA4,New\n", encoding="utf-8"
    )
    (shared_tmp / "b.csv").chmod(0o644)
    for p in sorted(ws.root.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    ws.root.chmod(0o555)
    before = files(ws.root)
    args = ["load", "accounts", "b.csv", "--mode", "replace", "--dry-run"]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ws.root), str(warm), json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    code, stdout, stderr = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0, stderr
    assert stdout == ""
    assert stderr == (
        "Dry run: b.csv would load 3 accounts (1 new, 1 updated, 1 unchanged, 1 retired); "
        "nothing was written\n"
    )
    assert files(ws.root) == before


def test_a_file_changed_between_the_passes_of_a_replace_loads_nothing(
    seeded: Workspace, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replace counts on a first pass and writes on a second: should the file change in
    between, nothing is loaded."""
    import cstool.ingest

    path = write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
    real_run = cstool.ingest._Loader.run
    calls = []

    def run_then_append(self: object, *args: object, **kwargs: object) -> object:
        out = real_run(self, *args, **kwargs)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 1:
            with path.open("a", encoding="utf-8") as f:
                f.write("A3,Gamma\n")
        return out

    monkeypatch.setattr(cstool.ingest._Loader, "run", run_then_append)
    before = files(seeded.root)
    with pytest.raises(InputError, match=r"a\.csv changed while it was being loaded"):
        load(seeded, "accounts", path, mode="replace")
    assert len(calls) == 2
    assert files(seeded.root) == before
