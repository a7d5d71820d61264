"""``cstool init``, ``cstool load`` and ``cstool status`` through the CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bad_inputs import BAD_INPUTS, BAD_INPUTS_WITH_SETTINGS
from typer.testing import Result

from cstool.workspace import Workspace, init_workspace

Cli = Callable[..., Result]
Write = Callable[[str, str | bytes], Path]
Snapshot = Callable[[Path], str]

REPO = Path(__file__).resolve().parents[2]
STATUS_COLUMNS = [
    "kind",
    "rows",
    "active",
    "last_loaded_at",
    "file",
    "sha256",
    "first_date",
    "last_date",
]
KINDS = [
    "accounts",
    "users",
    "features",
    "usage",
    "nps",
    "opportunities",
    "references",
    "activities",
    "email_events",
]
SECONDS = r"in \d+\.\d s"


def panel_text(text: str) -> str:
    """The words of a boxed usage error, one space between each."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def loaded(text: str) -> str:
    """A load summary with its duration made fixed."""
    return re.sub(SECONDS, "in N s", text)


# -- init ------------------------------------------------------------------------------------


def test_init(cli: Cli, tmp_path: Path) -> None:
    """init creates the workspace and says what it created, on stderr."""
    result = cli("init", "acme")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "Created workspace acme (cstool.yaml, cstool.db, playbooks/, email_templates/,"
        " journeys/, outbox/)\n"
    )
    for name in ("cstool.yaml", "cstool.db"):
        assert (tmp_path / "acme" / name).is_file()
    for name in ("playbooks", "email_templates", "journeys", "outbox"):
        assert (tmp_path / "acme" / name).is_dir()
    shipped = sorted(p.name for p in (REPO / "journeys").glob("*.yaml"))
    assert shipped and sorted(p.name for p in (tmp_path / "acme" / "journeys").iterdir()) == shipped
    assert 'company: "Acme"' in (tmp_path / "acme" / "cstool.yaml").read_text(encoding="utf-8")


def test_init_company(cli: Cli, tmp_path: Path) -> None:
    """--company sets the company in the new cstool.yaml."""
    assert cli("init", "acme", "--company", "No").exit_code == 0
    result = cli("-w", "acme", "config", "show", "--format", "json")
    company = [s for s in json.loads(result.stdout) if s["key"] == "company"]
    assert company == [{"key": "company", "value": "No", "source": "cstool.yaml"}]


def test_init_sample(cli: Cli, tmp_path: Path) -> None:
    """init --sample also copies the sample exports into data/ and says what to do next."""
    result = cli("init", "acme", "--sample")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "Created workspace acme (cstool.yaml, cstool.db, playbooks/, email_templates/,"
        " journeys/, outbox/, data/)\nNext: cd acme && cstool load accounts data/accounts.csv\n"
    )
    shipped = sorted(p.name for p in (REPO / "sample_data").glob("*.csv"))
    assert "accounts.csv" in shipped
    assert sorted(p.name for p in (tmp_path / "acme" / "data").iterdir()) == shipped


def test_init_refuses_to_overwrite(cli: Cli, tmp_path: Path) -> None:
    """init into an existing workspace fails with exit 1 and changes nothing."""
    assert cli("init", "acme").exit_code == 0
    config = tmp_path / "acme" / "cstool.yaml"
    config.write_text("company: Mine\n", encoding="utf-8")
    result = cli("init", "acme")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {config} already exists; init never overwrites files\n"
        "hint: choose a new directory, or remove the existing workspace first\n"
    )
    assert config.read_text(encoding="utf-8") == "company: Mine\n"


# -- finding the workspace -------------------------------------------------------------------


def _loaded_kind(result: Result) -> list[str]:
    return [r["kind"] for r in json.loads(result.stdout) if r["rows"]]


@pytest.fixture
def two(tmp_path: Path, write: Write) -> tuple[Path, Path]:
    """Two workspaces: 'one' holds accounts, 'two' holds nothing."""
    from loading import load

    from cstool.workspace import open_workspace

    init_workspace(tmp_path / "one")
    init_workspace(tmp_path / "two")
    load(open_workspace(tmp_path / "one"), "accounts", write("a.csv", "account_id,name\nA1,X\n"))
    return tmp_path / "one", tmp_path / "two"


def test_workspace_by_flag(cli: Cli, two: tuple[Path, Path]) -> None:
    """-w names the workspace."""
    result = cli("-w", str(two[0]), "status", "--format", "json")
    assert result.exit_code == 0
    assert _loaded_kind(result) == ["accounts"]


def test_workspace_by_environment(cli: Cli, two: tuple[Path, Path]) -> None:
    """CSTOOL_WORKSPACE names the workspace when -w is not given."""
    result = cli("status", "--format", "json", env={"CSTOOL_WORKSPACE": str(two[0])})
    assert result.exit_code == 0
    assert _loaded_kind(result) == ["accounts"]


def test_flag_beats_environment(cli: Cli, two: tuple[Path, Path]) -> None:
    """-w wins over CSTOOL_WORKSPACE."""
    result = cli("-w", str(two[1]), "status", "-f", "json", env={"CSTOOL_WORKSPACE": str(two[0])})
    assert result.exit_code == 0
    assert _loaded_kind(result) == []


def test_workspace_by_walking_up(
    cli: Cli, two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a nested folder the nearest workspace upwards is used."""
    nested = two[0] / "reports" / "q1"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    result = cli("status", "--format", "json")
    assert result.exit_code == 0
    assert _loaded_kind(result) == ["accounts"]


def test_no_workspace(cli: Cli) -> None:
    """Outside any workspace a command fails with exit 1 and a hint."""
    result = cli("status")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: no cstool workspace here or in any parent folder (no cstool.yaml)\n"
        "hint: run `cstool init DIR` and cd into it, or pass --workspace DIR\n"
    )


def test_flag_names_a_folder_that_is_no_workspace(cli: Cli, tmp_path: Path) -> None:
    """-w with a folder lacking cstool.yaml fails with exit 1 and names it."""
    (tmp_path / "empty").mkdir()
    result = cli("-w", "empty", "status")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path.resolve() / 'empty'} is not a cstool workspace (no cstool.yaml)\n"
        "hint: create one with `cstool init DIR`\n"
    )


# -- load ------------------------------------------------------------------------------------


def test_load_first_time(cli: Cli, ws: Workspace, write: Write) -> None:
    """A first load prints one summary line on stderr and nothing on stdout."""
    write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
    result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert loaded(result.stderr) == (
        "Loaded 2 accounts from a.csv (2 new, 0 updated, 0 unchanged) in N s\n"
    )


def test_load_one_row_is_singular(cli: Cli, seeded: Workspace, write: Write) -> None:
    """The summary of a single row uses the singular noun."""
    write("g.csv", "date,account_id,user_id,feature,events\n2026-01-01,A1,U1,reports,2\n")
    result = cli("-w", "ws", "load", "usage", "g.csv")
    assert result.exit_code == 0
    assert loaded(result.stderr) == (
        "Loaded 1 usage row from g.csv (1 new, 0 updated, 0 unchanged) in N s\n"
    )


def test_load_inside_the_workspace_names_the_file_relative(
    cli: Cli, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file inside the workspace is named relative to it."""
    (ws.root / "data").mkdir()
    (ws.root / "data" / "accounts.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    monkeypatch.chdir(ws.root)
    result = cli("load", "accounts", str(ws.root / "data" / "accounts.csv"))
    assert result.exit_code == 0
    assert loaded(result.stderr) == (
        "Loaded 1 account from data/accounts.csv (1 new, 0 updated, 0 unchanged) in N s\n"
    )


def test_reload_identical_is_unchanged(
    cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """Loading the same file again says Unchanged and leaves the database byte for byte."""
    write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
    assert cli("-w", "ws", "load", "accounts", "a.csv").exit_code == 0
    before = db_snapshot(ws.db_path)
    result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "Unchanged: a.csv was already loaded as accounts (2 rows); nothing to do\n"
    )
    assert db_snapshot(ws.db_path) == before


def test_reload_modified(cli: Cli, ws: Workspace, write: Write) -> None:
    """A newer full export (--mode replace) reports new, updated, unchanged and inactive rows."""
    write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n")
    write("b.csv", "account_id,name\nA1,Acme\nA2,Beta Ltd\nA4,Delta\n")
    cli("-w", "ws", "load", "accounts", "a.csv")
    result = cli("-w", "ws", "load", "accounts", "b.csv", "--mode", "replace")
    assert result.exit_code == 0
    assert loaded(result.stderr) == (
        "Loaded 3 accounts from b.csv (1 new, 1 updated, 1 unchanged, 1 marked inactive) in N s\n"
    )


def test_load_replace(cli: Cli, seeded: Workspace, write: Write) -> None:
    """--mode replace reports the rows it deleted."""
    write("u.csv", "user_id,account_id,email\nU1,A1,u1@example.com\n")
    result = cli("-w", "ws", "load", "users", "u.csv", "--mode", "replace")
    assert result.exit_code == 0
    assert loaded(result.stderr) == (
        "Loaded 1 user from u.csv (0 new, 0 updated, 1 unchanged, 1 deleted) in N s\n"
    )


def test_load_quiet(cli: Cli, ws: Workspace, write: Write) -> None:
    """-q silences the summary but still loads."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    result = cli("-w", "ws", "-q", "load", "accounts", "a.csv")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    status = json.loads(cli("-w", "ws", "status", "-f", "json").stdout)
    assert status[0]["rows"] == 1


def test_load_encoding_cp1252(cli: Cli, ws: Workspace, write: Write) -> None:
    """--encoding cp1252 loads a cp1252 file that UTF-8 refuses."""
    write("a.csv", "account_id,name\nA1,Café “€”\n".encode("cp1252"))
    refused = cli("-w", "ws", "load", "accounts", "a.csv")
    assert refused.exit_code == 1
    assert "hint: pass --encoding with the file's real encoding" in refused.stderr
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--encoding", "cp1252")
    assert result.exit_code == 0
    with ws.open_store() as store:
        assert store.db.execute("SELECT name FROM accounts").fetchall() == [("Café “€”",)]


def test_load_with_delimiter_and_encoding(cli: Cli, ws: Workspace, write: Write) -> None:
    """--delimiter tab with --encoding utf-16 loads a tab-separated UTF-16 export."""
    write("a.csv", "account_id\tname\nA1\tZoë; Ünïcode\n".encode("utf-16"))
    result = cli(
        "-w", "ws", "load", "accounts", "a.csv", "--delimiter", "tab", "--encoding", "utf-16"
    )
    assert result.exit_code == 0, result.stderr
    assert loaded(result.stderr) == (
        "Loaded 1 account from a.csv (1 new, 0 updated, 0 unchanged) in N s\n"
    )
    from cstool.store import Store

    with Store.open(ws.db_path) as store:
        assert store.db.execute("SELECT name FROM accounts").fetchall() == [("Zoë; Ünïcode",)]


def test_load_bad_delimiter(cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot) -> None:
    """A --delimiter that is not one character (or tab) is a usage error (exit 2)."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--delimiter", ";;")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--delimiter': ';;' cannot separate fields" in (
        panel_text(result.stderr)
    )
    assert db_snapshot(ws.db_path) == before


def test_load_unknown_encoding(
    cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """An --encoding Python does not know is a usage error (exit 2), like an unknown --mode."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--encoding", "klingon")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--encoding': unknown encoding 'klingon'; use a Python codec " in (
        panel_text(result.stderr)
    )
    assert db_snapshot(ws.db_path) == before


def test_load_with_column_mapping(cli: Cli, ws: Workspace, write: Write) -> None:
    """A header mapped in cstool.yaml loads; without the mapping it is refused."""
    write("a.csv", "Account ID,name\n00501,Acme\n")
    refused = cli("-w", "ws", "load", "accounts", "a.csv")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: a.csv: line 1: missing required column: account_id\n")
    assert "exports.accounts.columns" in refused.stderr
    ws.config_path.write_text(
        "exports:\n  accounts:\n    columns: {'Account ID': account_id}\n", encoding="utf-8"
    )
    result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 0
    assert json.loads(cli("-w", "ws", "status", "-f", "json").stdout)[0]["rows"] == 1


def test_unknown_kind_is_exit_2(cli: Cli, ws: Workspace, write: Write) -> None:
    """An unknown export kind is a usage error (exit 2) listing the kinds."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    result = cli("-w", "ws", "load", "acounts", "a.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown export kind 'acounts'\nhint: choose one of: " + ", ".join(KINDS) + "\n"
    )


def test_unknown_mode_is_exit_2(
    cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """An unknown --mode is a usage error (exit 2) and writes nothing."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--mode", "merge")
    assert result.exit_code == 2
    assert result.stdout == ""
    text = panel_text(result.stderr)
    assert "Invalid value for '--mode': 'merge' is not one of 'upsert', 'replace'." in text
    assert "Value error" not in text
    assert db_snapshot(ws.db_path) == before


def test_mode_accepts_any_case(cli: Cli, ws: Workspace, write: Write) -> None:
    """--mode REPLACE is taken as replace, like the other choice options."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--mode", "REPLACE")
    assert result.exit_code == 0, result.stderr
    assert "Invalid value" not in result.stderr


@pytest.mark.parametrize("kind,content,fragments", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input(
    cli: Cli,
    seeded: Workspace,
    write: Write,
    db_snapshot: Snapshot,
    kind: str,
    content: str | bytes,
    fragments: list[str],
) -> None:
    """Each bad input exits 1 with the located problem on stderr and writes nothing."""
    write(f"{kind}.csv", content)
    before = db_snapshot(seeded.db_path)
    result = cli("-w", "ws", "load", kind, f"{kind}.csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert "\nhint: " in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert db_snapshot(seeded.db_path) == before
    assert not (seeded.root / "rejects").exists()


@pytest.mark.parametrize(
    "kind,content,settings,fragments",
    list(BAD_INPUTS_WITH_SETTINGS.values()),
    ids=list(BAD_INPUTS_WITH_SETTINGS),
)
def test_bad_input_with_settings(
    cli: Cli,
    seeded: Workspace,
    write: Write,
    db_snapshot: Snapshot,
    kind: str,
    content: str | bytes,
    settings: dict[str, Any],
    fragments: list[str],
) -> None:
    """Each bad input read with its flags and cstool.yaml exits 1, located, writing nothing."""
    if "exports" in settings:
        section = json.dumps({"exports": {kind: settings["exports"]}}, ensure_ascii=False)
        seeded.config_path.write_text(section, encoding="utf-8")
    write(f"{kind}.csv", content)
    flags = [part for k, v in settings.get("flags", {}).items() for part in (f"--{k}", v)]
    before = db_snapshot(seeded.db_path)
    result = cli("-w", "ws", "load", kind, f"{kind}.csv", *flags)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert "\nhint: " in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert db_snapshot(seeded.db_path) == before
    assert not (seeded.root / "rejects").exists()


def test_many_problems_are_capped(
    cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot
) -> None:
    """Many bad rows list the first 20 and say how many more there are."""
    lines = ["account_id,name,arr"] + [f"A{i},N{i},{'x' if i % 3 == 0 else i}" for i in range(150)]
    write("a.csv", "\n".join(lines) + "\n")
    before = db_snapshot(ws.db_path)
    result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 1
    out = result.stderr.splitlines()
    assert out[0] == "Error: 50 problems in a.csv; nothing was loaded"
    assert out[1] == "  a.csv: line 2 (record 1), column arr: 'x' is not a number (account 'A0')"
    assert out[20] == (
        "  a.csv: line 59 (record 58), column arr: 'x' is not a number (account 'A57')"
    )
    assert out[21] == "  ... and 30 more"
    assert out[22].startswith("hint: fix the rows and load again, or pass --allow-rejects")
    assert len(out) == 23
    assert db_snapshot(ws.db_path) == before


def test_allow_rejects(cli: Cli, ws: Workspace, write: Write) -> None:
    """--allow-rejects loads the good rows, writes the bad ones to rejects/ and exits 4."""
    path = write(
        "a.csv",
        "account_id,name,arr\nA1,Acme,1\nA2,Beta,lots\nA3,Gamma,3\nA4,Delta\nA5,Eps,5\n",
    )
    result = cli("-w", "ws", "load", "accounts", "a.csv", "--allow-rejects")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.exit_code == 4
    assert result.stdout == ""
    assert loaded(result.stderr) == (
        "Loaded 3 accounts from a.csv (3 new, 0 updated, 0 unchanged, 2 rejected) in N s\n"
        f"Partly done: 2 of 5 rows rejected to rejects/accounts-{sha[:12]}.csv; "
        "the other rows are loaded\n"
        "  a.csv: line 3 (record 2), column arr: 'lots' is not a number (account 'A2')\n"
        "  a.csv: line 5 (record 4): has 2 fields, the header has 3\n"
        "hint: fix the rejected rows and load them again; the good rows are already loaded\n"
    )
    rejects = ws.root / "rejects" / f"accounts-{sha[:12]}.csv"
    assert [p.name for p in (ws.root / "rejects").iterdir()] == [rejects.name]
    assert rejects.read_text(encoding="utf-8") == (
        "line,record,problem,account_id,name,arr\n"
        "3,2,arr: 'lots' is not a number (account 'A2'),A2,Beta,lots\n"
        '5,4,"has 2 fields, the header has 3",A4,Delta\n'
    )
    status = json.loads(cli("-w", "ws", "status", "-f", "json").stdout)
    assert (status[0]["rows"], status[0]["active"]) == (3, 3)


def test_load_while_locked(cli: Cli, ws: Workspace, write: Write, db_snapshot: Snapshot) -> None:
    """A load while another process writes exits 3 with a clear message and writes nothing."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    before = db_snapshot(ws.db_path)
    with ws.writing():
        result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        "Error: another cstool process is writing to this workspace\n"
        "hint: wait for it to finish, then run the command again\n"
    )
    assert db_snapshot(ws.db_path) == before
    assert not (ws.root / "rejects").exists()
    assert cli("-w", "ws", "load", "accounts", "a.csv").exit_code == 0


# -- status ----------------------------------------------------------------------------------


@pytest.fixture
def loaded_ws(seeded: Workspace, write: Write) -> tuple[Workspace, str]:
    """The seeded workspace plus three usage rows; returns it and the usage file's sha256."""
    from loading import load

    path = write(
        "usage.csv",
        "date,account_id,user_id,feature,events\n"
        "2026-01-05,A1,U1,reports,1\n2026-01-02,A2,U2,reports,1\n2026-02-11,A1,U1,alerts,0\n",
    )
    load(seeded, "usage", path)
    return seeded, hashlib.sha256(path.read_bytes()).hexdigest()


def seeded_root(loaded: tuple[Workspace, str]) -> Path:
    """The folder the seed and usage files were written to (files outside the workspace
    are recorded by the path they were loaded from)."""
    return loaded[0].root.parent


def test_status_json(cli: Cli, loaded_ws: tuple[Workspace, str]) -> None:
    """status --format json lists every kind with the documented columns."""
    result = cli("-w", "ws", "status", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert [r["kind"] for r in data] == KINDS
    assert all(list(r) == STATUS_COLUMNS for r in data)
    by_kind = {r["kind"]: r for r in data}
    assert by_kind["usage"] == {
        "kind": "usage",
        "rows": 3,
        "active": None,
        "last_loaded_at": by_kind["usage"]["last_loaded_at"],
        "file": str(seeded_root(loaded_ws) / "usage.csv"),
        "sha256": loaded_ws[1],
        "first_date": "2026-01-02",
        "last_date": "2026-02-11",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", by_kind["usage"]["last_loaded_at"])
    assert (by_kind["accounts"]["rows"], by_kind["accounts"]["active"]) == (2, 2)
    assert by_kind["accounts"]["file"] == str(seeded_root(loaded_ws) / "seed_accounts.csv")
    assert by_kind["nps"] == dict.fromkeys(STATUS_COLUMNS) | {"kind": "nps", "rows": 0}


def test_status_csv(cli: Cli, loaded_ws: tuple[Workspace, str]) -> None:
    """status --format csv has the documented header and raw values."""
    result = cli("-w", "ws", "status", "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == ",".join(STATUS_COLUMNS)
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["kind"] for r in table] == KINDS
    usage = table[KINDS.index("usage")]
    assert (usage["rows"], usage["active"], usage["sha256"]) == ("3", "", loaded_ws[1])
    assert (usage["first_date"], usage["last_date"]) == ("2026-01-02", "2026-02-11")
    assert table[0]["active"] == "2"


def test_status_table(cli: Cli, ws: Workspace, write: Write) -> None:
    """The status table fits 100 columns: every kind, a short sha256, the minute of loading."""
    path = write("a.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
    cli("-w", "ws", "load", "accounts", "a.csv")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    result = cli("-w", "ws", "status")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "Workspace ws"
    assert all(len(line) <= 100 for line in lines)
    assert "…" not in result.stdout
    for kind in KINDS:
        assert f"│ {kind} " in result.stdout
    assert re.search(
        rf"│ accounts +│ +2 │ +2 │ \d{{4}}-\d\d-\d\d \d\d:\d\d │ a\.csv +│ {sha[:12]} │",
        result.stdout,
    )
    assert "not shown" not in result.stdout
    assert sha not in result.stdout
    assert "\x1b[" not in result.stdout


def test_status_at_80_columns_shortens_paths_from_the_left(
    cli: Cli, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long path keeps its end (…/exports/a.csv); the sha256 goes; numbers stay whole."""
    from rich.cells import cell_len

    deep = tmp_path / "shared" / "customer-success" / "2026" / "weekly" / "exports"
    deep.mkdir(parents=True)
    (deep / "a.csv").write_text("account_id,name\nA1,Acme\nA2,Beta\n", encoding="utf-8")
    usage = "date,account_id,user_id,feature,events\n2026-01-02,A1,U1,reports,1\n"
    (tmp_path / "u.csv").write_text("user_id,account_id\nU1,A1\n", encoding="utf-8")
    (tmp_path / "g.csv").write_text(usage, encoding="utf-8")
    for kind, path in (("accounts", deep / "a.csv"), ("users", "u.csv"), ("usage", "g.csv")):
        assert cli("-w", "ws", "load", kind, str(path)).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("-w", "ws", "status")
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    accounts = next(line for line in lines if line.startswith("│ accounts "))
    cell = [c.strip() for c in accounts.strip("│").split("│")][-1]
    assert cell.startswith("…/") and cell.endswith("/exports/a.csv")
    assert str(deep / "a.csv").endswith(cell[1:])
    assert "sha256: not shown at this width" in lines
    assert lines[-2] == "usage dates 2026-01-02 .. 2026-01-02"


def test_status_of_a_new_workspace(cli: Cli, ws: Workspace) -> None:
    """A new workspace reports zero rows and no loads."""
    data = json.loads(cli("-w", "ws", "status", "-f", "json").stdout)
    assert [(r["rows"], r["last_loaded_at"], r["sha256"]) for r in data] == [(0, None, None)] * 9


def test_reload_single_row_says_row(cli: Cli, ws: Workspace, write: Write) -> None:
    """Reloading a one-row file says "1 row", not "1 rows"."""
    write("a.csv", "account_id,name\nA1,Acme\n")
    assert cli("-w", "ws", "load", "accounts", "a.csv").exit_code == 0
    result = cli("-w", "ws", "load", "accounts", "a.csv")
    assert result.exit_code == 0
    assert "(1 row); nothing to do" in result.stderr


def test_sample_generate_help_names_dir(cli: Cli) -> None:
    """sample generate's help names its argument DIR, as the usage line does."""
    result = cli("sample", "generate", "--help")
    assert result.exit_code == 0
    assert "DIRECTORY" not in result.stdout
    assert "DIR" in result.stdout


def test_init_help_mentions_journeys(cli: Cli, tmp_path: Path) -> None:
    """init --help names journeys/, which init creates."""
    result = cli("init", "--help")
    assert result.exit_code == 0
    assert "journeys/" in result.stdout
    assert cli("init", str(tmp_path / "w")).exit_code == 0
    assert (tmp_path / "w" / "journeys").is_dir()
