"""Playbooks: strict loading, validation, and the playbooks commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cta_data import D, account, snapshot, write_accounts
from typer.testing import Result

from cstool import playbooks
from cstool.context import account_catalogue
from cstool.errors import InputError
from cstool.workspace import Workspace

Cli = Callable[..., Result]
REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name: custom
description: A custom play
type: risk
priority: high
audience: "touch_tier != 'tech'"
when: "depth_band == 'red'"
close_when: "depth_band in ['green', 'lime']"
reason: "Depth {{ depth_band }} at {{ name }}"
owner: csm
due_in: 5
cooldown_days: 10
tasks:
  - {title: "Call the sponsor", due_in: 2, email_assist: renewal-check-in}
  - {title: "Agree a plan", due_in: 5}
"""


@pytest.fixture
def pws(ws: Workspace) -> Workspace:
    """A workspace with its shipped playbooks replaced by one custom playbook."""
    for f in (ws.root / "playbooks").glob("*.yaml"):
        f.unlink()
    (ws.root / "playbooks" / "custom.yaml").write_text(GOOD, encoding="utf-8")
    return ws


def test_the_shipped_playbooks_load_and_validate(ws: Workspace) -> None:
    """Every shipped playbook loads strictly and renders its reason and assists."""
    with ws.open_store() as store:
        result = playbooks.validate(ws, store)
    names = [d.model.name for d in result.playbooks]
    assert names == sorted(p.stem for p in (REPO / "playbooks").glob("*.yaml"))
    assert len(names) == 13
    assert result.assists == 13
    renewal = next(d.model for d in result.playbooks if d.model.name == "renewal-at-risk")
    assert renewal.cooldown_days == 30 and renewal.tasks[0].email_assist == "renewal-check-in"


def test_a_playbook_compiles_its_conditions_and_reason(pws: Workspace) -> None:
    """The compiled conditions evaluate and the reason renders from account variables."""
    with pws.open_store() as store:
        (d,) = playbooks.load(pws, account_catalogue(store))
    pb = d.model
    variables = {"depth_band": "red", "touch_tier": "low", "name": "Acme"}
    assert pb.when_condition.holds(variables)
    assert pb.condition("audience").holds(variables)  # type: ignore[union-attr]
    assert not pb.condition("close_when").holds(variables)  # type: ignore[union-attr]
    assert pb.render_reason(variables) == "Depth red at Acme"


def test_an_attribute_can_be_used_once_the_accounts_have_it(pws: Workspace) -> None:
    """A condition on an extra column of the accounts export compiles when it exists."""
    text = GOOD.replace("when: \"depth_band == 'red'\"", "when: \"plan == 'gold'\"")
    (pws.root / "playbooks" / "custom.yaml").write_text(text, encoding="utf-8")
    with pws.open_store() as store, pytest.raises(InputError, match="unknown variable 'plan'"):
        playbooks.load(pws, account_catalogue(store))
    write_accounts(pws, [account("A1", plan="gold")])
    with pws.open_store() as store:
        (d,) = playbooks.load(pws, account_catalogue(store))
    assert d.model.when_condition.holds({"plan": "gold"})


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


# (id, edit of GOOD (old, new), expected message after "playbooks/custom.yaml: line N: ",
#  the text on line N)
BAD = [
    ("unknown key", ("cooldown_days: 10", "cooldown_dayz: 10"), "cooldown_dayz: unknown key",
     "cooldown_dayz"),
    ("bad expression", ("when: \"depth_band == 'red'\"", 'when: "depth_band =="'),
     "when: not a valid condition", "when:"),
    ("unknown variable", ("when: \"depth_band == 'red'\"", "when: \"dept_band == 'red'\""),
     "when: unknown variable 'dept_band'", "when:"),
    ("impossible value", ("when: \"depth_band == 'red'\"", "when: \"depth_band == 'rde'\""),
     "when: 'rde' is never a value of depth_band", "when:"),
    ("unknown variable in reason", ("{{ name }}", "{{ nmae }}"),
     "reason: unknown variable 'nmae'", "reason:"),
    ("missing template", ("email_assist: renewal-check-in", "email_assist: renewal-chek-in"),
     "tasks.0.email_assist: no email template 'renewal-chek-in' in email_templates/",
     "renewal-chek-in"),
    ("YAML tag", ("due_in: 5\ncooldown", "due_in: !!python/object:os.system 5\ncooldown"),
     "not valid YAML: YAML tags such as !!python/object:os.system are not allowed",
     "!!python"),
    ("owner not a field", ("owner: csm", "owner: ae"),
     "owner: 'ae' is not a field of the accounts export", "owner:"),
    ("task after its CTA", ('due_in: 5}', 'due_in: 6}'),
     "tasks.1.due_in: the task is due after its CTA (due_in 5)", "Agree a plan"),
    ("bad type", ("type: risk", "type: danger"), "type: Input should be", "type:"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "message", "on"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_playbooks_are_refused_with_file_key_and_line(
    pws: Workspace,
    cli: Cli,
    db_snapshot: Callable[[Path], str],
    edit: tuple[str, str],
    message: str,
    on: str,
) -> None:
    """cta generate and playbooks validate exit 1 naming the file, line and key; nothing
    is written."""
    assert edit[0] in GOOD
    text = GOOD.replace(*edit)
    (pws.root / "playbooks" / "custom.yaml").write_text(text, encoding="utf-8")
    write_accounts(pws, [account("A1")])
    snapshot(pws, D, {"A1": {"depth": "red"}})
    before = db_snapshot(pws.db_path)
    where = f"playbooks/custom.yaml: line {_line(text, on)}: "
    for args in (["cta", "generate"], ["playbooks", "validate"]):
        result = cli("--workspace", str(pws.root), *args)
        assert result.exit_code == 1, (args, result.stderr)
        assert result.stderr.startswith(f"Error: {where}{message}"), result.stderr
        assert "hint:" in result.stderr
    assert db_snapshot(pws.db_path) == before
    assert not (pws.root / "outbox" / "assist").exists()


def test_two_playbooks_with_one_name_are_refused(pws: Workspace, cli: Cli) -> None:
    """A name used by two files is an error naming both."""
    (pws.root / "playbooks" / "other.yaml").write_text(GOOD, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "cta", "generate", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: playbooks/other.yaml: line 1: name: 'custom' is already the name of "
        "playbooks/custom.yaml"
    )


def test_a_holiday_that_is_not_a_date_is_refused(pws: Workspace, cli: Cli) -> None:
    """holidays: entries must be dates: exit 1 naming cstool.yaml, the key and the line."""
    path = pws.root / "cstool.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "holidays: []", "holidays:\n  - 2026-12-25\n  - tomorrow"
    )
    path.write_text(text, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "cta", "generate")
    assert result.exit_code == 1
    line = _line(text, "- tomorrow")
    assert result.stderr.startswith(
        f"Error: cstool.yaml: line {line}: holidays.1: 'tomorrow' is not a date"
    )


def test_an_impossible_holiday_date_names_its_key_and_line(pws: Workspace, cli: Cli) -> None:
    """holidays: [2026-12-25, 2026-13-01] names holidays.1 and its line, with a date hint."""
    path = pws.root / "cstool.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "holidays: []", "holidays: [2026-12-25, 2026-13-01]"
    )
    path.write_text(text, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "cta", "generate")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: cstool.yaml: line {_line(text, '2026-13-01')}: holidays.1: 2026-13-01 is not "
        "a valid date (month must be in 1..12)"
    )
    assert "hint: write a real date as YYYY-MM-DD" in result.stderr
    assert "YAML syntax" not in result.stderr


def test_validate_lists_every_bad_file(pws: Workspace, cli: Cli) -> None:
    """One bad file does not hide the next, nor one bad key the next: every problem of every
    file is listed once under a clean summary line."""
    (pws.root / "playbooks" / "a.yaml").write_text(
        GOOD.replace("name: custom", "name: a")
        .replace("priority: high", "priority: hi")
        .replace("owner: csm", "owner: ae")
        .replace("due_in: 5}", "due_in: 6}")
        .replace("email_assist: renewal-check-in", "email_assist: nope"),
        encoding="utf-8",
    )
    (pws.root / "playbooks" / "b.yaml").write_text(
        GOOD.replace("name: custom", "name: b").replace("owner: csm", "owner: nobody"),
        encoding="utf-8",
    )
    result = cli("--workspace", str(pws.root), "playbooks", "validate")
    assert result.exit_code == 1
    # The summary line changed on purpose: it no longer starts with the first problem.
    assert result.stderr.startswith("Error: 5 problems in 2 files of playbooks/:\n")
    assert "playbooks/b.yaml: line 9: owner: 'nobody' is not a field" in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        "  playbooks/a.yaml: line 4: priority: Input should be",
        "  playbooks/a.yaml: line 9: owner: 'ae' is not a field of the accounts export",
        "  playbooks/a.yaml: line 13: tasks.0.email_assist: no email template 'nope'",
        "  playbooks/a.yaml: line 14: tasks.1.due_in: the task is due after its CTA",
        "  playbooks/b.yaml: line 9: owner: 'nobody' is not a field of the accounts export",
    ]
    problems = [line for line in lines if line.startswith("  playbooks/")]
    assert len(problems) == len(expected)
    for line, start in zip(problems, expected, strict=True):
        assert line.startswith(start), line
    assert lines[-1] == "hint: fix each problem listed, then run `cstool playbooks validate` again"


def test_a_reason_prints_na_for_a_missing_value(pws: Workspace, cli: Cli) -> None:
    """{{ value }} of a missing value prints n/a in a reason, never None; a reason that
    still prints None for the sparse sample account is a validate warning."""
    with pws.open_store() as store:
        (d,) = playbooks.load(pws, account_catalogue(store))
    assert d.model.render_reason({"depth_band": None, "name": "Acme"}) == "Depth n/a at Acme"
    text = GOOD.replace('"Depth {{ depth_band }} at {{ name }}"', "\"NPS {{ nps ~ '' }}\"")
    (pws.root / "playbooks" / "custom.yaml").write_text(text, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "playbooks", "validate")
    assert result.exit_code == 0, result.stderr
    assert (
        f"Warning: playbooks/custom.yaml: line {_line(text, 'reason:')}: reason: prints None "
        "for an account without some values: 'NPS None'"
    ) in result.stderr
    assert result.stderr.rstrip().endswith("sample account; 1 warning")


def test_show_accepts_only_table_or_json(ws: Workspace, cli: Cli) -> None:
    """playbooks show and cta show are not listings: --format csv is a usage error."""
    for args in (["playbooks", "show", "sit-along"], ["cta", "show", "1"]):
        result = cli("--workspace", str(ws.root), *args, "--format", "csv")
        assert result.exit_code == 2, args
        assert "'csv' is not one of 'table', 'json'" in result.stderr
    shown = cli("--workspace", str(ws.root), "playbooks", "show", "--help")
    assert "table|json" in shown.stdout


def test_vars_table_keeps_the_description_readable(ws: Workspace, cli: Cli) -> None:
    """At 80 columns the example column gives way before the description wraps a word a
    line, and lifecycle_stage's example is written as the data writes it."""
    result = cli("--workspace", str(ws.root), "playbooks", "vars", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "example" not in result.stdout.splitlines()[2]
    row = next(line for line in result.stdout.splitlines() if "days_to_renewal" in line)
    description = row.split("│")[-2].strip()
    assert len(description) >= 25, row
    data = json.loads(cli("--workspace", str(ws.root), "playbooks", "vars", "-f", "json").stdout)
    stage = next(v for v in data if v["name"] == "lifecycle_stage")
    assert stage["example"] == "'Onboarding'"


def test_a_template_that_fails_for_a_sparse_account_is_reported(pws: Workspace, cli: Cli) -> None:
    """validate renders each assist for a sparse account: a missing value that the template
    does not guard is reported with the template's file and line."""
    folder = pws.root / "email_templates" / "fragile"
    folder.mkdir()
    (folder / "subject.j2").write_text("About {{ account.name }}", encoding="utf-8")
    (folder / "body.txt.j2").write_text(
        "Hi,\n{{ '%.0f' % (adoption.depth * 100) }}% active\n", encoding="utf-8"
    )
    text = GOOD.replace("email_assist: renewal-check-in", "email_assist: fragile")
    (pws.root / "playbooks" / "custom.yaml").write_text(text, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "playbooks", "validate")
    assert result.exit_code == 1
    assert (
        f"Error: playbooks/custom.yaml: line {_line(text, 'fragile')}: tasks.0.email_assist: "
        "email_templates/fragile/body.txt.j2: line 2:"
    ) in result.stderr
    assert "recipient sample (sparse)" in result.stderr


def test_playbooks_list_csv_and_show(ws: Workspace, cli: Cli) -> None:
    """list gives every playbook with its documented columns; show gives one in full."""
    result = cli("--workspace", str(ws.root), "playbooks", "list", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["name", "type", "priority", "audience", "due_in", "tasks", "file"]
    renewal = next(r for r in rows if r["name"] == "renewal-at-risk")
    assert renewal == {
        "name": "renewal-at-risk",
        "type": "risk",
        "priority": "high",
        "audience": "touch_tier != 'tech'",
        "due_in": "5",
        "tasks": "3",
        "file": "playbooks/renewal-at-risk.yaml",
    }
    shown = cli("--workspace", str(ws.root), "playbooks", "show", "Renewal-At-Risk")
    assert shown.exit_code == 0
    assert "renewal-at-risk (risk, high) from playbooks/renewal-at-risk.yaml" in shown.stdout
    assert "Review usage with the champion" in shown.stdout
    data = json.loads(
        cli("--workspace", str(ws.root), "playbooks", "show", "sit-along", "-f", "json").stdout
    )
    assert data["cooldown_days"] == 90 and len(data["tasks"]) == 3
    missing = cli("--workspace", str(ws.root), "playbooks", "show", "renewal-at-rsk")
    assert missing.exit_code == 1
    assert "no playbook called 'renewal-at-rsk'" in missing.stderr
    assert "did you mean renewal-at-risk?" in missing.stderr


def test_playbooks_vars_lists_the_catalogue_and_attributes(ws: Workspace, cli: Cli) -> None:
    """vars prints every documented variable, and the accounts' extra columns once loaded."""
    write_accounts(ws, [account("A1", plan="gold")])
    result = cli("--workspace", str(ws.root), "playbooks", "vars", "--format", "json")
    assert result.exit_code == 0
    found = {v["name"]: v for v in json.loads(result.stdout)}
    for name in ("depth_band_change", "days_to_renewal", "nps_days", "open_ctas", "touch_tier"):
        assert name in found
    assert found["plan"]["group"] == "attribute"
    assert found["touch_tier"]["description"].endswith("high, low, tech")


def test_validate_says_what_it_checked(ws: Workspace, cli: Cli) -> None:
    """A valid set prints a one-line summary on stderr."""
    result = cli("--workspace", str(ws.root), "playbooks", "validate")
    assert result.exit_code == 0
    assert result.stderr == (
        "13 playbooks valid; 13 email assists rendered for a full and a sparse sample account\n"
    )


def test_validate_warns_of_a_value_the_accounts_hold_only_in_another_case(
    pws: Workspace, cli: Cli
) -> None:
    """lifecycle_stage == 'onboarding' never holds when the data says 'Onboarding': a
    warning names the file, line and key; the value as exported gives none."""
    write_accounts(pws, [account("A1", lifecycle_stage="Onboarding")])
    text = GOOD.replace(
        "when: \"depth_band == 'red'\"", "when: \"lifecycle_stage in ['onboarding', 'Mature']\""
    )
    (pws.root / "playbooks" / "custom.yaml").write_text(text, encoding="utf-8")
    result = cli("--workspace", str(pws.root), "playbooks", "validate")
    assert result.exit_code == 0, result.stderr
    assert (
        f"Warning: playbooks/custom.yaml: line {_line(text, 'when:')}: when: lifecycle_stage is "
        "never 'onboarding' in the accounts, only 'Onboarding' (text comparisons are "
        "case-sensitive)"
    ) in result.stderr.replace("\n", " ")
    assert "'Mature'" not in result.stderr
    (pws.root / "playbooks" / "custom.yaml").write_text(
        text.replace("'onboarding'", "'Onboarding'"), encoding="utf-8"
    )
    fixed = cli("--workspace", str(pws.root), "playbooks", "validate")
    assert fixed.exit_code == 0 and "Warning" not in fixed.stderr


def test_cta_help_is_aligned_with_the_behaviour(ws: Workspace, cli: Cli) -> None:
    """snooze says a clearing condition still closes; show's --as-of is the status date;
    the task group has an example."""
    snooze = cli("cta", "snooze", "--help").stdout
    assert "still closes it if its" in snooze and "leaves it alone" not in snooze
    show = cli("cta", "show", "--help").stdout
    assert "Date to show the status on" in show and "Date of the change" not in show
    assert "Example: cstool cta task done 12 1" in cli("cta", "task", "--help").stdout
