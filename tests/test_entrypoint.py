"""The installed ``cstool`` entry point, run in real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cstool import __version__

CSTOOL = Path(sys.executable).parent / "cstool"


def run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed cstool with the test's isolated environment."""
    return subprocess.run(
        [str(CSTOOL), *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_script_is_installed() -> None:
    """The cstool script sits next to the Python running the tests."""
    assert CSTOOL.is_file()


def test_version(tmp_path: Path) -> None:
    """cstool --version prints the version, from outside the checkout."""
    result = run("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"cstool {__version__}\n", "")


def test_python_m_help(tmp_path: Path) -> None:
    """python -m cstool --help shows the commands."""
    result = subprocess.run(
        [sys.executable, "-m", "cstool", "--help"],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "Usage: " in result.stdout
    for command in ("init", "load", "status", "config"):
        assert command in result.stdout


def test_init_load_status(tmp_path: Path) -> None:
    """A real init, load (good then bad) and status --format json."""
    result = run("init", "acme", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Created workspace acme (")
    ws = tmp_path / "acme"
    (ws / "accounts.csv").write_text("account_id,name\n00501,Acme\nA2,Beta\n", encoding="utf-8")
    result = run("load", "accounts", "accounts.csv", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Loaded 2 accounts from accounts.csv (2 new, 0 updated")

    (ws / "bad.csv").write_text("account_id,name\nA3\n", encoding="utf-8")
    result = run("load", "accounts", "bad.csv", cwd=ws)
    assert result.returncode == 1
    assert "bad.csv: line 2 (record 1): has 1 field, the header has 2" in result.stderr
    assert "Traceback" not in result.stderr

    result = run("status", "--format", "json", cwd=ws)
    assert result.returncode == 0, result.stderr
    accounts = json.loads(result.stdout)[0]
    assert (accounts["kind"], accounts["rows"], accounts["active"]) == ("accounts", 2, 2)
    assert accounts["file"] == "accounts.csv"


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    """While another process holds the workspace lock, a real load exits 3 and writes nothing."""
    assert run("init", "acme", cwd=tmp_path).returncode == 0
    ws = tmp_path / "acme"
    (ws / "accounts.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from filelock import FileLock\n"
            "with FileLock(sys.argv[1]):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.read()\n",
            str(ws / ".cstool.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        result = run("load", "accounts", "accounts.csv", cwd=ws)
    finally:
        holder.communicate("", timeout=30)
    assert result.returncode == 3
    assert result.stderr == (
        "Error: another cstool process is writing to this workspace\n"
        "hint: wait for it to finish, then run the command again\n"
    )
    status = json.loads(run("status", "-f", "json", cwd=ws).stdout)
    assert status[0]["rows"] == 0
    assert run("load", "accounts", "accounts.csv", cwd=ws).returncode == 0


@pytest.mark.parametrize(("args", "code"), [(["--help"], 0), ([], 2)])
def test_no_command_shows_help(tmp_path: Path, args: list[str], code: int) -> None:
    """cstool --help exits 0; with no command it shows usage and exits 2, the usage code."""
    result = run(*args, cwd=tmp_path)
    assert result.returncode == code
    assert "Usage: " in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_demo_then_every_other_command(tmp_path: Path) -> None:
    """The demo runs end to end in a subprocess, then each remaining command runs in it too."""
    demo = run("demo", "acme", cwd=tmp_path, timeout=300)
    assert demo.returncode == 0, demo.stderr
    for step in (
        "$ cstool load usage data/usage.csv",
        "$ cstool score backfill",
        "$ cstool score explain ACC-00001",
        "$ cstool changes",
    ):
        assert step in demo.stderr
    assert "Adoption on 2026-11-20" in demo.stdout
    assert "ACC-00001 Polaris Institute  as of 2026-11-20" in demo.stdout
    assert (tmp_path / "acme" / "outbox" / "adoption.html").is_file()
    assert "Band moves by segment, 2026-11-13 -> 2026-11-20" in demo.stdout
    ws = tmp_path / "acme"
    shown = run("config", "show", "--format", "json", cwd=ws)
    assert shown.returncode == 0
    assert {"key": "metrics.depth_window_days", "value": 7, "source": "cstool.yaml"} in (
        json.loads(shown.stdout)
    )
    thresholds = run("thresholds", "show", "--format", "json", cwd=ws)
    assert thresholds.returncode == 0
    assert {r["segment"] for r in json.loads(thresholds.stdout)} == {
        "*",
        "Enterprise",
        "Mid-Market",
        "SMB",
    }
    proposed = run("thresholds", "calibrate", "--format", "json", cwd=ws)
    assert proposed.returncode == 0
    assert "Nothing stored; pass --apply" in proposed.stderr
    changes = run("changes", "--by", "csm", "--format", "csv", cwd=ws)
    assert changes.returncode == 0
    assert changes.stdout.splitlines()[0] == (
        "group,account_id,name,measure,band_before,band_after,before,after,change"
    )
    sample = run("sample", "generate", "tiny", "--accounts", "3", "--days", "5", cwd=tmp_path)
    assert sample.returncode == 0
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir())[0] == "accounts.csv"
    nps = run("nps", "--by", "role", "--format", "csv", cwd=ws)
    assert nps.returncode == 0, nps.stderr
    assert nps.stdout.startswith(
        "group,responses,promoters,passives,detractors,nps,response_rate,change\n"
    )
    comments = run("nps", "comments", "--detractors", "--limit", "2", cwd=ws)
    assert comments.returncode == 0 and "NPS comments (2 of" in comments.stdout
    added = run(
        "timeline",
        "add",
        "ACC-00001",
        "--type",
        "note",
        "--subject",
        "Checked in",
        "--date",
        "2026-11-21",
        cwd=ws,
    )
    assert added.returncode == 0, added.stderr
    timeline = run("timeline", "ACC-00001", "--limit", "1", "--format", "json", cwd=ws)
    assert json.loads(timeline.stdout)[0]["text"] == "Checked in"
    shown = run("account", "show", "ACC-00001", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("ACC-00001 Polaris Institute  as of 2026-11-20")


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_reader_gone_stops_quietly(tmp_path: Path, fmt: str) -> None:
    """When the reader of stdout has gone (`| head`), cstool stops with 141 and no message."""
    assert run("init", "ws", cwd=tmp_path).returncode == 0
    proc = subprocess.Popen(
        [str(CSTOOL), "playbooks", "vars", "--format", fmt],
        cwd=tmp_path / "ws",
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # gone before the first line is written
    stderr = proc.stderr.read()
    assert (proc.wait(timeout=60), stderr) == (141, b"")
