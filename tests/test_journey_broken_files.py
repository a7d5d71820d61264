"""A journey file that does not load: validate NAME reports its own errors, and it stops
only itself: the other journeys list, show and send, with a warning naming the file."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cta_data import D
from journey_data import NOW, build
from typer.testing import Result

from cstool.errors import InputError
from cstool.journeys.send import send
from cstool.workspace import Workspace

BAD = "name: bad\ncategory: adoption\naudience: [unclosed\n"


@pytest.fixture
def company(ws: Workspace) -> Workspace:
    """The journey test company with journeys/bad.yaml that fails to parse."""
    ws = build(ws)
    (ws.root / "journeys" / "bad.yaml").write_text(BAD, encoding="utf-8")
    return ws


def test_validate_names_the_file_errors_not_a_missing_journey(
    company: Workspace, cli: Callable[..., Result]
) -> None:
    """journey validate bad reports bad.yaml's parse error, never 'no journey called'."""
    r = cli("-w", str(company.root), "journey", "validate", "bad")
    assert r.exit_code == 1
    assert "no journey called" not in r.stderr
    assert "journeys/bad.yaml" in r.stderr and "1 problem(s) in 1 journey(s)" in r.stderr


def test_other_journeys_still_send_with_a_warning(
    company: Workspace, cli: Callable[..., Result]
) -> None:
    """send, show and list work for the others and warn of journeys/bad.yaml."""
    root = ("-w", str(company.root))
    r = cli(*root, "journey", "send", "renewal", "--as-of", "2026-11-20")
    assert r.exit_code == 0, r.stderr
    assert "Warning: journeys/bad.yaml" in r.stderr and "Wrote 1 email of renewal" in r.stderr
    shown = cli(*root, "journey", "show", "renewal", "--as-of", "2026-11-20")
    assert shown.exit_code == 0 and "journeys/bad.yaml" in shown.stderr
    listed = cli(*root, "journey", "list", "--format", "csv")
    assert listed.exit_code == 0 and "renewal" in listed.stdout and "bad" not in listed.stdout
    assert "journeys/bad.yaml" in listed.stderr


def test_the_broken_journey_itself_cannot_send(company: Workspace) -> None:
    """Asking for the broken journey gives its file's error; nothing is written."""
    with pytest.raises(InputError) as e:
        send(company, "bad", as_of=D, now=NOW)
    assert e.value.location is not None and e.value.location.file == "journeys/bad.yaml"
    assert not (company.outbox / "bad").exists()


def test_two_files_with_one_name_send_neither(company: Workspace) -> None:
    """A name two files claim is ambiguous: neither sends; other journeys still do."""
    text = (company.root / "journeys" / "renewal.yaml").read_text(encoding="utf-8")
    (company.root / "journeys" / "renewal-copy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="also the name of"):
        send(company, "renewal", as_of=D, now=NOW)
    assert send(company, "nps-survey", as_of=D, now=NOW).written == 3
