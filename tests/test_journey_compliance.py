"""journey send refuses what journey validate fails: bulk email without its unsubscribe link
or postal footer (or with no postal address configured) is never written, previewed or sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cta_data import D, set_config
from journey_data import NOW, build
from typer.testing import Result

from cstool.errors import InputError
from cstool.journeys.send import send
from cstool.workspace import Workspace

NOFOOT = """\
name: nofoot
category: adoption
audience: "true"
recipients: "true"
from: a@b.example
steps:
  - {id: s1, template: nofoot, when: "true"}
"""


@pytest.fixture
def company(ws: Workspace) -> Workspace:
    """The journey test company with a journey whose template has no footer."""
    ws = build(ws)
    folder = ws.root / "email_templates" / "nofoot"
    folder.mkdir()
    (folder / "subject.j2").write_text("Hi {{ user.first_name }}", encoding="utf-8")
    (folder / "body.html.j2").write_text("<p>Hi {{ user.first_name }}</p>", encoding="utf-8")
    (ws.root / "journeys" / "nofoot.yaml").write_text(NOFOOT, encoding="utf-8")
    return ws


@pytest.mark.parametrize(
    "options", [{}, {"dry_run": True}, {"deliver": True}], ids=["send", "dry-run", "deliver"]
)
def test_send_refuses_a_template_without_unsubscribe_link_or_footer(
    company: Workspace, db_snapshot: Callable[[Path], str], options: dict[str, bool]
) -> None:
    """Every problem validate finds is listed; the database and the outbox stay untouched."""
    before = db_snapshot(company.db_path)
    with pytest.raises(InputError) as e:
        send(company, "nofoot", as_of=D, now=NOW, **options)
    assert e.value.message == "journey nofoot cannot be sent: 4 problem(s)"
    assert [str(p) for p in e.value.problems] == [
        "email_templates/nofoot: the HTML part does not show the unsubscribe link",
        "email_templates/nofoot: the HTML part does not show the postal address",
        "email_templates/nofoot: the text part does not show the unsubscribe link",
        "email_templates/nofoot: the text part does not show the postal address",
    ]
    assert db_snapshot(company.db_path) == before
    assert not company.outbox.exists() or list(company.outbox.rglob("*")) == []


def test_send_refuses_bulk_email_without_a_postal_address(ws: Workspace) -> None:
    """With sender.postal_address unset, even a shipped journey is refused (exit 1)."""
    company = build(ws)
    config = company.root / "cstool.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        "\n".join(x for x in text.splitlines() if "postal_address" not in x) + "\n",
        encoding="utf-8",
    )
    company = set_config(company, "company: Acme")
    with pytest.raises(InputError) as e:
        send(company, "onboarding", as_of=D, now=NOW)
    assert [str(p) for p in e.value.problems] == [
        "cstool.yaml: sender.postal_address is not set: bulk email must show a postal address"
    ]
    assert not (company.outbox / "onboarding").exists()


def test_cli_send_lists_the_problems_and_exits_1(
    company: Workspace, cli: Callable[..., Result]
) -> None:
    """The CLI names each problem and how to check again; validate agrees on the same ones."""
    root = ("--workspace", str(company.root))
    result = cli(*root, "journey", "send", "nofoot", "--as-of", "2026-11-20")
    assert result.exit_code == 1, result.stderr
    assert "Error: journey nofoot cannot be sent: 4 problem(s)" in result.stderr
    assert "the text part does not show the postal address" in result.stderr
    assert "cstool journey validate nofoot" in result.stderr
    checked = cli(*root, "journey", "validate", "nofoot")
    assert checked.exit_code == 1
    assert "the text part does not show the postal address" in checked.stderr
    assert not (company.outbox / "nofoot").exists()


def test_a_compliant_journey_still_sends(company: Workspace) -> None:
    """The refusal is per journey: a valid one beside the broken one sends as before."""
    r = send(company, "renewal", as_of=D, now=NOW)
    assert r.written == 1 and r.batch_id == 1
