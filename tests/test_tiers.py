"""Touch tiers: the default rules at their boundaries, custom rules, errors and the report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from cta_data import D, account, days, set_config, snapshot, write_accounts
from typer.testing import Result

from cstool import tiers
from cstool.config import DEFAULT_TOUCH_TIERS, default_yaml
from cstool.context import book
from cstool.errors import InputError
from cstool.workspace import Workspace, open_workspace

# (fields, bands on D, expected tier, expected rule number or "default")
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("enterprise", {"segment": "Enterprise", "arr": 1000}, {}, "high", "1"),
    ("arr at 150,000", {"arr": 150000}, {}, "high", "1"),
    ("arr just below", {"arr": 149999.99}, {}, "low", "4"),
    ("onboarding small", {"lifecycle_stage": "Onboarding", "arr": 5000}, {}, "low", "2"),
    ("onboarding big", {"lifecycle_stage": "Onboarding", "arr": 200000}, {}, "high", "1"),
    ("red, renewal in 180", {"renewal_date": days(180)}, {"depth": "red"}, "low", "3"),
    ("red, renewal in 181", {"renewal_date": days(181)}, {"depth": "red"}, "tech", "default"),
    ("orange, renewal in 30", {"renewal_date": days(30)}, {"depth": "orange"}, "tech", "default"),
    ("red, at risk", {"lifecycle_stage": "At Risk"}, {"breadth": "red"}, "low", "3"),
    ("red, no renewal", {"renewal_date": None}, {"deployment": "red"}, "tech", "default"),
    ("arr at 25,000", {"arr": 25000}, {}, "low", "4"),
    ("arr just below 25,000", {"arr": 24999}, {}, "tech", "default"),
    ("no arr", {"arr": None}, {}, "tech", "default"),
]


@pytest.mark.parametrize(
    ("fields", "bands", "tier", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_default_rules_at_their_boundaries(
    ws: Workspace, fields: dict[str, Any], bands: dict[str, Any], tier: str, rule: str
) -> None:
    """High for enterprise or big ARR; low for onboarding, red at renewal risk, the middle."""
    write_accounts(ws, [account("A1", **fields)])
    snapshot(ws, D, {"A1": bands})
    with ws.open_store() as store:
        report = tiers.report(book(store, ws.resolved, D))
    (row,) = report.accounts
    assert row.tier == tier
    assert row.rule.split(":")[0] == rule


def test_the_default_file_spells_out_the_default_rules() -> None:
    """cstool init writes the rules the model defaults to, so people see and edit them."""
    data = yaml.safe_load(default_yaml(sample=True))
    written = [(r["tier"], " ".join(r["when"].split())) for r in data["touch_tiers"]]
    assert written == [(t, " ".join(w.split())) for t, w in DEFAULT_TOUCH_TIERS]
    assert data["default_touch_tier"] == "tech"
    assert {c["name"] for c in data["csms"]} >= {"Priya Raman", "Tomás Herrera"}
    assert data["sender"]["postal_address"]
    plain = yaml.safe_load(default_yaml())
    assert "csms" not in plain and "postal_address" not in plain["sender"]


def test_custom_rules_with_an_attribute_and_a_default(ws: Workspace) -> None:
    """Rules may use the accounts' extra columns; the first that holds wins, else the default."""
    ws = set_config(
        ws,
        "touch_tiers:\n"
        "  - {tier: tech, when: \"plan == 'self-serve'\"}\n"
        "  - {tier: high, when: 'arr > 0'}\n"
        "default_touch_tier: low\n",
    )
    write_accounts(
        ws,
        [
            account("A1", plan="self-serve", arr=900000),
            account("A2", plan="gold"),
            account("A3", plan="gold", arr=None),
        ],
    )
    with ws.open_store() as store:
        report = tiers.report(book(store, ws.resolved, D))
    got = {a.account_id: (a.tier, a.rule) for a in report.accounts}
    assert got == {
        "A1": ("tech", "1: plan == 'self-serve'"),
        "A2": ("high", "2: arr > 0"),
        "A3": ("low", "default"),
    }
    assert report.rules[-1] == "default -> low"


def _bad_config(ws: Workspace, rules: str) -> str:
    """Replace the touch tier section (the end of the file) of cstool.yaml with ``rules``."""
    path = ws.root / "cstool.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("# Touch tiers")] + rules, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def test_a_syntax_error_in_a_rule_names_the_file_key_and_line(ws: Workspace) -> None:
    """A rule that is not an expression is refused when cstool.yaml is read."""
    text = _bad_config(ws, 'touch_tiers:\n  - tier: high\n    when: "arr >= "\n')
    line = text.splitlines().index('    when: "arr >= "') + 1
    with pytest.raises(InputError) as e:
        open_workspace(ws.root)
    assert str(e.value).startswith(f"cstool.yaml: line {line}: touch_tiers.0.when: not a valid")


@pytest.mark.parametrize(
    ("when", "message", "hint"),
    [
        ("segmnet == 'SMB'", "unknown variable 'segmnet'", "did you mean segment?"),
        ("touch_tier == 'high'", "unknown variable 'touch_tier'", "cannot use touch_tier"),
    ],
)
def test_an_unknown_variable_in_a_rule_is_located(
    ws: Workspace, when: str, message: str, hint: str
) -> None:
    """Names are checked against the workspace's variables, at the rule's line."""
    text = _bad_config(ws, f'touch_tiers:\n  - tier: high\n    when: "{when}"\n')
    line = text.splitlines().index(f'    when: "{when}"') + 1
    ws = open_workspace(ws.root)
    write_accounts(ws, [account("A1")])
    with ws.open_store() as store, pytest.raises(InputError) as e:
        tiers.report(book(store, ws.resolved, D))
    assert str(e.value) == f"cstool.yaml: line {line}: touch_tiers.0.when: {message}"
    assert hint in (e.value.hint or "")


def test_an_unknown_tier_is_refused(ws: Workspace) -> None:
    """A tier other than high, low and tech is refused with its line."""
    _bad_config(ws, "touch_tiers:\n  - {tier: medium, when: 'arr > 0'}\n")
    with pytest.raises(InputError, match=r"touch_tiers\.0\.tier"):
        open_workspace(ws.root)


@pytest.fixture
def book_ws(ws: Workspace) -> Workspace:
    """Four accounts of two CSMs in all three tiers."""
    write_accounts(
        ws,
        [
            account("A1", segment="Enterprise", arr=300000, csm="Priya Raman"),
            account("A2", arr=50000, csm="Priya Raman"),
            account("A3", arr=5000, csm="Priya Raman"),
            account("A4", arr=30000, csm="Jordan Blake"),
        ],
    )
    snapshot(ws, D, {a: {} for a in ("A1", "A2", "A3", "A4")})
    return ws


def test_the_book_per_csm(book_ws: Workspace) -> None:
    """Accounts, ARR, share of the CSM's ARR and open CTAs per CSM and tier."""
    with book_ws.open_store() as store:
        report = tiers.report(book(store, book_ws.resolved, D))
    assert [r.as_dict() for r in report.book] == [
        {"csm": "Jordan Blake", "tier": "low", "accounts": 1, "arr": 30000.0, "arr_share": 1.0,
         "open_ctas": 0},
        {"csm": "Priya Raman", "tier": "high", "accounts": 1, "arr": 300000.0,
         "arr_share": 300000 / 355000, "open_ctas": 0},
        {"csm": "Priya Raman", "tier": "low", "accounts": 1, "arr": 50000.0,
         "arr_share": 50000 / 355000, "open_ctas": 0},
        {"csm": "Priya Raman", "tier": "tech", "accounts": 1, "arr": 5000.0,
         "arr_share": 5000 / 355000, "open_ctas": 0},
    ]  # fmt: skip
    assert report.totals == {"high": 1, "low": 2, "tech": 1}


def test_tiers_csv(book_ws: Workspace, cli: Callable[..., Result]) -> None:
    """CSV lists the accounts with the documented columns; --by csm gives the book."""
    result = cli("--workspace", str(book_ws.root), "tiers", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == list(tiers.ACCOUNT_COLUMNS)
    assert [(r["account_id"], r["tier"]) for r in rows] == [
        ("A1", "high"),
        ("A2", "low"),
        ("A3", "tech"),
        ("A4", "low"),
    ]
    assert rows[0]["rule"] == "1: segment == 'Enterprise' or arr >= 150000"
    assert "4 accounts: 1 high, 2 low, 1 tech" in result.stderr
    book = cli("--workspace", str(book_ws.root), "tiers", "--by", "csm", "--format", "json")
    assert [(r["csm"], r["tier"]) for r in json.loads(book.stdout)][:2] == [
        ("Jordan Blake", "low"),
        ("Priya Raman", "high"),
    ]


def test_tiers_csv_amounts_are_whole_numbers(
    book_ws: Workspace, cli: Callable[..., Result]
) -> None:
    """ARR prints as 300000, not 300000.0, in both listings, as the reference report's do."""
    rows = list(csv.DictReader(io.StringIO(
        cli("--workspace", str(book_ws.root), "tiers", "--format", "csv").stdout
    )))  # fmt: skip
    assert [r["arr"] for r in rows] == ["300000", "50000", "5000", "30000"]
    book = cli("--workspace", str(book_ws.root), "tiers", "--by", "csm", "--format", "csv")
    assert [r["arr"] for r in csv.DictReader(io.StringIO(book.stdout))] == [
        "30000", "300000", "50000", "5000",
    ]  # fmt: skip


def test_tiers_table_filters_and_bad_tier(book_ws: Workspace, cli: Callable[..., Result]) -> None:
    """The table shows the accounts, the book and the rules; filters match in any case."""
    result = cli("--workspace", str(book_ws.root), "tiers", "--csm", "priya RAMAN", "--tier", "LOW")
    assert result.exit_code == 0, result.stderr
    assert "A2" in result.stdout and "A4" not in result.stdout and "A1 " not in result.stdout
    assert "Book per CSM on 2026-11-20" in result.stdout
    assert "default -> tech" in result.stdout
    bad = cli("--workspace", str(book_ws.root), "tiers", "--tier", "medium")
    assert bad.exit_code == 2  # a bad filter value is a usage error, as for cta list
    assert "'medium' is not a touch tier" in bad.stderr


def test_tiers_says_when_nothing_matches_or_bands_are_missing(
    book_ws: Workspace, cli: Callable[..., Result]
) -> None:
    """An empty result is a message on stderr, not an empty table; a date before any
    snapshot warns that every band is missing."""
    result = cli("--workspace", str(book_ws.root), "tiers", "--csm", "nobody")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No accounts match --csm 'nobody' on 2026-11-20" in result.stderr
    early = cli("--workspace", str(book_ws.root), "tiers", "--as-of", "2026-01-05", "-f", "csv")
    assert early.exit_code == 0
    assert "Warning: there is no adoption snapshot on or before 2026-01-05" in early.stderr
    assert len(early.stdout.splitlines()) == 5
    on_d = cli("--workspace", str(book_ws.root), "tiers", "-f", "csv")
    assert "Warning" not in on_d.stderr
