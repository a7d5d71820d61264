"""Exactly once under kill -9: a journey send killed at a chosen system call, then run again.

``strace --inject`` delivers SIGKILL to the real cstool process on its Nth ``rename`` (a
message published from tmp/ to new/, or the manifest) or its Nth ``sendto`` (a line to the
SMTP server). The re-run must complete the batch with nothing lost and nothing doubled, and
a message that may have reached the server must be held, never resent on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cta_data import set_config
from journey_data import build
from smtp_server import SmtpServer

from cstool.store import sends as sends_db
from cstool.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

JOURNEY = "csm-out-of-office"  # 8 recipients in the test company
RECIPIENTS = 8


def cstool(ws: Workspace, *args: str, kill_on: str | None = None, when: int = 0) -> int:
    """Run the installed cstool in a subprocess; with ``kill_on``, SIGKILL at that syscall."""
    cmd = [sys.executable, "-m", "cstool", "--workspace", str(ws.root), *args]
    if kill_on is not None:
        inject = f"inject={kill_on}:signal=SIGKILL:when={when}"
        cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={kill_on}", "-e", inject]
        cmd += [sys.executable, "-m", "cstool", "--workspace", str(ws.root), *args]
    return subprocess.run(cmd, env=_env(), capture_output=True, timeout=120).returncode


def _env() -> dict[str, str]:
    """The subprocess imports the cstool under test (a checkout may also be pip-installed),
    and writes no .pyc files, whose renames strace would count."""
    import cstool

    here = str(Path(cstool.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}


def rows(ws: Workspace) -> list[dict[str, object]]:
    with ws.open_store() as store:
        return sends_db.rows(store.db)


@pytest.mark.parametrize(
    "when",
    [1, 4, RECIPIENTS, RECIPIENTS + 1],
    ids=["before any publish", "mid-batch", "last publish", "at the manifest"],
)
def test_killed_while_writing_a_rerun_completes_the_batch(ws: Workspace, when: int) -> None:
    """Killed at the Nth rename, a re-run writes every message once, the same bytes as before."""
    ws = build(ws)
    send = ("journey", "send", JOURNEY, "--as-of", "2026-11-20")
    assert cstool(ws, *send, kill_on="rename", when=when) == -9
    folder = ws.outbox / JOURNEY / "0001-2026-11-20"
    before = {p.name: p.read_bytes() for p in (folder / "new").iterdir()}
    assert len(before) == min(when - 1, RECIPIENTS)
    assert {r["status"] for r in rows(ws)} <= {"planned", "written"}
    assert cstool(ws, *send) == 0
    after = {p.name: p.read_bytes() for p in (folder / "new").iterdir()}
    ledger = rows(ws)
    assert len(ledger) == RECIPIENTS and {r["status"] for r in ledger} == {"written"}
    assert sorted(after) == sorted(str(r["key"]) for r in ledger)
    assert all(after[k] == v for k, v in before.items())  # byte-identical re-render
    assert list((folder / "tmp").iterdir()) == []
    assert (folder / "manifest.csv").read_text().count("\n") == RECIPIENTS + 1
    assert [p.name for p in (ws.outbox / JOURNEY).iterdir()] == ["0001-2026-11-20"]
    with ws.open_store() as store:
        assert [b.complete for b in sends_db.batches(store.db)] == [True]
    # And once more: nothing new.
    assert cstool(ws, *send) == 0
    assert len(rows(ws)) == RECIPIENTS


def test_killed_while_delivering_nothing_is_resent_on_its_own(
    ws: Workspace, smtp_server: SmtpServer
) -> None:
    """Killed while handing over a message, the next run holds it as unknown; resolve sends it
    once. No recipient ever gets two copies."""
    ws = build(ws)
    ws = set_config(
        ws, f"sending: {{smtp_host: {smtp_server.host}, smtp_port: {smtp_server.port}}}"
    )
    send = ("journey", "send", JOURNEY, "--as-of", "2026-11-20", "--deliver")
    # sendto calls: EHLO, then MAIL, RCPT, DATA and the data of each message. The 9th is the
    # data of the second message: the first was delivered, the second is mid-handover.
    assert cstool(ws, *send, kill_on="sendto", when=9) == -9
    assert len(smtp_server.received) == 1
    status = [r["status"] for r in rows(ws)]
    assert status.count("sent") == 1 and status.count("sending") == 1
    assert cstool(ws, *send) == 4  # the stuck one is now unknown: reported, not resent
    by_status = [r["status"] for r in rows(ws)]
    assert by_status.count("unknown") == 1 and by_status.count("sent") == RECIPIENTS - 1
    received = [x.rcpt_tos[0] for x in smtp_server.received]
    assert len(received) == RECIPIENTS - 1 == len(set(received))
    assert cstool(ws, "journey", "resolve", "1", "--resend") == 0
    received = [x.rcpt_tos[0] for x in smtp_server.received]
    assert len(received) == RECIPIENTS == len(set(received))
    assert {r["status"] for r in rows(ws)} == {"sent"}


def test_the_subprocess_uses_this_checkout() -> None:
    """The cstool the subprocess runs is the one under test."""
    out = subprocess.run(
        [sys.executable, "-c", "import cstool, sys; sys.stdout.write(cstool.__file__)"],
        env=_env(),
        cwd=Path.home(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import cstool

    assert Path(out).resolve() == Path(cstool.__file__).resolve()
