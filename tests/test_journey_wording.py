"""The words journeys print: p-values, A/B lines without data, the derived text part of an
escaped ampersand, the postal problem said once, and suggestions only for close keys."""

from __future__ import annotations

from collections.abc import Callable

from cta_data import D
from journey_data import NOW, build
from typer.testing import Result

from cstool.journeys.send import send
from cstool.journeys.stats import Tally, compare, p_value
from cstool.templating import html_to_text
from cstool.workspace import Workspace


def test_a_tiny_p_value_reads_below_one_percent() -> None:
    """p is never shown as 0.00: below 0.005 it reads p<0.01."""
    big = [Tally("A", sent=5000, delivered=5000, clicks=500), Tally("B", 5000, 5000, clicks=800)]
    (win,) = compare("nudge", big, "clicks")
    assert win.p_value is not None and win.p_value < 0.005
    assert win.verdict == "B better on clicks, p<0.01"
    assert p_value(0.0049) == "p<0.01" and p_value(0.012) == "p=0.01"


def test_ab_line_without_deliveries_says_it_once(ws: Workspace, cli: Callable[..., Result]) -> None:
    """With nothing delivered yet the A/B line gives the verdict alone, not 'no data: ...'."""
    ws = build(ws)
    send(ws, "feature-nudge", as_of=D, now=NOW)
    r = cli("-w", str(ws.root), "journey", "stats", "feature-nudge")
    assert r.exit_code == 0, r.stderr
    assert "no data:" not in r.stdout
    assert "A/B nudge B vs A, clicks: not enough data yet: no deliveries to compare" in r.stdout


def test_derived_text_keeps_an_escaped_ampersand_as_written() -> None:
    """The text part reads what the HTML shows: 'A &amp; B' stays so, '&amp;' is '&'."""
    assert html_to_text("<p>Northwind &amp; Co</p>") == "Northwind & Co\n"
    assert html_to_text("<p>A &amp;amp; B &lt;x&gt;</p>") == "A &amp; B <x>\n"
    link = html_to_text('<a href="https://x.example/u?a=1&amp;b=2">Stop &amp; go</a>')
    assert link == "[Stop & go](https://x.example/u?a=1&b=2)\n"


def test_validate_says_the_missing_postal_address_once(
    ws: Workspace, cli: Callable[..., Result]
) -> None:
    """sender.postal_address unset is one problem of the configuration, listed once."""
    ws = build(ws)
    config = ws.root / "cstool.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    config.write_text("\n".join(x for x in lines if "postal_address" not in x) + "\n")
    r = cli("-w", str(ws.root), "journey", "validate")
    assert r.exit_code == 1
    assert r.stderr.count("sender.postal_address is not set") == 1


def test_unknown_keys_suggest_only_close_names(ws: Workspace, cli: Callable[..., Result]) -> None:
    """'colour' gets no suggestion; 'reentry' is told about reentry_days."""
    ws = build(ws)
    path = ws.root / "journeys" / "renewal.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "colour: blue\n", encoding="utf-8")
    show = ("-w", str(ws.root), "journey", "show", "renewal", "--as-of", "2026-11-20")
    r = cli(*show)
    assert r.exit_code == 1 and "colour: unknown key" in r.stderr
    assert "did you mean" not in r.stderr
    path.write_text(text + "reentry: 30\n", encoding="utf-8")
    r = cli(*show)
    assert "did you mean reentry_days?" in r.stderr
