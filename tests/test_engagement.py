"""cstool plan: the engagement plan is read from the playbooks and journeys, never written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from cstool.engagement import conjuncts, engagement_plan
from cstool.workspace import Workspace


def test_conjuncts_split_only_a_top_level_and() -> None:
    """Top-level and splits; an or, brackets or quotes keep the condition whole."""
    assert conjuncts("touch_tier == 'tech' and depth_band == 'red'") == [
        "touch_tier == 'tech'",
        "depth_band == 'red'",
    ]
    assert conjuncts("a == 1 and b == 2 or c == 3") == ["a == 1 and b == 2 or c == 3"]
    assert conjuncts("(a == 1 and b == 2)") == ["(a == 1 and b == 2)"]
    assert conjuncts("name == 'x and y'") == ["name == 'x and y'"]


def test_plan_follows_the_shipped_definitions(ws: Workspace) -> None:
    """Tech-touch accounts get journey email but no high-touch-only work; onboarding welcome
    goes to tech and low touch, never to high touch."""
    rows = engagement_plan(ws)
    emails = {(r.tier, r.stage, r.name) for r in rows if r.channel == "email"}
    assert ("tech", "Onboarding", "onboarding/welcome") in emails
    assert ("low", "Onboarding", "onboarding/welcome") in emails
    assert not any(t == "high" and n.startswith("onboarding/") for t, _, n in emails)
    assert ("tech", "Adopting", "feature-nudge/nudge") in emails
    assert ("tech", "Onboarding", "feature-nudge/nudge") not in emails  # audience: stages
    assert any(r.channel == "CTA" for r in rows)
    assert {r.tier for r in engagement_plan(ws, "tech")} == {"tech"}


def test_a_changed_journey_changes_the_plan(ws: Workspace) -> None:
    """Edit a journey's audience and the plan follows: it cannot drift from what runs."""
    path = ws.root / "journeys" / "renewal.yaml"
    before = {(r.tier, r.name) for r in engagement_plan(ws) if r.name == "renewal/notice-60"}
    assert ("high", "renewal/notice-60") not in before
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "audience: \"touch_tier != 'high'\"", "audience: \"touch_tier == 'high'\""
        ),
        encoding="utf-8",
    )
    after = {(r.tier, r.name) for r in engagement_plan(ws) if r.name == "renewal/notice-60"}
    assert {t for t, _ in after} == {"high"}


def test_plan_cli_markdown_and_bad_tier(ws: Workspace, cli: Callable[..., Result]) -> None:
    """--format markdown writes a section per tier; an unknown tier is a usage error."""
    r = cli("-w", str(ws.root), "plan", "--tier", "tech", "--format", "markdown")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("## tech touch\n") and "| email | onboarding/welcome |" in r.stdout
    r = cli("-w", str(ws.root), "plan", "--tier", "medium")
    assert r.exit_code == 2 and "unknown touch tier 'medium'" in r.stderr


@pytest.mark.parametrize("fmt", ["csv"])
def test_plan_cli_csv_columns(ws: Workspace, cli: Callable[..., Result], fmt: str) -> None:
    """CSV has the documented columns."""
    r = cli("-w", str(ws.root), "plan", "--format", fmt)
    assert r.stdout.splitlines()[0] == "tier,stage,channel,name,trigger,who,cadence"


def test_plan_table_keeps_names_whole_at_80_columns(
    ws: Workspace, cli: Callable[..., Result]
) -> None:
    """At 80 columns every touch's name is whole on its line; the conditions give way, said so."""
    r = cli("-w", str(ws.root), "plan", "--tier", "low", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    names = {row.name for row in engagement_plan(ws, "low")}
    cells = {cell.strip() for line in lines for cell in line.split("│")}
    assert names and names <= cells
    assert "trigger: not shown at this width" in r.stdout


def test_plan_tier_in_any_case(ws: Workspace, cli: Callable[..., Result]) -> None:
    """--tier HIGH is the high tier, as people type it."""
    r = cli("-w", str(ws.root), "plan", "--tier", "HIGH", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    tiers = {line.split(",")[0] for line in r.stdout.splitlines()[1:]}
    assert tiers == {"high"}
