"""Golden files: the messages the shipped journeys write for the test company, byte for byte.

A change to a shipped template, the layouts, the context or message building shows up here as
a diff to review. Regenerate on purpose with ``pytest tests/test_journey_golden.py
--update-golden``; the files are in ``tests/golden/journeys/JOURNEY/STEP-USER.eml``.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from cta_data import D
from journey_data import NOW, build

from cstool.journeys.send import send
from cstool.store import sends as sends_db
from cstool.workspace import Workspace

GOLDEN = Path(__file__).parent / "golden" / "journeys"
SHIPPED = (
    "onboarding",
    "feature-nudge",
    "renewal",
    "nps-survey",
    "power-user-inactive",
    "csm-out-of-office",
)


@pytest.mark.parametrize("journey", SHIPPED)
def test_shipped_journey_messages_match_the_golden_files(
    ws: Workspace, journey: str, update_golden: bool
) -> None:
    """Each message of the journey equals its golden file and parses back cleanly."""
    ws = build(ws)
    r = send(ws, journey, as_of=D, now=NOW)
    assert r.folder is not None and r.written > 0
    with ws.open_store() as store:
        rows = sends_db.rows(store.db, journey=journey, statuses=("written",))
    folder = GOLDEN / journey
    written = {}
    for row in rows:
        data = (r.folder / "new" / str(row["key"])).read_bytes()
        written[f"{row['step']}-{row['user_id']}.eml"] = data
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert not msg.defects and all(not p.defects for p in msg.walk())
        assert msg["Subject"] == row["subject"]
    if update_golden:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.eml"):
            old.unlink()
        for name, data in written.items():
            (folder / name).write_bytes(data)
    assert sorted(p.name for p in folder.glob("*.eml")) == sorted(written), (
        "regenerate with --update-golden and review the diff"
    )
    for name, data in written.items():
        assert data == (folder / name).read_bytes(), (
            f"{journey}/{name} differs from its golden file: review, then --update-golden"
        )
