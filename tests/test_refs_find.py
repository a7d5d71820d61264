"""`refs find`: filters, each eligibility rule at its boundaries, and a known-answer ranking."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cta_data import (
    D,
    account,
    days,
    set_config,
    snapshot,
    write_accounts,
    write_nps,
    write_users,
)
from refs_data import (
    GREEN,
    OPP,
    add_cta,
    opportunity,
    user,
    write_opportunities,
    write_references,
)

from cstool.errors import InputError
from cstool.refs.find import Criteria, FindResult, fatigue_counts, find, parse_employees
from cstool.workspace import Workspace


def run(ws: Workspace, as_of: date = D, limit: int = 50, **criteria: object) -> FindResult:
    criteria.setdefault("industry", "Healthcare")
    with ws.open_store() as store:
        return find(store, ws.resolved, Criteria(**criteria), as_of=as_of, limit=limit)  # type: ignore[arg-type]


def verdicts(result: FindResult) -> dict[str, str]:
    """account_id -> "ok" or the rule that excluded it."""
    out = {c.account_id: "ok" for c in result.candidates}
    out.update({e.account_id: e.rule for e in result.excluded})
    return out


# -- a known-answer ranking -------------------------------------------------------------------


@pytest.fixture
def ranked_ws(ws: Workspace) -> Workspace:
    """Five eligible Healthcare accounts whose scores were worked out by hand, and one retailer.

    Criteria: --employees 500-1500 (target 1,000), --level VP; default weights 2/2/1/2/1.

        H1 1000 empl. green x3        NPS 10  0 refs  3 VP adv.  -> 100.0
        H3 1500 empl. lime x3         no NPS  0 refs  2 VP adv.  ->  75.0
        H6 as H3                                                ->  75.0 (after H3: by id)
        H2  500 empl. green/lime/yel. NPS 9   1 ref   1 VP adv.  ->  63.3
        H4  800 empl. yellow x3       NPS 10  2 refs  1 VP adv.  ->  57.5
    """
    write_accounts(
        ws,
        [
            account("H1", industry="Healthcare", employees=1000),
            account("H2", industry="Healthcare", employees=500),
            account("H3", industry="Healthcare", employees=1500),
            account("H4", industry="healthcare", employees=800),
            account("H6", industry="HEALTHCARE", employees=1500),
            account("R1", industry="Retail", employees=1000),
        ],
    )
    lime = {"deployment": "lime", "depth": "lime", "breadth": "lime"}
    snapshot(
        ws,
        D,
        {
            "H1": GREEN,
            "H2": {"deployment": "green", "depth": "lime", "breadth": "yellow"},
            "H3": lime,
            "H4": {"deployment": "yellow", "depth": "yellow", "breadth": "yellow"},
            "H6": lime,
            "R1": GREEN,
        },
    )
    write_nps(
        ws, [("N1", days(-10), "H1", 10), ("N2", days(-10), "H2", 9), ("N4", days(-5), "H4", 10)]
    )
    write_users(
        ws,
        [
            user("U11", "H1"),
            user("U12", "H1"),
            user("U13", "H1"),
            user("U21", "H2"),
            user("U22", "H2", "CXO"),
            user("U31", "H3"),
            user("U32", "H3"),
            user("U41", "H4"),
            user("U61", "H6"),
            user("U62", "H6"),
            user("U71", "R1"),
        ],
    )
    write_opportunities(ws, [opportunity()])
    write_references(
        ws,
        [
            ("F1", "H2", "U21", OPP, days(-40), "Call completed"),
            ("F2", "H4", "U41", OPP, days(-40), "Call completed"),
            ("F3", "H4", "U41", OPP, days(-60), "Influenced win"),
        ],
    )
    return ws


def test_known_answer_ranking(ranked_ws: Workspace) -> None:
    """Scores and order match the hand-worked values; the tie breaks by account_id."""
    r = run(ranked_ws, level="VP", employees=(500, 1500))
    assert [(c.account_id, c.score) for c in r.candidates] == [
        ("H1", 100.0),
        ("H3", 75.0),
        ("H6", 75.0),
        ("H2", 63.3),
        ("H4", 57.5),
    ]
    assert [c.rank for c in r.candidates] == [1, 2, 3, 4, 5]
    h2 = next(c for c in r.candidates if c.account_id == "H2")
    assert h2.parts == pytest.approx(
        {"size": 0.5, "health": 0.75, "nps": 0.9, "fatigue": 2 / 3, "advocates": 1 / 3}
    )
    assert h2.references_90d == 1 and h2.last_reference == date.fromisoformat(days(-40))
    assert (r.active, r.matched, r.eligible, r.excluded) == (6, 5, 5, [])


def test_ranking_weights_come_from_the_configuration(ranked_ws: Workspace) -> None:
    """With only the NPS weight, the promoters lead and the accounts without NPS trail."""
    ws = set_config(
        ranked_ws,
        "refs: {weights: {size: 0, health: 0, nps: 1, fatigue: 0, advocates: 0}}",
    )
    r = run(ws, level="VP", employees=(500, 1500))
    assert [(c.account_id, c.score) for c in r.candidates] == [
        ("H1", 100.0),
        ("H4", 100.0),
        ("H2", 90.0),
        ("H3", 50.0),
        ("H6", 50.0),
    ]


def test_without_a_size_target_the_size_part_is_left_out(ranked_ws: Workspace) -> None:
    """No --employees: size is None and the score is the mean of the other four parts."""
    r = run(ranked_ws, level="VP")
    h3 = next(c for c in r.candidates if c.account_id == "H3")
    assert h3.parts["size"] is None
    # (2 * 0.75 + 0.5 + 2 * 1 + 2 / 3) / 6
    assert h3.score == round(100 * (1.5 + 0.5 + 2 + 2 / 3) / 6, 1)


def test_best_contacts_put_advocates_at_the_level_first(ranked_ws: Workspace) -> None:
    """H2's VP advocate comes before its CXO advocate; the row's CSV text names both."""
    r = run(ranked_ws, level="VP")
    h2 = next(c for c in r.candidates if c.account_id == "H2")
    assert [c.user_id for c in h2.contacts] == ["U21", "U22"]
    assert h2.as_dict()["contacts"] == "U21 H2 (U21, VP); U22 H2 (U22, CXO)"


def test_filters_match_in_any_case_and_limit_counts(ranked_ws: Workspace) -> None:
    """--industry hEALTHcare finds the three spellings; --limit keeps the best N."""
    r = run(ranked_ws, industry="hEALTHcare", limit=2)
    assert [c.account_id for c in r.candidates] == ["H1", "H3"]
    assert r.matched == 5 and r.notes == []


def test_shortfall_names_the_filter_that_removed_the_most(ranked_ws: Workspace) -> None:
    """Fewer than --limit: the note names the filter that alone removed most accounts."""
    r = run(ranked_ws, employees=(900, 1100), segment="smb", limit=5)
    assert [c.account_id for c in r.candidates] == ["H1"]
    assert r.removed == {
        "--industry Healthcare": 1,
        "--segment smb": 0,
        "--employees 900-1100": 4,
    }
    assert r.notes[0].startswith(
        "Only 1 of 5 wanted: --employees 900-1100 removed the most (4 of 6 active accounts)"
    )


def test_similar_adds_the_neighbours_from_the_configuration(ranked_ws: Workspace) -> None:
    """--similar widens Retail to Healthcare; without it the note says what --similar adds."""
    ws = set_config(ranked_ws, "refs: {similar_industries: {retail: [Healthcare]}}")
    alone = run(ws, industry="Retail", limit=3)
    assert [c.account_id for c in alone.candidates] == ["R1"]
    assert "--similar also searches Healthcare" in alone.notes
    wide = run(ws, industry="Retail", similar=True, limit=3)
    assert wide.industries == ["Retail", "Healthcare"]
    assert {c.account_id for c in wide.candidates} == {"R1", "H1", "H3"}
    assert any(
        "similar industry healthcare" in x.lower() for c in wide.candidates for x in c.reasons
    )


def test_parse_employees() -> None:
    """MIN-MAX with thousands separators; MIN above MAX or other text is refused."""
    assert parse_employees("500-2000") == (500, 2000)
    assert parse_employees("1,000-5,000") == (1000, 5000)
    for bad in ("500-100", "500", "a-b", "-5-10"):
        with pytest.raises(ValueError):
            parse_employees(bad)


def test_fatigue_window_counts() -> None:
    """The window is the N days ending on the date; later dates (in progress) are inside."""
    d = date(2026, 11, 20)
    dates = [d - timedelta(days=n) for n in (89, 90, 91)] + [d + timedelta(days=3)]
    assert fatigue_counts(dates, d, 90) == (2, d + timedelta(days=3))
    assert fatigue_counts([], d, 90) == (0, None)


# -- every rule, at its boundaries ------------------------------------------------------------

RULE_CASES = {
    # account: (what it has, the verdict)
    "OK": "ok",
    "ORANGE": "healthy_adoption",
    "RED": "healthy_adoption",
    "YELLOW": "ok",
    "NOSNAP": "healthy_adoption",
    "NPS8": "promoter",
    "NPS9": "ok",
    "NPSLATE": "promoter",
    "NPSFUT": "ok",
    "RISK": "no_open_risk_cta",
    "RISKSNZ": "no_open_risk_cta",
    "RISKCLS": "ok",
    "EXPAND": "ok",
    "REN60": "renewal",
    "REN61": "ok",
    "RENPAST": "renewal",
    "F89": "fatigue",
    "F90": "ok",
    "F91": "ok",
    "G29": "fatigue",
    "G30": "ok",
    "G31": "ok",
    "DECL": "ok",
    "FUTURE": "fatigue",
    "CXOONLY": "advocate",
    "NOADV": "advocate",
    "BOTH": "healthy_adoption",
}


@pytest.fixture
def rules_ws(ws: Workspace) -> Workspace:
    """One account per case of RULE_CASES, each with a VP advocate unless the case says not."""
    renewals = {"REN60": days(60), "REN61": days(61), "RENPAST": days(-1)}
    write_accounts(
        ws,
        [
            account(a, industry="Healthcare", renewal_date=renewals.get(a, "2027-06-30"))
            for a in RULE_CASES
        ],
    )
    bands = {a: GREEN for a in RULE_CASES if a != "NOSNAP"}
    bands["ORANGE"] = {**GREEN, "depth": "orange"}
    bands["RED"] = {**GREEN, "breadth": "red"}
    bands["YELLOW"] = {"deployment": "yellow", "depth": "yellow", "breadth": "yellow"}
    bands["BOTH"] = {**GREEN, "deployment": "orange"}
    snapshot(ws, D, bands)
    write_nps(
        ws,
        [
            ("N1", days(-3), "NPS8", 8),
            ("N2", days(-3), "NPS9", 9),
            ("N3", days(-30), "NPSLATE", 10),
            ("N4", days(-2), "NPSLATE", 6),
            ("N5", days(-30), "NPSFUT", 10),
            ("N6", days(2), "NPSFUT", 3),  # after D: not known on D
        ],
    )
    users = [user(f"U-{a}", a) for a in RULE_CASES if a not in ("CXOONLY", "NOADV")]
    users += [user("U-CXOONLY", "CXOONLY", "CXO"), user("U-NOADV", "NOADV", advocate=False)]
    write_users(ws, users)
    write_opportunities(ws, [opportunity()])
    refs = []
    for n, a in ((89, "F89"), (90, "F90"), (91, "F91"), (89, "BOTH")):
        refs += [(f"R{a}{k}", a, f"U-{a}", OPP, days(-k), "Call completed") for k in (40, 50)]
        refs.append((f"R{a}x", a, f"U-{a}", OPP, days(-n), "Call completed"))
    for n, a in ((29, "G29"), (30, "G30"), (31, "G31")):
        refs.append((f"R{a}", a, f"U-{a}", OPP, days(-n), "Call completed"))
    refs += [
        ("RD1", "DECL", "U-DECL", OPP, days(-40), "Call completed"),
        ("RD2", "DECL", "U-DECL", OPP, days(-50), "Call completed"),
        ("RD3", "DECL", "U-DECL", OPP, days(-10), "Declined"),  # not counted
        ("RFUT", "FUTURE", "U-FUTURE", OPP, days(5), "Scheduled"),
    ]
    write_references(ws, refs)
    add_cta(ws, "RISK")
    add_cta(ws, "RISKSNZ", status="snoozed", snoozed_until=date.fromisoformat(days(10)))
    add_cta(ws, "RISKCLS", status="closed")
    add_cta(ws, "EXPAND", type="expansion")
    return ws


def test_each_rule_excludes_at_its_boundary(rules_ws: Workspace) -> None:
    """Every case gets its expected verdict: the first failing rule, or eligible."""
    r = run(rules_ws, level="VP")
    assert verdicts(r) == RULE_CASES


def test_excluded_accounts_carry_the_reason(rules_ws: Workspace) -> None:
    """--explain's reasons say what failed, with the numbers at the boundary."""
    r = run(rules_ws, level="VP")
    why = {e.account_id: e.reason for e in r.excluded}
    assert why["ORANGE"] == "depth orange"
    assert why["NOSNAP"] == "no adoption bands in the latest snapshot"
    assert why["NPSLATE"] == f"latest NPS 6 on {days(-2)} (below 9)"
    assert why["RISK"] == "1 open risk CTA"
    assert why["REN60"] == "renewal in 60 days (within 60)"
    assert why["RENPAST"] == "renewal date passed 1 day ago"
    assert why["F89"] == "3 references in the last 90 days (at most 2)"
    assert why["G29"] == "last reference 29 days ago (at least 30)"
    assert why["FUTURE"] == f"a reference is in progress ({days(5)})"
    assert why["CXOONLY"] == "no advocate at VP level (1 at other levels)"
    assert why["NOADV"] == "no advocate at VP level"
    assert [e.account_id for e in r.excluded] == sorted(e.account_id for e in r.excluded)


def test_without_a_level_any_advocate_will_do(rules_ws: Workspace) -> None:
    """No --level: the CXO-only account is eligible; the one without advocates is not."""
    v = verdicts(run(rules_ws))
    assert v["CXOONLY"] == "ok" and v["NOADV"] == "advocate"


def test_admin_level_is_the_contacts_role(rules_ws: Workspace) -> None:
    """--level Admin asks for an advocate whose role is Admin, at whatever level."""
    write_users(rules_ws, [user("U-ADMIN", "OK", "Manager", role="Admin")])
    v = verdicts(run(rules_ws, level="admin"))
    assert v["OK"] == "ok" and v["G30"] == "advocate"


def test_rules_can_be_switched_off_and_retuned(rules_ws: Workspace) -> None:
    """Disabled rules exclude nothing; the thresholds move the boundaries."""
    ws = set_config(
        rules_ws,
        "refs:\n"
        "  rules:\n"
        "    healthy_adoption: {excluded_bands: [red]}\n"
        "    promoter: {enabled: false}\n"
        "    renewal: {days: 30}\n"
        "    fatigue: {window_days: 91, min_days_since_last: 29}\n",
    )
    v = verdicts(run(ws, level="VP"))
    assert v["ORANGE"] == "ok" and v["RED"] == "healthy_adoption"
    assert v["NPS8"] == "ok" and v["NPSLATE"] == "ok"
    assert v["REN60"] == "ok" and v["RENPAST"] == "renewal"
    assert (v["F90"], v["F91"]) == ("fatigue", "ok")
    assert v["G29"] == "ok"


def test_unknown_feature_is_bad_input(rules_ws: Workspace) -> None:
    """--feature names a feature never seen in usage: exit 1 naming the features."""
    with pytest.raises(InputError, match="no such feature"):
        run(rules_ws, feature="teleport")


def test_feature_keeps_accounts_that_used_it_in_the_window(ranked_ws: Workspace) -> None:
    """--feature keeps accounts with a user who used it (any case) in the breadth window."""
    from cta_data import write_usage

    write_usage(
        ranked_ws,
        [
            (days(-3), "H1", "U11", "workflows"),
            (days(-40), "H3", "U31", "workflows"),
            (days(-2), "H2", "U21", "reports"),
        ],
    )
    r = run(ranked_ws, feature="Workflows", limit=5)
    assert [c.account_id for c in r.candidates] == ["H1"]
    assert r.removed["--feature Workflows"] == 5


def test_shortfall_names_the_rule_when_a_rule_removed_the_most(ranked_ws: Workspace) -> None:
    """--level CXO: the advocate rule excluded 4 of the 5 kept, the industry filter removed 1:
    the note names the advocate rule."""
    r = run(ranked_ws, level="CXO", limit=5)
    assert [c.account_id for c in r.candidates] == ["H2"]
    assert r.removed == {"--industry Healthcare": 1} and r.by_rule() == {"advocate": 4}
    assert r.notes[0] == (
        "Only 1 of 5 wanted: the advocate rule removed the most (4 of the 5 accounts the filters"
        " kept)"
    )


def test_shortfall_says_how_many_accounts_similar_would_add(ranked_ws: Workspace) -> None:
    """Retail alone finds R1; the note counts the five Healthcare accounts --similar adds, and
    with --segment none pass the filters, so it would add none."""
    ws = set_config(ranked_ws, "refs: {similar_industries: {retail: [Healthcare]}}")
    alone = run(ws, industry="Retail", limit=3)
    assert alone.similar_adds == 5
    assert (
        "--similar would add 5 active accounts that pass the filters (the rules still apply)"
        in alone.notes
    )
    narrow = run(ws, industry="Retail", limit=3, employees=(1400, 1600))
    assert narrow.similar_adds == 2  # H3 and H6 have 1,500 employees
    assert "--similar would add 2 active accounts" in " ".join(narrow.notes)


def test_a_neighbour_no_account_has_is_warned_about(ranked_ws: Workspace) -> None:
    """A misspelt neighbour in refs.similar_industries gives a warning naming it and the
    entry; a neighbour the accounts have gives none."""
    ws = set_config(ranked_ws, "refs: {similar_industries: {healthcare: [Helthcare, retail]}}")
    r = run(ws, similar=True, limit=3)
    assert r.warnings == [
        "refs.similar_industries in cstool.yaml lists 'Helthcare' under 'healthcare', and no "
        "active account has that industry (check the spelling)"
    ]
    assert "R1" in {c.account_id for c in r.candidates}
    assert run(ws, limit=3).warnings == []  # enough found without --similar: not consulted
