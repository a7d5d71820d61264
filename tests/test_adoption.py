"""Known-answer tests of the adoption measures, bands, thresholds, snapshots and changes.

Every test builds a tiny workspace from hand-written CSVs and scores it on D = 2024-03-31.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from adoption_data import D, ago, set_metrics, write_csv
from loading import load

from cstool import adoption
from cstool.errors import InputError, UsageError
from cstool.store import adoption as scores_db
from cstool.workspace import Workspace, init_workspace

EARLY = "2024-01-01"

Account = tuple[str, str | None, str | None, int | None]  # id, segment, csm, licenses
User = tuple[str, str, str | None]  # user_id, account_id, activated_at
Usage = tuple[str, str, str, int]  # date, user_id, feature, events
Feature = tuple[str, str, str]  # account_id, feature, enabled


def build(
    tmp_path: Path,
    accounts: Sequence[Account],
    users: Sequence[User],
    usage: Sequence[Usage],
    entitlements: Sequence[Feature] | None = None,
    **metrics: Any,
) -> Workspace:
    """A workspace with these rows loaded through the real CSV loader (``features``: export)."""
    root = tmp_path / "ws"
    init_workspace(root)
    ws = set_metrics(root, **metrics)
    src = tmp_path / "in"
    src.mkdir()
    acct_of = {u[0]: u[1] for u in users}
    files: list[tuple[str, tuple[str, ...], list[Sequence[Any]]]] = [
        (
            "accounts",
            ("account_id", "name", "segment", "csm", "licenses_purchased"),
            [(a, f"{a} Inc", s, c, n) for a, s, c, n in accounts],
        ),
        ("users", ("user_id", "account_id", "activated_at"), list(users)),
    ]
    if entitlements is not None:
        files.append(("features", ("account_id", "feature", "enabled"), list(entitlements)))
    files.append(
        (
            "usage",
            ("date", "account_id", "user_id", "feature", "events"),
            [(d, acct_of[u], u, f, e) for d, u, f, e in usage],
        )
    )
    for kind, header, rows in files:
        load(ws, kind, write_csv(src / f"{kind}.csv", header, rows))
    return ws


def score(ws: Workspace, as_of: date = D) -> dict[str, adoption.ScoreRow]:
    """Score the workspace on ``as_of``; rows by account id."""
    with ws.open_store(write=True) as store:
        run = adoption.score(store, ws.resolved.config, as_of)
    return {r.account_id: r for r in run.rows}


def explain(ws: Workspace, account: str, as_of: date = D) -> adoption.Explanation:
    """The explanation of one account on ``as_of``."""
    with ws.open_store() as store:
        return adoption.explain(store, ws.resolved.config, account, as_of)


def calibrate(ws: Workspace, as_of: date = D, apply: bool = False) -> adoption.Calibration:
    """Calibrate on ``as_of``, storing the cut points when ``apply``."""
    with ws.open_store(write=True) as store:
        return adoption.calibrate(store, ws.resolved.config, as_of, apply=apply)


def quintiles(values: Sequence[float]) -> tuple[float, ...]:
    """The reference cut points: numpy's linear-interpolation percentiles."""
    return tuple(float(x) for x in np.quantile(values, [0.2, 0.4, 0.6, 0.8], method="linear"))


# -- deployment ----------------------------------------------------------------------------
def test_deployment_is_activated_users_over_licenses(tmp_path: Path) -> None:
    """One activated user of four licenses is 25% deployment."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 4)],
        [("a1", "A", EARLY), ("a2", "A", None)],
        [(ago(0), "a1", "reports", 1)],
    )
    assert score(ws)["A"].deployment == 0.25


def test_deployment_is_capped_at_one(tmp_path: Path) -> None:
    """Three activated users on two licenses is deployment 1, not 1.5."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 2)],
        [("a1", "A", EARLY), ("a2", "A", EARLY), ("a3", "A", EARLY)],
        [(ago(0), "a1", "reports", 1)],
    )
    assert score(ws)["A"].deployment == 1.0
    assert explain(ws, "A").activated == 3


@pytest.mark.parametrize("licenses", [0, None], ids=["zero", "missing"])
def test_deployment_is_missing_without_licenses(tmp_path: Path, licenses: int | None) -> None:
    """0 or no licenses_purchased leaves deployment and its band missing; depth still counts."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", licenses), ("B", "SMB", "Bob", 2)],
        [("a1", "A", EARLY), ("b1", "B", EARLY)],
        [(ago(0), "a1", "reports", 1)],
    )
    row = score(ws)["A"]
    assert (row.deployment, row.deployment_band) == (None, None)
    assert row.depth == 1.0
    assert explain(ws, "A").licenses is None


# -- activation ----------------------------------------------------------------------------
def test_depth_is_missing_without_activated_users(tmp_path: Path) -> None:
    """An account whose users are not activated has no depth, and deployment 0 is red."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 2), ("B", "SMB", "Bob", 2)],
        [("a1", "A", None), ("b1", "B", EARLY)],
        [(ago(0), "b1", "reports", 1)],
    )
    row = score(ws)["A"]
    assert (row.depth, row.depth_band) == (None, None)
    assert (row.deployment, row.deployment_band) == (0.0, "red")


def test_zero_event_rows_are_not_activity(tmp_path: Path) -> None:
    """Rows with events = 0 count neither for depth, breadth nor activation from usage."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 2), ("B", "SMB", "Bob", 2)],
        [("a1", "A", EARLY), ("b1", "B", None), ("b2", "B", EARLY)],
        [
            (ago(1), "a1", "reports", 0),
            (ago(2), "b1", "reports", 0),
            (ago(3), "b1", "dash", 0),
            (ago(0), "b2", "dash", 1),
        ],
    )
    rows = score(ws)
    assert (rows["A"].depth, rows["A"].breadth) == (0.0, 0.0)
    # b1's only usage has events = 0, so b1 is not activated: B has 1 activated user.
    assert rows["B"].deployment == 0.5
    assert rows["B"].depth == 1.0
    a = explain(ws, "A")
    assert (a.activated, a.active, a.features_used) == (1, 0, [])
    assert sorted(a.features_unused) == ["dash", "reports"]
    assert explain(ws, "B").activated == 1


def test_user_activated_after_d_is_not_counted_even_if_active(tmp_path: Path) -> None:
    """A user with activated_at after D counts neither as activated nor as active on D."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 2)],
        [("a1", "A", EARLY), ("a2", "A", ago(-1))],
        [(ago(0), "a2", "reports", 1), (ago(20), "a1", "reports", 1)],
    )
    row = score(ws)["A"]
    assert row.deployment == 0.5
    assert row.depth == 0.0
    e = explain(ws, "A")
    assert (e.activated, e.active) == (1, 0)


def test_activated_at_wins_over_earlier_usage(tmp_path: Path) -> None:
    """A user active before their activated_at is not activated until that date."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1)],
        [("a1", "A", ago(2))],
        [(ago(5), "a1", "reports", 1)],
    )
    assert explain(ws, "A", D - timedelta(days=3)).activated == 0
    assert explain(ws, "A", D - timedelta(days=2)).activated == 1


def test_user_without_activated_at_is_activated_by_first_usage_on_or_before_d(
    tmp_path: Path,
) -> None:
    """No activated_at: activated from the first day with events > 0, never by later usage."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 4)],
        [("a1", "A", None), ("a2", "A", None)],
        [(ago(3), "a1", "reports", 2), (ago(-1), "a2", "reports", 1)],
    )
    assert explain(ws, "A", D - timedelta(days=4)).activated == 0
    assert explain(ws, "A", D - timedelta(days=3)).activated == 1
    assert explain(ws, "A", D).activated == 1  # a2's first usage is after D
    assert explain(ws, "A", D + timedelta(days=1)).activated == 2
    assert score(ws)["A"].deployment == 0.25


def test_user_whose_usage_is_reloaded_with_zero_events_is_not_activated(tmp_path: Path) -> None:
    """Reloading a user's only active row with events = 0 un-activates them."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 2)],
        [("a1", "A", None), ("a2", "A", EARLY)],
        [(ago(1), "a1", "reports", 3), (ago(1), "a2", "reports", 1)],
    )
    fix = write_csv(
        tmp_path / "usage_fix.csv",
        ("date", "account_id", "user_id", "feature", "events"),
        [(ago(1), "A", "a1", "reports", 0)],
    )
    load(ws, "usage", fix)
    assert explain(ws, "A").activated == 1


# -- windows -------------------------------------------------------------------------------
def test_depth_window_includes_d_minus_6_and_excludes_d_minus_7(tmp_path: Path) -> None:
    """With the default 7-day window, activity on D-6 and D counts; D-7 and D+1 do not."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Ann", 1), ("C", "SMB", "Ann", 1)]
        + [("E", "SMB", "Ann", 1)],
        [("a1", "A", EARLY), ("b1", "B", EARLY), ("c1", "C", EARLY), ("e1", "E", EARLY)],
        [
            (ago(6), "a1", "reports", 1),
            (ago(7), "b1", "reports", 1),
            (ago(0), "c1", "reports", 1),
            (ago(-1), "e1", "reports", 1),
        ],
    )
    rows = score(ws)
    assert [rows[a].depth for a in "ABCE"] == [1.0, 0.0, 1.0, 0.0]
    assert explain(ws, "A").depth_window == (D - timedelta(days=6), D)


def test_breadth_window_includes_d_minus_27_and_excludes_d_minus_28(tmp_path: Path) -> None:
    """With the default 28-day breadth window, a feature used on D-27 counts, on D-28 not."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1)],
        [("a1", "A", EARLY)],
        [(ago(27), "a1", "reports", 1), (ago(28), "a1", "dash", 1)],
        features=["reports", "dash"],
    )
    assert score(ws)["A"].breadth == 0.5
    e = explain(ws, "A")
    assert (e.features_used, e.features_unused) == (["reports"], ["dash"])
    assert e.breadth_window == (D - timedelta(days=27), D)


@pytest.mark.parametrize(("window", "depth"), [(1, 0.25), (7, 0.5), (28, 0.75)])
def test_depth_window_days_setting(tmp_path: Path, window: int, depth: float) -> None:
    """depth_window_days 1 is daily depth, 28 monthly: users active on D, D-1, D-27, D-28."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 4)],
        [("a1", "A", EARLY), ("a2", "A", EARLY), ("a3", "A", EARLY), ("a4", "A", EARLY)],
        [
            (ago(0), "a1", "reports", 1),
            (ago(1), "a2", "reports", 1),
            (ago(27), "a3", "reports", 1),
            (ago(28), "a4", "reports", 1),
        ],
        depth_window_days=window,
    )
    assert score(ws)["A"].depth == depth
    assert explain(ws, "A").depth_window == (D - timedelta(days=window - 1), D)


# -- breadth -------------------------------------------------------------------------------
@pytest.mark.parametrize(("min_users", "breadth"), [(1, 2 / 3), (2, 1 / 3)])
def test_breadth_min_users(tmp_path: Path, min_users: int, breadth: float) -> None:
    """breadth_min_users counts distinct users with events > 0, not rows."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 3)],
        [("a1", "A", EARLY), ("a2", "A", EARLY), ("a3", "A", EARLY)],
        [
            (ago(1), "a1", "reports", 1),
            (ago(2), "a2", "reports", 4),
            (ago(1), "a1", "dash", 1),
            (ago(2), "a1", "dash", 1),
            (ago(3), "a3", "dash", 0),
        ],
        features=["reports", "dash", "alerts"],
        breadth_min_users=min_users,
    )
    assert score(ws)["A"].breadth == pytest.approx(breadth)


def test_feature_weights_make_breadth_a_weighted_share(tmp_path: Path) -> None:
    """With {workflows: 2}, using workflows alone is 2/4 and reports alone 1/4."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Ann", 1), ("C", "SMB", "Ann", 1)],
        [("a1", "A", EARLY), ("b1", "B", EARLY), ("c1", "C", EARLY)],
        [
            (ago(0), "a1", "workflows", 1),
            (ago(0), "b1", "reports", 1),
            (ago(0), "b1", "dash", 1),
            (ago(0), "c1", "reports", 1),
        ],
        features=["reports", "workflows", "dash"],
        feature_weights={"workflows": 2},
    )
    rows = score(ws)
    assert [rows[a].breadth for a in "ABC"] == [0.5, 0.5, 0.25]


def test_enabled_features_come_from_export_then_catalogue(tmp_path: Path) -> None:
    """An account's enabled rows in the features export win; without rows, the catalogue."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Ann", 1)],
        [("a1", "A", EARLY), ("b1", "B", EARLY)],
        [
            (ago(0), "a1", "reports", 1),
            (ago(0), "a1", "dash", 1),
            (ago(0), "b1", "reports", 1),
        ],
        entitlements=[("A", "reports", "true"), ("A", "workflows", "yes"), ("A", "dash", "false")],
        features=["reports", "dash", "alerts"],
    )
    rows = score(ws)
    # A: enabled reports + workflows (dash is disabled, so using it does not count).
    assert rows["A"].breadth == 0.5
    a = explain(ws, "A")
    assert (a.enabled_source, a.features_used, a.features_unused) == (
        "features export",
        ["reports"],
        ["workflows"],
    )
    # B has no rows in the export: the catalogue's three features.
    assert rows["B"].breadth == pytest.approx(1 / 3)
    b = explain(ws, "B")
    assert b.enabled_source == "catalogue"
    assert sorted(b.features_used + b.features_unused) == ["alerts", "dash", "reports"]


def test_enabled_features_fall_back_to_every_feature_seen_in_usage(tmp_path: Path) -> None:
    """Without export rows or a catalogue, every feature seen in usage is enabled."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Ann", 1)],
        [("a1", "A", EARLY), ("b1", "B", EARLY)],
        [(ago(0), "a1", "reports", 1), (ago(40), "b1", "dash", 1)],
    )
    rows = score(ws)
    assert (rows["A"].breadth, rows["B"].breadth) == (0.5, 0.0)
    a = explain(ws, "A")
    assert (a.enabled_source, a.features_used, a.features_unused) == (
        "usage",
        ["reports"],
        ["dash"],
    )


def test_account_with_every_exported_feature_disabled_has_no_breadth(tmp_path: Path) -> None:
    """Export rows that all say disabled mean no enabled features: breadth is missing."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Ann", 1)],
        [("a1", "A", EARLY), ("b1", "B", EARLY)],
        [(ago(0), "a1", "reports", 1), (ago(0), "b1", "reports", 1)],
        entitlements=[("A", "reports", "false")],
        features=["reports"],
    )
    rows = score(ws)
    assert (rows["A"].breadth, rows["A"].breadth_band) == (None, None)
    assert rows["B"].breadth == 1.0
    assert explain(ws, "A").enabled_source == "features export"


# -- bands and thresholds ------------------------------------------------------------------
def _segment_fallback_ws(tmp_path: Path) -> Workspace:
    """ENT: 10 accounts with deployment 1/1 .. 1/10; SMB: 2 accounts at 1 and 0.25."""
    accounts: list[Account] = [(f"E{n:02d}", "ENT", "Ann", n) for n in range(1, 11)]
    accounts += [("S1", "SMB", "Bob", 1), ("S2", "SMB", "Bob", 4)]
    users: list[User] = [(f"u{a}", a, EARLY) for a, *_ in accounts]
    usage: list[Usage] = [(ago(0), f"u{a}", "reports", 1) for a, *_ in accounts]
    return build(tmp_path, accounts, users, usage)


def test_small_segment_uses_all_accounts_cut_points(tmp_path: Path) -> None:
    """SMB has 2 < 10 accounts: its bands use the cut points over all 12 accounts."""
    ws = _segment_fallback_ws(tmp_path)
    ent = [1 / n for n in range(1, 11)]
    everyone = [*ent, 1.0, 0.25]
    rows = score(ws)
    e = explain(ws, "S2")
    dep = next(m for m in e.measures if m.measure == "deployment")
    assert dep.cuts is not None
    assert (dep.cuts.segment, dep.cuts.source) == ("*", "fallback (all accounts)")
    assert dep.cuts.cuts == pytest.approx(quintiles(everyone))
    assert dep.cuts.n == 12
    # Over all accounts 0.25 is lime; over SMB alone (0.25, 1) it would have been red.
    assert adoption.band_of(0.25, quintiles([0.25, 1.0])) == "red"
    assert rows["S2"].deployment_band == dep.band == "lime"
    own = next(m for m in explain(ws, "E05").measures if m.measure == "deployment")
    assert own.cuts is not None
    assert (own.cuts.segment, own.cuts.source) == ("ENT", "calibrated")
    assert own.cuts.cuts == pytest.approx(quintiles(ent))
    with ws.open_store() as store:
        stored = {(s, m) for s, m, *_ in scores_db.load_thresholds(store.db)}
    assert ("ENT", "deployment") in stored
    assert ("*", "deployment") in stored
    assert not any(s == "SMB" for s, _ in stored)


def test_segment_field_may_name_an_extra_accounts_column(tmp_path: Path) -> None:
    """segment_field: tier segments by the accounts export's extra "tier" column."""
    ws = _segment_fallback_ws(tmp_path)
    tiers = [(f"E{n:02d}", f"E{n:02d} Inc", "gold" if n <= 5 else "") for n in range(1, 11)]
    tiers += [("S1", "S1 Inc", "gold"), ("S2", "S2 Inc", "silver")]
    load(ws, "accounts", write_csv(tmp_path / "tiers.csv", ("account_id", "name", "tier"), tiers))
    ws = set_metrics(ws.root, segment_field="tier", min_segment_size=6)
    rows = score(ws)
    assert [rows[a].segment for a in ("E01", "E06", "S1", "S2")] == [
        "gold",
        None,  # no tier: data says None; only tables say "(none)"
        "gold",
        "silver",
    ]
    gold = [1 / n for n in range(1, 6)] + [1.0]
    dep = next(m for m in explain(ws, "E05").measures if m.measure == "deployment")
    assert dep.cuts is not None
    assert (dep.cuts.segment, dep.cuts.n) == ("gold", 6)
    assert dep.cuts.cuts == pytest.approx(quintiles(gold))
    assert adoption.filter_rows(list(rows.values()), segment="silver")[0].account_id == "S2"


def test_min_segment_size_setting_gives_a_small_segment_its_own_cut_points(
    tmp_path: Path,
) -> None:
    """With min_segment_size 2, SMB's two accounts are calibrated on their own."""
    ws = _segment_fallback_ws(tmp_path)
    ws = set_metrics(ws.root, min_segment_size=2)
    assert score(ws)["S2"].deployment_band == "red"
    dep = next(m for m in explain(ws, "S2").measures if m.measure == "deployment")
    assert dep.cuts is not None
    assert (dep.cuts.segment, dep.cuts.source) == ("SMB", "calibrated")


def _collapsed_ws(tmp_path: Path) -> Workspace:
    """25 SMB accounts of 4 users: 12 with depth 0, then 3x .25, 3x .5, 3x .75, 4x 1."""
    actives = [0] * 12 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 4
    accounts: list[Account] = []
    users: list[User] = []
    usage: list[Usage] = []
    for i, k in enumerate(actives):
        a = f"S{i:02d}"
        accounts.append((a, "SMB", "Ann", 4 + i))
        for j in range(4):
            users.append((f"{a}u{j}", a, EARLY))
            usage.append((ago(0 if j < k else 10), f"{a}u{j}", "reports", 1))
    return build(tmp_path, accounts, users, usage)


def test_collapsed_cut_points_warn_that_red_absorbs_orange_and_yellow(tmp_path: Path) -> None:
    """48% of SMB accounts at depth 0 collapse c20 = c40 = 0, which the calibration says."""
    ws = _collapsed_ws(tmp_path)
    cal = calibrate(ws)
    depth = next(c for c in cal.proposed if (c.segment, c.measure) == ("SMB", "depth"))
    assert depth.cuts == pytest.approx((0.0, 0.0, 0.35, 0.75))
    assert "SMB depth: 48% of accounts are at 0; red absorbs orange and yellow" in cal.warnings
    assert not any(w.startswith("SMB deployment") for w in cal.warnings)
    after = cal.counts_after[("SMB", "depth")]
    assert (after["red"], after["orange"], after["yellow"]) == (12, 0, 3)
    assert not cal.applied
    with ws.open_store() as store:
        assert scores_db.load_thresholds(store.db) == []


def test_collapse_warning_names_every_absorbed_band(tmp_path: Path) -> None:
    """With c20 = c40 = c60 = 0 red absorbs orange, yellow and lime."""
    accounts: list[Account] = [(f"A{i}", "SMB", "Ann", 1) for i in range(5)]
    users: list[User] = [(f"u{i}", f"A{i}", EARLY) for i in range(5)]
    usage: list[Usage] = [(ago(0 if i == 4 else 10), f"u{i}", "reports", 1) for i in range(5)]
    ws = build(tmp_path, accounts, users, usage)
    cal = calibrate(ws)
    assert "all accounts depth: 80% of accounts are at 0; red absorbs orange, yellow and lime" in (
        cal.warnings
    )
    # Every account has deployment 1: the cut points collapse at 100% without any zero.
    assert (
        "all accounts deployment: cut points collapse at 100.0%; orange, yellow and lime are "
        "empty" in cal.warnings
    )
    assert not any("deployment" in w and "at 0" in w for w in cal.warnings)


def test_zero_is_red_even_when_c20_is_zero(tmp_path: Path) -> None:
    """Accounts at depth 0 are red although the calibrated c20 (and c40) is 0."""
    ws = _collapsed_ws(tmp_path)
    rows = score(ws)
    assert {r.depth_band for r in rows.values() if r.depth == 0} == {"red"}
    assert {r.depth_band for r in rows.values() if r.depth == 0.25} == {"yellow"}
    assert adoption.band_of(0.0, (0.0, 0.0, 0.0, 0.0)) == "red"
    assert adoption.band_of(1e-9, (0.0, 0.0, 0.0, 0.0)) == "green"


def test_overrides_in_config_win_over_calibrated_cut_points(tmp_path: Path) -> None:
    """metrics.overrides for a segment and measure replace the stored cut points."""
    ws = _segment_fallback_ws(tmp_path)
    calibrate(ws, apply=True)
    before = score(ws)
    assert [before[a].deployment_band for a in ("E02", "E03", "E06")] == [
        "green",
        "lime",
        "yellow",
    ]
    ws = set_metrics(ws.root, overrides={"ENT": {"deployment": [0.2, 0.4, 0.6, 0.8]}})
    with ws.open_store() as store:
        th = adoption.load_thresholds(store, ws.resolved.config.metrics)
    applied = th.applied("ENT", "deployment")
    assert applied is not None
    assert (applied.source, applied.cuts) == ("override", (0.2, 0.4, 0.6, 0.8))
    calibrated = th.applied("ENT", "depth")
    assert calibrated is not None and calibrated.source == "calibrated"
    rows = score(ws)
    assert [rows[a].deployment_band for a in ("E01", "E02", "E03", "E05", "E06")] == [
        "green",
        "yellow",
        "orange",
        "orange",
        "red",
    ]
    # SMB has no override: it keeps the stored all-accounts cut points.
    assert rows["S2"].deployment_band == before["S2"].deployment_band == "lime"
    dep = next(m for m in explain(ws, "E02").measures if m.measure == "deployment")
    assert dep.cuts is not None
    assert (dep.band, dep.cuts.source) == ("yellow", "override")


def test_score_calibrates_and_stores_thresholds_only_when_none_exist(tmp_path: Path) -> None:
    """The first score calibrates on its date and says so; later scores reuse the cut points."""
    ws = _segment_fallback_ws(tmp_path)
    with ws.open_store(write=True) as store:
        first = adoption.score(store, ws.resolved.config, D)
        stored = scores_db.load_thresholds(store.db)
        second = adoption.score(store, ws.resolved.config, D + timedelta(days=1))
        assert scores_db.load_thresholds(store.db) == stored
    assert (first.calibrated_now, second.calibrated_now) == (True, False)
    assert {t[-1] for t in stored} == {D.isoformat()}


def test_explain_before_any_score_stores_no_thresholds(tmp_path: Path) -> None:
    """explain reads: with no stored cut points it shows proposed ones without storing them."""
    ws = _segment_fallback_ws(tmp_path)
    e = explain(ws, "E01")
    dep = next(m for m in e.measures if m.measure == "deployment")
    assert dep.cuts is not None and dep.cuts.source == "proposed"
    assert dep.band == "green"
    with ws.open_store() as store:
        assert scores_db.load_thresholds(store.db) == []


def test_recheck_warning_when_thresholds_are_older_than_recheck_days(tmp_path: Path) -> None:
    """Cut points calibrated more than recheck_days before the score date are flagged."""
    ws = _segment_fallback_ws(tmp_path)
    ws = set_metrics(ws.root, recheck_days=7)
    calibrate(ws, D - timedelta(days=8), apply=True)
    with ws.open_store(write=True) as store:
        on_time = adoption.score(store, ws.resolved.config, D - timedelta(days=1))
        late = adoption.score(store, ws.resolved.config, D)
    assert on_time.warnings == []
    assert late.warnings == [
        "thresholds were calibrated on 2024-03-23, 8 days before 2024-03-31; recheck them "
        "with `cstool thresholds calibrate`"
    ]


# -- snapshots, backfill, filters, changes -------------------------------------------------
def test_rescoring_a_date_replaces_its_snapshot_with_the_same_rows(tmp_path: Path) -> None:
    """Scoring D twice leaves one identical snapshot of D."""
    ws = _segment_fallback_ws(tmp_path)
    score(ws)
    with ws.open_store() as store:
        first = scores_db.snapshot(store.db, D.isoformat())
    score(ws)
    with ws.open_store() as store:
        assert scores_db.snapshot(store.db, D.isoformat()) == first
        assert scores_db.snapshot_dates(store.db) == [D.isoformat()]
    assert len(first) == 12
    assert first[0]["account_id"] == "E01"


def test_backfill_matches_scoring_each_date(tmp_path: Path) -> None:
    """Backfill stores D, D-7, D-14 and its snapshot of D equals a plain score of D."""
    ws = _segment_fallback_ws(tmp_path)
    calibrate(ws, apply=True)
    with ws.open_store(write=True) as store:
        result = adoption.backfill(store, ws.resolved.config, D - timedelta(days=16), D, 7)
        filled = scores_db.snapshot(store.db, D.isoformat())
        dates = scores_db.snapshot_dates(store.db)
    assert result.dates == [D - timedelta(days=14), D - timedelta(days=7), D]
    assert dates == [ago(14), ago(7), ago(0)]
    assert result.calibrated_now is False
    score(ws)
    with ws.open_store() as store:
        assert scores_db.snapshot(store.db, D.isoformat()) == filled


def test_filter_rows_sorts_missing_values_and_bands_last(tmp_path: Path) -> None:
    """Sorting by a measure or a band puts worst first (best with -) and missing last."""
    ws = build(
        tmp_path,
        [("A", "SMB", "Ann", 1), ("B", "SMB", "Bob", None), ("C", "ENT", "Ann", 2)],
        [("a1", "A", EARLY), ("b1", "B", EARLY), ("c1", "C", EARLY)],
        [(ago(0), "a1", "reports", 1)],
    )
    rows = list(score(ws).values())
    by_value = adoption.filter_rows(rows, sort="deployment")
    by_band = adoption.filter_rows(rows, sort="deployment_band")
    assert [r.account_id for r in by_value] == ["C", "A", "B"]
    assert [r.account_id for r in by_band] == ["C", "A", "B"]
    assert [r.account_id for r in adoption.filter_rows(rows, csm="Ann", sort="name")] == ["A", "C"]
    assert [r.account_id for r in adoption.filter_rows(rows, bands=["red"])] == ["B", "C"]
    # Any case; "-column" sorts descending with missing values still last.
    assert [r.account_id for r in adoption.filter_rows(rows, bands=["RED"])] == ["B", "C"]
    assert [r.account_id for r in adoption.filter_rows(rows, segment="smb")] == ["A", "B"]
    assert [r.account_id for r in adoption.filter_rows(rows, csm=" ann ")] == ["A", "C"]
    assert [r.account_id for r in adoption.filter_rows(rows, sort="-deployment")] == ["A", "C", "B"]
    assert [r.account_id for r in adoption.filter_rows(rows, sort="-Deployment_Band")] == [
        "A",
        "C",
        "B",
    ]
    with pytest.raises(UsageError, match="unknown band 'blue'"):
        adoption.filter_rows(rows, bands=["blue"])
    with pytest.raises(UsageError, match="cannot sort by 'arr'"):
        adoption.filter_rows(rows, sort="arr")


def test_changes_without_an_older_snapshot_hints_at_backfill(tmp_path: Path) -> None:
    """changes needs a snapshot a week before; the hint gives the backfill command."""
    ws = _segment_fallback_ws(tmp_path)
    score(ws)
    with ws.open_store() as store, pytest.raises(InputError) as caught:
        adoption.changes(store, D)
    assert caught.value.message == (
        "there is no snapshot on or before 2024-03-24 to compare 2024-03-31 with"
    )
    assert caught.value.hint == (
        "build history with `cstool score backfill --from 2024-03-17 --to 2024-03-31`"
    )
