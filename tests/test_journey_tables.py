"""Journey tables at 80 columns: addresses, names and paths stay whole or shorten as their
kind says, no line is wider than the terminal, and dropped columns are named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cta_data import D, set_config
from journey_data import NOW, build
from typer.testing import Result

from cstool.journeys.send import send
from cstool.workspace import Workspace


@pytest.fixture
def narrow(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The journey company on an 80-column terminal, one journey sent from a long address."""
    monkeypatch.setenv("COLUMNS", "80")
    ws = build(ws)
    path = ws.root / "journeys" / "nps-survey.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(
            "from: customer-success-team@acme.example" if x.startswith("from:") else x
            for x in text.splitlines()
        )
        + "\n",
        encoding="utf-8",
    )
    return set_config(ws, "company: Acme")


def lines_fit(out: str) -> bool:
    return all(len(line) <= 80 for line in out.splitlines())


def test_journey_list_keeps_addresses_whole(narrow: Workspace, cli: Callable[..., Result]) -> None:
    """from addresses are on one line; audience and recipients show when the terminal is wide."""
    r = cli("-w", str(narrow.root), "journey", "list")
    assert r.exit_code == 0, r.stderr
    assert lines_fit(r.stdout) and "power-user-inactive" in r.stdout
    assert "customer-success-team@acme.example" in r.stdout or "from" in r.stdout.splitlines()[-1]
    assert "not shown at this width" in r.stdout
    wide = cli("-w", str(narrow.root), "journey", "list", env={"COLUMNS": "250"})
    assert "audience" in wide.stdout and "recipients" in wide.stdout
    assert "touch_tier" in wide.stdout


def test_journey_stats_batches_fit_and_name_dropped_counts(
    narrow: Workspace, cli: Callable[..., Result]
) -> None:
    """The batch folder is a path shortened from the left; complaints are named when dropped."""
    send(narrow, "nps-survey", as_of=D, now=NOW)
    r = cli("-w", str(narrow.root), "journey", "stats", "nps-survey")
    assert r.exit_code == 0, r.stderr
    assert lines_fit(r.stdout)
    assert "complaints" in r.stdout and "not shown" in r.stdout
    assert "0001-2026-11-20" in r.stdout


def test_journey_show_fits(narrow: Workspace, cli: Callable[..., Result]) -> None:
    """journey show's steps and audience fit 80 columns, account ids whole."""
    r = cli("-w", str(narrow.root), "journey", "show", "onboarding", "--as-of", "2026-11-20")
    assert r.exit_code == 0, r.stderr
    assert lines_fit(r.stdout) and "A1" in r.stdout
