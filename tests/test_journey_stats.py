"""journey stats, account emails, and the journey emails in the timeline and the 360."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from statistics import NormalDist

import pytest
from adoption_data import write_csv
from cta_data import D, snapshot
from journey_data import NOW, build
from loading import load
from typer.testing import Result

from cstool.journeys.send import send
from cstool.journeys.stats import (
    APPLE_PROXY,
    Tally,
    compare,
    journey_stats,
    machine_open,
    needed_per_variant,
    z_test,
)
from cstool.store import sends as sends_db
from cstool.workspace import Workspace

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


@pytest.mark.parametrize(
    ("agent", "seconds", "machine"),
    [
        (APPLE_PROXY, 3600, True),  # Apple's proxy, whenever it comes
        (APPLE_PROXY + " Version/18.1 Safari/605.1.15", 3600, False),  # a person in Safari
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", 3600, True),
        ("", 3600, True),
        (None, None, True),
        (CHROME, 59, True),  # too soon after delivery for a person
        (CHROME, 60, True),
        (CHROME, 61, False),
        (CHROME, None, False),  # no delivery event to compare with
    ],
)
def test_proxy_open_rule(agent: str | None, seconds: float | None, machine: bool) -> None:
    """Proxy and prefetch opens: Apple's proxy agent, scanners, no agent, or within 60 s."""
    assert machine_open(agent, seconds, 60) is machine


def test_z_test_matches_the_normal_distribution() -> None:
    """The two-proportion z-test: z by hand, p as the standard normal's two tails."""
    z, p = z_test(100, 1000, 130, 1000) or (0.0, 0.0)
    pooled = 230 / 2000
    assert z == pytest.approx(0.03 / math.sqrt(pooled * (1 - pooled) * 2 / 1000), rel=1e-12)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(z)), rel=1e-9)
    assert 0.035 < p < 0.036
    assert z_test(0, 0, 1, 10) is None
    assert z_test(0, 10, 0, 10) == (0.0, 1.0)


def test_sample_size_for_a_classic_case() -> None:
    """10% vs 15% needs 686 per group at 80% power and 5% significance (the textbook value)."""
    assert needed_per_variant(0.10, 0.15) == 686
    assert needed_per_variant(0.2, 0.2) is None


def _tally(name: str, delivered: int, clicks: int) -> Tally:
    t = Tally(name, sent=delivered, delivered=delivered, clicks=clicks, opens=clicks * 3)
    return t


def test_ab_verdicts_in_plain_words() -> None:
    """A clear winner is named with its p; a small test says how many more sends it needs."""
    (win,) = compare("nudge", [_tally("A", 1000, 100), _tally("B", 1000, 140)], "clicks")
    assert win.verdict == f"B better on clicks, p={win.p_value:.2f}" and win.p_value < 0.05
    assert win.difference == pytest.approx(0.04)
    (small,) = compare("nudge", [_tally("A", 100, 10), _tally("B", 100, 15)], "clicks")
    assert small.verdict == "not enough data yet: about 586 more sends per variant"
    (empty,) = compare("nudge", [_tally("A", 0, 0), _tally("B", 0, 0)], "clicks")
    assert empty.verdict.startswith("not enough data yet")


def events(ws: Workspace, rows: list[tuple[str, str, str, str]]) -> None:
    """Load email events (message_id, event, timestamp, user_agent)."""
    path = write_csv(
        ws.root / "events.csv",
        ["message_id", "event", "timestamp", "url", "user_agent"],
        [[m, e, t, "https://app.example/x" if e == "click" else "", a] for m, e, t, a in rows],
    )
    load(ws, "email_events", path)


@pytest.fixture
def surveyed(ws: Workspace) -> Workspace:
    """The company after the NPS survey went to U31, U32, U33, with their events."""
    ws = build(ws)
    send(ws, "nps-survey", as_of=D, now=NOW)
    with ws.open_store() as store:
        mid = {r["user_id"]: r["message_id"] for r in sends_db.rows(store.db)}
    events(
        ws,
        [
            (mid["U31"], "delivered", "2026-11-20T09:31:00Z", ""),
            (mid["U31"], "open", "2026-11-20T09:31:02Z", CHROME),  # 2 s: a prefetch
            (mid["U31"], "open", "2026-11-20T12:00:00Z", APPLE_PROXY),
            (mid["U32"], "delivered", "2026-11-20T09:31:00Z", ""),
            (mid["U32"], "open", "2026-11-20T09:45:00Z", CHROME),
            (mid["U32"], "click", "2026-11-20T09:46:00Z", CHROME),
            (mid["U33"], "bounce", "2026-11-20T09:31:00Z", ""),
            ("<not-ours@elsewhere.example>", "open", "2026-11-20T09:31:00Z", CHROME),
        ],
    )
    return ws


def test_stats_count_messages_not_events(surveyed: Workspace) -> None:
    """Unique messages per outcome; proxy opens apart; rates over delivered."""
    s = journey_stats(surveyed, "nps-survey")
    (row,) = s.rows
    assert {k: row[k] for k in ("sent", "delivered", "bounced", "opens", "proxy_opens")} == {
        "sent": 3,
        "delivered": 2,
        "bounced": 1,
        "opens": 1,
        "proxy_opens": 1,
    }
    assert row["clicks"] == 1 and row["open_rate"] == 0.5 and row["click_rate"] == 0.5
    assert row["bounce_rate"] == pytest.approx(1 / 3)
    assert s.batches[0]["written"] == 3 and s.comparisons == [] and s.lifts == []


def test_stats_cli_csv_and_groupings(surveyed: Workspace, cli: Callable[..., Result]) -> None:
    """--format csv has the documented columns; --by step groups by step."""
    r = cli("-w", str(surveyed.root), "journey", "stats", "nps-survey", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    header, line = r.stdout.splitlines()
    assert header == (
        "group,sent,delivered,bounced,unsubscribed,complaints,opens,proxy_opens,clicks,"
        "delivery_rate,bounce_rate,open_rate,click_rate,unsubscribe_rate"
    )
    assert line.startswith("all,3,2,1,0,0,1,1,1,")
    r = cli(
        "-w", str(surveyed.root), "journey", "stats", "nps-survey", "--by", "step", "-f", "json"
    )
    assert [g["group"] for g in json.loads(r.stdout)] == ["invite"]
    r = cli("-w", str(surveyed.root), "journey", "stats", "nps-survey")
    assert r.exit_code == 0 and "Batches" in r.stdout


def test_ab_and_holdout_lift(ws: Workspace) -> None:
    """feature-nudge: variants side by side; depth and breadth change vs the held-out A6."""
    ws = build(ws)
    send(ws, "feature-nudge", as_of=D, now=NOW)
    later = D + timedelta(days=28)
    snapshot(
        ws,
        later,
        {
            "A3": {"depth": 0.9, "breadth": 0.6},  # from lime 0.7 and yellow 0.5
            "A5": {"depth": 0.8, "breadth": 0.5},
            "A6": {"depth": 0.6, "breadth": 0.5},
        },
    )
    s = journey_stats(ws, "feature-nudge", "variant")
    assert [r["group"] for r in s.rows] == ["nudge A", "nudge B"]
    assert [(c.measure, c.variant, c.base) for c in s.comparisons] == [
        ("clicks", "B", "A"),
        ("opens", "B", "A"),
    ]
    depth, breadth = s.lifts
    assert (depth.recipients, depth.holdout) == (2, 1)
    assert depth.recipients_change == pytest.approx(0.15)
    assert depth.holdout_change == pytest.approx(-0.1)
    assert depth.lift == pytest.approx(0.25)
    assert breadth.lift == pytest.approx(0.05)


def test_no_lift_before_the_days_have_passed(ws: Workspace) -> None:
    """Without a snapshot lift_days after the send, the lift has no accounts yet."""
    ws = build(ws)
    send(ws, "feature-nudge", as_of=D, now=NOW)
    snapshot(ws, D + timedelta(days=20), {"A3": {"depth": 0.9}})
    depth, _ = journey_stats(ws, "feature-nudge").lifts
    assert depth.recipients == 0 and depth.lift is None


def test_account_emails_and_the_360(surveyed: Workspace, cli: Callable[..., Result]) -> None:
    """account emails lists what A3's people got; the 360 and the timeline show it too."""
    r = cli("-w", str(surveyed.root), "account", "emails", "A3", "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = [(e["user_id"], e["opened"], e["clicked"], e["status"]) for e in json.loads(r.stdout)]
    assert sorted(got) == [
        ("U31", False, False, "written"),
        ("U32", True, True, "written"),
        ("U33", False, False, "written"),
    ]
    show = ("account", "show", "A3", "--format", "json")
    r = cli("-w", str(surveyed.root), *show, "--as-of", "2026-11-19")
    assert json.loads(r.stdout)["emails"]["total"] == 0  # nothing after the 360's date
    r = cli("-w", str(surveyed.root), *show, "--as-of", "2026-11-20")
    emails = json.loads(r.stdout)["emails"]
    assert emails["total"] == 3 and emails["entries"][0]["journey"] == "nps-survey"
    r = cli("-w", str(surveyed.root), "timeline", "A3", "--type", "email", "--format", "json")
    entries = json.loads(r.stdout)
    assert {e["source"] for e in entries} == {"journeys"} and len(entries) == 3
    assert any(e["detail"] == "written, opened and clicked" for e in entries)
    r = cli("-w", str(surveyed.root), "account", "emails", "NOPE")
    assert r.exit_code == 1 and "no account 'NOPE'" in r.stderr


def test_stats_of_an_unknown_journey(surveyed: Workspace, cli: Callable[..., Result]) -> None:
    """An unknown journey is exit 1 with the close name."""
    r = cli("-w", str(surveyed.root), "journey", "stats", "nps-surve")
    assert r.exit_code == 1 and "did you mean nps-survey?" in r.stderr


def test_account_emails_reflect_bounces_complaints_and_unsubscribes(
    ws: Workspace, cli: Callable[..., Result]
) -> None:
    """Each message's outcome is its strongest event: a bounce is never shown as sent."""
    ws = build(ws)
    send(ws, "nps-survey", as_of=D, now=NOW)
    with ws.open_store() as store:
        mid = {r["user_id"]: r["message_id"] for r in sends_db.rows(store.db)}
    events(
        ws,
        [
            (mid["U31"], "delivered", "2026-11-20T09:31:00Z", ""),
            (mid["U31"], "complaint", "2026-11-20T10:00:00Z", ""),
            (mid["U32"], "delivered", "2026-11-20T09:31:00Z", ""),
            (mid["U32"], "unsubscribe", "2026-11-20T10:00:00Z", CHROME),
            (mid["U33"], "bounce", "2026-11-20T09:31:00Z", ""),
        ],
    )
    r = cli("-w", str(ws.root), "account", "emails", "A3", "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = {
        e["user_id"]: (e["outcome"], e["delivered"], e["bounced"], e["complained"])
        + (e["unsubscribed"],)
        for e in json.loads(r.stdout)
    }
    assert got == {
        "U31": ("complained", True, False, True, False),
        "U32": ("unsubscribed", True, False, False, True),
        "U33": ("bounced", False, True, False, False),
    }
    r = cli("-w", str(ws.root), "account", "emails", "A3")
    bounced = next(line for line in r.stdout.splitlines() if "u33@a3.example" in line)
    assert "bounced" in bounced and "written" not in bounced


def test_account_emails_table_keeps_addresses_whole_at_80_columns(
    ws: Workspace, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns a long recipient address stays on one line; dropped columns are named."""
    from journey_data import USERS, user

    long = "maximilian.schneider@northwind-health.example"
    users = [u for u in USERS if u["user_id"] != "U33"]
    users.append(user("U33", "A3", "End User", email=long))
    ws = build(ws, users=users)
    send(ws, "nps-survey", as_of=D, now=NOW)
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("-w", str(ws.root), "account", "emails", "A3")
    assert r.exit_code == 0, r.stderr
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    assert long in r.stdout and "u31@a3.example" in r.stdout
    assert "not shown" in r.stdout + r.stderr
