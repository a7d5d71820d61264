"""Adoption measures (deployment, depth, breadth), quintile bands, snapshots and changes.

For an account on date D:

* activated users: users whose ``activated_at`` is on or before D; a user with no
  ``activated_at`` counts as activated from their first day of usage (events > 0).
* deployment = min(1, activated users / licenses_purchased); missing without licenses.
* depth = activated users with events > 0 in the depth window / activated users.
* breadth = (weighted) share of the enabled features that at least ``breadth_min_users``
  distinct users used with events > 0 in the breadth window.

The windows end on D and include it. Work is shared between dates: the active usage of the
whole span is read once into arrays grouped by day, so each date's windows are slices and each
date is a few array operations over its own rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cstool.bands import BAND_RANK, BANDS
from cstool.config import MEASURES, Config, MetricsConfig
from cstool.errors import InputError, NotFoundError, UsageError
from cstool.schemas import SCORE_COLUMNS
from cstool.store import Store, day_date, day_number, exports
from cstool.store import adoption as scores_db
from cstool.store import rollups as rollups_db
from cstool.store import usage as usage_db

ALL_SEGMENTS = "*"
# The key of accounts without a segment in the thresholds table; data out says None.
NO_SEGMENT = "(none)"


def segment_out(key: str) -> str | None:
    """A segment key as data: the accounts without a segment have None."""
    return None if key == NO_SEGMENT else key


# -- bands ---------------------------------------------------------------------------------
def band_of(value: float | None, cuts: Sequence[float]) -> str | None:
    """The band of ``value`` given cut points c20 <= c40 <= c60 <= c80; 0 is always red."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value == 0:
        return "red"
    c20, c40, c60, c80 = cuts
    if value >= c80:
        return "green"
    if value >= c60:
        return "lime"
    if value >= c40:
        return "yellow"
    if value >= c20:
        return "orange"
    return "red"


def cut_points(values: Sequence[float]) -> tuple[float, float, float, float]:
    """20th/40th/60th/80th percentiles with linear interpolation (numpy's default)."""
    import numpy as np

    q = np.quantile(np.asarray(values, dtype=float), [0.2, 0.4, 0.6, 0.8])
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


@dataclass(frozen=True)
class Cuts:
    """Cut points of one segment and measure, and where they come from."""

    segment: str
    measure: str
    cuts: tuple[float, float, float, float]
    n: int
    as_of: str
    source: str  # "calibrated", "fallback (all accounts)", "override", "proposed"


@dataclass
class Thresholds:
    """Stored cut points plus config overrides; answers "which cuts apply to this segment"."""

    stored: dict[tuple[str, str], Cuts]
    overrides: dict[str, dict[str, tuple[float, float, float, float]]]

    @property
    def as_of(self) -> str | None:
        return min((c.as_of for c in self.stored.values()), default=None)

    def applied(self, segment: str, measure: str) -> Cuts | None:
        """Override > the segment's calibrated cuts > the all-accounts fallback."""
        over = self.overrides.get(segment, {}).get(measure)
        if over is not None:
            return Cuts(segment, measure, over, 0, "", "override")
        own = self.stored.get((segment, measure))
        if own is not None:
            return own
        fb = self.stored.get((ALL_SEGMENTS, measure))
        if fb is None:
            return None
        return Cuts(ALL_SEGMENTS, measure, fb.cuts, fb.n, fb.as_of, "fallback (all accounts)")


THRESHOLD_COLUMNS = (
    "segment",
    "measure",
    "c20",
    "c40",
    "c60",
    "c80",
    "n",
    "calibrated_on",
    "applies",
)


def fallback_note(metrics: MetricsConfig) -> str:
    """What the all-accounts cut points are for, said once under a table that lists them."""
    n = metrics.min_segment_size
    return f"all accounts: used for segments under {n} accounts (metrics.min_segment_size)"


def set_order(segment: str, measure: str) -> tuple[int, str, int]:
    """How sets of cut points are listed: all accounts first, then segments by name (accounts
    without a segment last), each with its measures in the order deployment, depth, breadth."""
    rank = 0 if segment == ALL_SEGMENTS else 2 if segment == NO_SEGMENT else 1
    known = measure in MEASURES
    return (rank, segment, MEASURES.index(measure) if known else len(MEASURES))


def threshold_rows(th: Thresholds) -> list[dict[str, Any]]:
    """The stored cut points and the overrides of cstool.yaml, saying which applies.

    Rows are in :func:`set_order`, an override right after the stored set it replaces
    (which reads "overridden").
    """
    keyed: list[tuple[Any, dict[str, Any]]] = []
    for (seg, m), c in th.stored.items():
        applies = "overridden" if m in th.overrides.get(seg, {}) else "calibrated"
        values = (segment_out(seg), m, *c.cuts, c.n, c.as_of, applies)
        keyed.append(((set_order(seg, m), 0), dict(zip(THRESHOLD_COLUMNS, values, strict=True))))
    for seg, per in th.overrides.items():
        for m, cuts in per.items():
            over = (seg, m, *cuts, None, None, "override (cstool.yaml)")
            keyed.append(((set_order(seg, m), 1), dict(zip(THRESHOLD_COLUMNS, over, strict=True))))
    return [row for _, row in sorted(keyed, key=lambda kr: kr[0])]


def load_thresholds(store: Store, metrics: MetricsConfig) -> Thresholds:
    stored = {
        (seg, m): Cuts(
            seg,
            m,
            (c20, c40, c60, c80),
            n,
            as_of,
            "calibrated" if seg != ALL_SEGMENTS else "all accounts",
        )
        for seg, m, c20, c40, c60, c80, n, as_of in scores_db.load_thresholds(store.db)
    }
    return Thresholds(stored, {s: dict(v) for s, v in metrics.overrides.items()})


# -- measures ------------------------------------------------------------------------------
@dataclass
class Universe:
    """Everything about accounts, users and features that does not depend on the date."""

    account_ids: list[str]
    names: list[str]
    segments: list[str]
    csms: list[str | None]
    licenses: Any  # float array, NaN when missing or 0
    user_acct: Any  # int array by uid: account index, -1 for users of inactive accounts
    user_activated: Any  # int array by uid: day activated (activated_at or first usage)
    enabled: Any  # bool [accounts x features]
    weights: Any  # float [features]
    feature_names: list[str]
    enabled_source: list[str]
    fid_col: Any  # int array by fid: column in the enabled/used matrices
    # The users whose usage to read when the universe is one account; None: everyone.
    only_uids: Any = None


_NEVER = 1 << 40


def universe(
    store: Store,
    metrics: MetricsConfig,
    account_id: str | None = None,
    *,
    active_only: bool = True,
) -> Universe:
    """Read accounts, users and feature entitlements once.

    With ``account_id``, the universe is that one active account (empty if it is not one),
    and reading its usage touches only its users' rows: the measures of one account in
    milliseconds, by the same arithmetic as every account's. ``active_only=False`` takes
    the inactive accounts too (a rollup counts every account's users).
    """
    import numpy as np

    accts = exports.active_accounts(
        store.db, metrics.segment_field, account_id, active_only=active_only
    )
    index = {a[0]: i for i, a in enumerate(accts)}
    licenses = np.array([float(a[4]) if a[4] else np.nan for a in accts], dtype=float)
    by_account = list(usage_db.users_by_account(store.db, _NEVER, account_id))
    size = max((int(uids.max()) + 1 for _, uids, _ in by_account if len(uids)), default=1)
    user_acct = np.full(size, -1, dtype=np.int64)
    activated = np.full(size, _NEVER, dtype=np.int64)
    for aid, uids, days in by_account:
        user_acct[uids] = index.get(aid, -1)
        activated[uids] = days
    catalogue = usage_db.feature_catalogue(store.db)
    exported: dict[int, list[str]] = {}
    for aid, feature, on in exports.enabled_features(store.db, account_id):
        i = index.get(aid)
        if i is not None:
            exported.setdefault(i, [])
            if on is None or on:
                exported[i].append(feature)
    names = list(
        dict.fromkeys(
            [n for _, n in catalogue]
            + list(metrics.features)
            + sorted({f for fs in exported.values() for f in fs})
        )
    )
    fcol = {n: i for i, n in enumerate(names)}
    fid_col = np.full(max((f for f, _ in catalogue), default=0) + 1, -1, dtype=np.int64)
    for fid, n in catalogue:
        fid_col[fid] = fcol[n]
    # Enabled features: the account's rows in the features export, else the catalogue in
    # cstool.yaml, else every feature seen in usage.
    enabled = np.zeros((len(accts), len(names)), dtype=bool)
    source = ["usage"] * len(accts)
    catalogue_cols = [fcol[f] for f in metrics.features]
    for i in range(len(accts)):
        if i in exported:
            enabled[i, [fcol[f] for f in exported[i]]] = True
            source[i] = "features export"
        elif catalogue_cols:
            enabled[i, catalogue_cols] = True
            source[i] = "catalogue"
        else:
            enabled[i, [fcol[n] for _, n in catalogue]] = True
    weights = np.array([metrics.feature_weights.get(n, 1.0) for n in names], dtype=float)
    return Universe(
        account_ids=[a[0] for a in accts],
        names=[a[1] for a in accts],
        segments=[str(a[2]) if a[2] not in (None, "") else NO_SEGMENT for a in accts],
        csms=[a[3] for a in accts],
        licenses=licenses,
        user_acct=user_acct,
        user_activated=activated,
        enabled=enabled,
        weights=weights,
        feature_names=names,
        enabled_source=source,
        fid_col=fid_col,
        only_uids=(
            None
            if account_id is None
            else sorted(int(x) for _, uids, _ in by_account for x in uids.tolist())
        ),
    )


@dataclass
class Statistics:
    """The sufficient statistics of every account on one date: all the measures need from
    usage. Every engine rolls up exactly these (see :mod:`cstool.engines`).

    Arrays are aligned to a :class:`Universe`: accounts by index, features by column.
    Counting distinct users per feature costs more than seeing whether anyone used it, so
    the counts are made when first asked for (explain, the 360, ``breadth_min_users`` > 1).
    """

    as_of: date
    activated: Any  # int [accounts]: users activated on or before as_of
    active: Any  # int [accounts]: activated users with events > 0 in the depth window
    any_user: Any  # bool [accounts x features]: some user with events > 0 in the breadth window
    count_users: Callable[[], Any] = field(repr=False)
    source: str = "usage"  # "usage": the loaded rows; "rollup": a stored rollup; "none"
    _users: Any = field(default=None, repr=False)

    @property
    def users(self) -> Any:
        """int [accounts x features]: distinct users with events > 0 in the breadth window."""
        if self._users is None:
            self._users = self.count_users()
        return self._users


def counted(
    as_of: date, activated: Any, active: Any, users: Any, source: str = "rollup"
) -> Statistics:
    """Statistics whose per-feature user counts are known already (a rollup's)."""
    return Statistics(as_of, activated, active, users > 0, lambda: users, source, users)


@dataclass
class Measures:
    """The three measures of every account on one date (NaN = missing)."""

    as_of: date
    deployment: Any
    depth: Any
    breadth: Any
    activated: Any
    active: Any
    used: Any  # bool [accounts x features]: counts towards breadth
    stats: Statistics = field(repr=False)

    @property
    def users(self) -> Any:
        """int [accounts x features]: distinct users in the breadth window."""
        return self.stats.users

    @property
    def source(self) -> str:
        return self.stats.source

    def values(self, measure: str) -> Any:
        return {"deployment": self.deployment, "depth": self.depth, "breadth": self.breadth}[
            measure
        ]


@dataclass
class ActiveUsage:
    """Active usage rows of a span of days by users of active accounts, grouped by day.

    The rows of ``days[i]`` are ``starts[i]:starts[i + 1]``, so a window of days is a slice:
    each date of a backfill costs a few array operations over its own rows only.
    """

    days: Any  # int array: the days with rows, ascending
    starts: Any  # int array, len(days) + 1: where each day's rows start
    uid: Any  # int array per row
    cell: Any  # int array per row: account index * features + feature column

    def window(self, d: int, days: int) -> slice:
        """The rows of the ``days`` days ending on day ``d``, both ends included."""
        import numpy as np

        first = int(np.searchsorted(self.days, d - days + 1, side="left"))
        last = int(np.searchsorted(self.days, d, side="right"))
        return slice(int(self.starts[first]), int(self.starts[last]))


def read_active(store: Store, u: Universe, first_day: int, last_day: int) -> ActiveUsage:
    """The active usage of ``first_day`` .. ``last_day`` of the accounts in ``u``."""
    import numpy as np

    n_users, n_feat = len(u.user_acct), len(u.feature_names)
    fid_bits = max(len(u.fid_col) - 1, 1).bit_length()
    uid_type = np.int32 if n_users < 2**31 else np.int64
    cell_type = np.int32 if len(u.account_ids) * n_feat < 2**31 else np.int64
    days, uids, cells = [], [], []
    # Day by day, so that only compact arrays of the kept rows outlive the loop.
    for day, key in usage_db.active_usage(store.db, first_day, last_day, fid_bits, u.only_uids):
        uid, fid = key >> fid_bits, key & ((1 << fid_bits) - 1)
        acct = np.where(uid < n_users, u.user_acct[np.minimum(uid, n_users - 1)], -1)
        col = u.fid_col[fid]
        keep = (acct >= 0) & (col >= 0)
        days.append(day)
        uids.append(uid[keep].astype(uid_type))
        cells.append((acct[keep] * n_feat + col[keep]).astype(cell_type))
    return ActiveUsage(
        days=np.array(days, dtype=np.int64),
        starts=np.concatenate(([0], np.cumsum([len(x) for x in uids], dtype=np.int64))),
        uid=np.concatenate(uids) if uids else np.empty(0, dtype=uid_type),
        cell=np.concatenate(cells) if cells else np.empty(0, dtype=cell_type),
    )


# Up to this many (user, feature) pairs, distinct pairs are marked in a dense array (a
# scatter); beyond it they are sorted, which needs no memory per possible pair.
_DENSE_PAIRS = 1 << 27


def statistics_at(
    u: Universe, usage: ActiveUsage, as_of: date, metrics: MetricsConfig
) -> Statistics:
    """The statistics of every account on ``as_of`` from pre-read usage: the built-in
    engine's arithmetic over the loaded rows."""
    import numpy as np

    d = day_number(as_of)
    n_acc, n_feat, n_users = len(u.account_ids), len(u.feature_names), len(u.user_acct)

    activated_user = (u.user_activated <= d) & (u.user_acct >= 0)
    activated = np.bincount(u.user_acct[activated_user], minlength=n_acc)

    # Active: activated users with a row in the depth window (rows are all events > 0).
    seen = np.zeros(n_users, dtype=bool)
    seen[usage.uid[usage.window(d, metrics.depth_window_days)]] = True
    active = np.bincount(u.user_acct[seen & activated_user], minlength=n_acc)

    w = usage.window(d, metrics.breadth_window_days)
    any_user = np.zeros(n_acc * n_feat, dtype=bool)
    any_user[usage.cell[w]] = True

    def count_users() -> Any:
        # Rows are distinct per (day, user, feature): a user who used a feature on several
        # days of the window counts once. A user's account is fixed, so (user, feature
        # column) names the (account, feature) cell.
        pairs = usage.uid[w].astype(np.int64) * n_feat + usage.cell[w] % n_feat
        if n_users * n_feat <= _DENSE_PAIRS:
            marked = np.zeros(n_users * n_feat, dtype=bool)
            marked[pairs] = True
            distinct = np.flatnonzero(marked)
        else:
            distinct = np.unique(pairs)
        cells = u.user_acct[distinct // n_feat] * n_feat + distinct % n_feat
        return np.bincount(cells, minlength=n_acc * n_feat).reshape(n_acc, n_feat)

    return Statistics(as_of, activated, active, any_user.reshape(n_acc, n_feat), count_users)


def measures_of(u: Universe, stats: Statistics, metrics: MetricsConfig) -> Measures:
    """The three measures from an engine's statistics; the same arithmetic for every engine."""
    import numpy as np

    activated, active = stats.activated, stats.active
    if metrics.breadth_min_users <= 1:
        used = stats.any_user
    else:
        used = stats.users >= metrics.breadth_min_users
    with np.errstate(invalid="ignore", divide="ignore"):
        deployment = np.minimum(1.0, activated / u.licenses)
        depth = np.where(activated > 0, active / np.maximum(activated, 1), np.nan)
        en_w = (u.enabled * u.weights).sum(axis=1)
        used_w = ((u.enabled & used) * u.weights).sum(axis=1)
        breadth = np.where(en_w > 0, used_w / np.where(en_w > 0, en_w, 1), np.nan)
    if stats.source == "none":
        deployment = depth = breadth = np.full(len(u.account_ids), np.nan)
    return Measures(stats.as_of, deployment, depth, breadth, activated, active, used, stats)


def measures_at(u: Universe, usage: ActiveUsage, as_of: date, metrics: MetricsConfig) -> Measures:
    """Compute the three measures for every account on ``as_of`` from pre-read usage."""
    return measures_of(u, statistics_at(u, usage, as_of, metrics), metrics)


def rolled_statistics(store: Store, u: Universe, as_of: date) -> Statistics:
    """The statistics of ``as_of`` from the stored rollup, aligned to ``u``.

    Accounts and features without a stored row have no users.
    """
    import numpy as np

    d = day_number(as_of)
    n_acc, n_feat = len(u.account_ids), len(u.feature_names)
    one = u.account_ids[0] if u.only_uids is not None and u.account_ids else None
    index = {a: i for i, a in enumerate(u.account_ids)}
    activated = np.zeros(n_acc, dtype=np.int64)
    active = np.zeros(n_acc, dtype=np.int64)
    for aid, n_activated, n_active in rollups_db.account_rows(store.db, d, one):
        i = index.get(aid)
        if i is not None:
            activated[i], active[i] = n_activated, n_active
    users = np.zeros((n_acc, n_feat), dtype=np.int64)
    for aid, fid, n in rollups_db.feature_rows(store.db, d, one):
        i = index.get(aid)
        col = u.fid_col[fid] if fid < len(u.fid_col) else -1
        if i is not None and col >= 0:
            users[i, col] = n
    return counted(as_of, activated, active, users)


def no_statistics(u: Universe, as_of: date) -> Statistics:
    """For a date without usage or a rollup: no statistics, so every measure is missing."""
    import numpy as np

    n_acc, n_feat = len(u.account_ids), len(u.feature_names)
    zeros = np.zeros(n_acc, dtype=np.int64)
    return counted(as_of, zeros, zeros, np.zeros((n_acc, n_feat), dtype=np.int64), "none")


def sources(store: Store, config: Config, dates: Sequence[date]) -> dict[date, str]:
    """Where each date's statistics come from: "rollup", "usage" or "none".

    A date with a stored rollup counted with the current windows takes the rollup; any other
    date is computed from the loaded usage ("none" when no usage is loaded).
    """
    rolled = rollups_db.dates(store.db) if dates else {}
    has_usage = usage_db.day_range(store.db) is not None
    m = config.metrics
    out = {}
    for d in dates:
        r = rolled.get(day_number(d))
        fits = r is not None and (r.depth_window_days, r.breadth_window_days) == (
            m.depth_window_days,
            m.breadth_window_days,
        )
        out[d] = "rollup" if fits else "usage" if has_usage else "none"
    return out


def statistics_for(
    store: Store,
    config: Config,
    u: Universe,
    dates: Sequence[date],
    progress: Callable[[int, int], None] | None = None,
) -> list[Statistics]:
    """The statistics of several dates, each from its source (see :func:`sources`).

    Dates computed from the loaded usage share one read of their whole span.
    """
    metrics = config.metrics
    plan = sources(store, config, dates)
    raw = [d for d in dates if plan[d] == "usage"]
    usage = None
    if raw:
        window = max(metrics.depth_window_days, metrics.breadth_window_days)
        lo = day_number(min(raw)) - window + 1
        usage = read_active(store, u, lo, day_number(max(raw)))
    out = []
    for i, d in enumerate(sorted(dates)):
        if plan[d] == "rollup":
            out.append(rolled_statistics(store, u, d))
        elif usage is not None and plan[d] == "usage":
            out.append(statistics_at(u, usage, d, metrics))
        else:
            out.append(no_statistics(u, d))
        if progress:
            progress(i + 1, len(dates))
    return out


def measure_dates(
    store: Store,
    config: Config,
    dates: Sequence[date],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Universe, list[Measures]]:
    """Measures for several dates, in date order, reading the usage of their span once."""
    u = universe(store, config.metrics)
    stats = statistics_for(store, config, u, dates, progress)
    return u, [measures_of(u, s, config.metrics) for s in stats]


# -- calibration ---------------------------------------------------------------------------
@dataclass
class Calibration:
    """Proposed cut points beside the current ones, with band counts and warnings."""

    as_of: date
    proposed: list[Cuts]
    current: Thresholds
    counts_before: dict[tuple[str, str], dict[str, int]]
    counts_after: dict[tuple[str, str], dict[str, int]]
    warnings: list[str]
    applied: bool = False

    def rows(self) -> list[dict[str, Any]]:
        """Per proposed set: current and proposed cut points, accounts per band before/after.

        Rows are in :func:`set_order`, as ``cstool thresholds show`` lists them.
        """
        out = []
        for c in sorted(self.proposed, key=lambda c: set_order(c.segment, c.measure)):
            cur = self.current.applied(c.segment, c.measure)
            out.append(
                {
                    "segment": segment_out(c.segment),
                    "measure": c.measure,
                    "n": c.n,
                    "current": None if cur is None else list(cur.cuts),
                    "proposed": list(c.cuts),
                    "before": self.counts_before.get((c.segment, c.measure), {}),
                    "after": self.counts_after.get((c.segment, c.measure), {}),
                }
            )
        return out


def _propose(u: Universe, m: Measures, metrics: MetricsConfig) -> list[Cuts]:
    import numpy as np

    iso = m.as_of.isoformat()
    segs = np.array(u.segments, dtype=object)
    out: list[Cuts] = []
    for measure in MEASURES:
        vals = m.values(measure)
        present = ~np.isnan(vals)
        if present.any():
            out.append(
                Cuts(
                    ALL_SEGMENTS,
                    measure,
                    cut_points(vals[present]),
                    int(present.sum()),
                    iso,
                    "proposed",
                )
            )
        for seg in sorted(set(u.segments)):
            sel = present & (segs == seg)
            if sel.sum() >= metrics.min_segment_size:
                out.append(
                    Cuts(seg, measure, cut_points(vals[sel]), int(sel.sum()), iso, "proposed")
                )
    return out


def _band_counts(u: Universe, m: Measures, th: Thresholds) -> dict[tuple[str, str], dict[str, int]]:
    """Accounts per band by (segment, measure); segment "*" totals every account."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for measure in MEASURES:
        vals = m.values(measure)
        for i, seg in enumerate(u.segments):
            c = th.applied(seg, measure)
            band = band_of(float(vals[i]), c.cuts) if c else None
            for key in ((seg, measure), (ALL_SEGMENTS, measure)):
                per = counts.setdefault(key, {b: 0 for b in (*BANDS, "n/a")})
                per[band or "n/a"] += 1
    return counts


def _collapse_warnings(u: Universe, m: Measures, proposed: list[Cuts]) -> list[str]:
    import numpy as np

    warnings = []
    segs = np.array(u.segments, dtype=object)
    for c in proposed:
        vals = m.values(c.measure)
        sel = (
            ~np.isnan(vals)
            if c.segment == ALL_SEGMENTS
            else (~np.isnan(vals) & (segs == c.segment))
        )
        name = "all accounts" if c.segment == ALL_SEGMENTS else c.segment
        zeros = float((vals[sel] == 0).mean()) if sel.any() else 0.0
        c20, c40, c60, c80 = c.cuts
        if c40 == 0:
            # A band whose lower cut point is 0 holds no zeros (0 is always red), so red takes
            # the accounts the quintiles meant for it: c20 = c40 = 0 -> orange and yellow.
            bands = ("orange", "yellow", "lime", "green")
            absorbed = [b for b, cut in zip(bands, c.cuts, strict=True) if cut == 0]
            warnings.append(
                f"{name} {c.measure}: {zeros:.0%} of accounts are at 0; red absorbs "
                f"{_and(absorbed)}"
            )
        # Equal non-zero cut points leave the bands between them empty: one line per value.
        empty: dict[float, list[str]] = {}
        for (a, b), lower in zip(
            ((c20, c40), (c40, c60), (c60, c80)), ("orange", "yellow", "lime"), strict=True
        ):
            if a == b and a > 0:
                empty.setdefault(a, []).append(lower)
        for value, bands_empty in empty.items():
            verb = "is" if len(bands_empty) == 1 else "are"
            warnings.append(
                f"{name} {c.measure}: cut points collapse at {value:.1%}; "
                f"{_and(bands_empty)} {verb} empty"
            )
    return warnings


def _and(words: Sequence[str]) -> str:
    """Join words as in "orange, yellow and lime"."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def calibrate(
    store: Store, config: Config, as_of: date | None = None, *, apply: bool = False
) -> Calibration:
    """Propose cut points from the data at ``as_of``; store them when ``apply``."""
    d = usage_date(store, as_of, config=config)
    u, (m,) = measure_dates(store, config, [d])
    return _calibrate(store, config, u, m, apply=apply)


def _calibrate(
    store: Store, config: Config, u: Universe, m: Measures, *, apply: bool
) -> Calibration:
    """Calibrate on measures already computed (scoring shares them)."""
    current = load_thresholds(store, config.metrics)
    proposed = _propose(u, m, config.metrics)
    if not proposed:
        raise InputError(
            "no account has any measure to calibrate on",
            hint="load accounts, users and usage first",
        )
    new = Thresholds({(c.segment, c.measure): c for c in proposed}, current.overrides)
    cal = Calibration(
        m.as_of,
        proposed,
        current,
        _band_counts(u, m, current),
        _band_counts(u, m, new),
        _collapse_warnings(u, m, proposed),
    )
    if apply:
        with store.transaction():
            scores_db.save_thresholds(
                store.db, [(c.segment, c.measure, *c.cuts, c.n, c.as_of) for c in proposed]
            )
        cal.applied = True
    return cal


# -- scoring -------------------------------------------------------------------------------
def usage_date(
    store: Store,
    as_of: date | None,
    option: str = "--as-of",
    reach: int = 28,
    warnings: list[str] | None = None,
    *,
    config: Config | None = None,
) -> date:
    """``as_of`` checked against the loaded usage (default: the latest usage day).

    A date more than ``reach`` days (the longest window) outside the usage would score every
    account as if nobody used the product: refused. A date after the latest usage day is
    allowed with a warning, since the days since may not be loaded yet.

    With ``config``, rollups count too (see :func:`sources`): the default is the latest day
    of usage or rollups, and a date with a rollup counted with the current windows is
    accepted as it is.
    """
    if config is not None:
        return _rolled_or_usage_date(store, config, as_of, option, warnings)
    if as_of is None:
        return latest_usage_date(store)
    return _loaded_usage_date(store, as_of, option, reach, warnings)


def _loaded_usage_date(
    store: Store, as_of: date, option: str, reach: int, warnings: list[str] | None
) -> date:
    span = usage_db.day_range(store.db)
    if span is None:
        latest_usage_date(store)  # raises the "no usage" error
    assert span is not None
    first, last = day_date(span[0]), day_date(span[1])
    if not first - timedelta(days=reach) < as_of < last + timedelta(days=reach):
        raise InputError(
            f"{option} {as_of} is too far from the loaded usage, {first} to {last}",
            hint="pick a date in that range, or load the usage that covers it",
        )
    if as_of > last and warnings is not None:
        days = (as_of - last).days
        warnings.append(
            f"{option} {as_of} is {days} day{'s' if days != 1 else ''} after the latest usage "
            f"loaded ({last}); activity since then is not counted"
        )
    return as_of


def _rolled_or_usage_date(
    store: Store, config: Config, as_of: date | None, option: str, warnings: list[str] | None
) -> date:
    d = as_of or latest_usage_date(store)
    rolled = rollups_db.dates(store.db)
    r = rolled.get(day_number(d))
    m = config.metrics
    now = (m.depth_window_days, m.breadth_window_days)
    if r is not None and (r.depth_window_days, r.breadth_window_days) == now:
        return d
    has_usage = usage_db.day_range(store.db) is not None
    if r is not None and not has_usage:
        raise InputError(
            f"the rollup of {d} counted a depth window of {r.depth_window_days} and a breadth "
            f"window of {r.breadth_window_days} days; metrics say {now[0]} and {now[1]}",
            hint=f"roll the usage up again: `cstool rollup --engine ENGINE --usage SOURCE "
            f"--as-of {d}`",
        )
    if not has_usage and rolled:
        first, last = day_date(min(rolled)), day_date(max(rolled))
        raise InputError(
            f"{option} {d}: no usage is loaded and there is no rollup of that date",
            hint=f"the rollups hold {len(rolled):,} date{'s' if len(rolled) != 1 else ''} from "
            f"{first} to {last}; pick one, or `cstool rollup --engine ENGINE --usage SOURCE "
            f"--as-of {d}`",
        )
    return _loaded_usage_date(store, d, option, reach(config), warnings)


def reach(config: Config) -> int:
    """How far outside the loaded usage a date may be: the longest window."""
    return max(config.metrics.depth_window_days, config.metrics.breadth_window_days)


def data_span(store: Store) -> tuple[date, date] | None:
    """The first and last day with usage: loaded usage days and rollup dates together."""
    span = usage_db.day_range(store.db)
    rolled = rollups_db.summary(store.db)
    ends = ([span] if span else []) + ([rolled[1:]] if rolled else [])
    if not ends:
        return None
    return day_date(min(e[0] for e in ends)), day_date(max(e[1] for e in ends))


def latest_usage_date(store: Store) -> date:
    """The latest day of loaded usage or of a rollup."""
    span = data_span(store)
    if span is None:
        raise InputError(
            "no usage is loaded, so there is nothing to score",
            hint="load usage with `cstool load usage FILE`, or roll it up where it lives "
            "with `cstool rollup`",
        )
    return span[1]


def rollup_warnings(store: Store, config: Config, dates: Sequence[date]) -> list[str]:
    """Say when the rollups some dates take were made before the latest users load: users
    added or moved since are not counted in them."""
    plan = sources(store, config, dates)
    rolled = rollups_db.dates(store.db)
    users_load = rollups_db.last_users_load(store.db)
    stale = sorted(
        d for d in dates if plan[d] == "rollup" and rolled[day_number(d)].users_load != users_load
    )
    if not stale:
        return []
    which = (
        f"{stale[0]}" if len(stale) == 1 else f"{len(stale)} dates from {stale[0]} to {stale[-1]}"
    )
    return [
        f"the rollup of {which} was made before the latest users load, so users added or "
        "changed since are not counted; run `cstool rollup` again for those dates"
    ]


@dataclass
class ScoreRow:
    account_id: str
    name: str
    segment: str | None
    csm: str | None
    deployment: float | None
    deployment_band: str | None
    depth: float | None
    depth_band: str | None
    breadth: float | None
    breadth_band: str | None
    composite: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ScoreRun:
    """The result of scoring one date."""

    as_of: date
    rows: list[ScoreRow]
    thresholds: Thresholds
    calibrated_now: bool = False
    warnings: list[str] = field(default_factory=list)
    composite: bool = False


def _num(v: Any) -> float | None:
    f = float(v)
    return None if math.isnan(f) else f


def _composite(row: ScoreRow, weights: dict[str, float]) -> float | None:
    parts = [(getattr(row, m), w) for m, w in weights.items() if getattr(row, m) is not None]
    total = sum(w for _, w in parts)
    return sum(v * w for v, w in parts) / total if parts and total else None


def _rows(u: Universe, m: Measures, th: Thresholds, config: Config) -> list[ScoreRow]:
    rows = []
    comp = config.metrics.composite
    cuts = {(seg, k): th.applied(seg, k) for seg in set(u.segments) for k in MEASURES}
    values = {k: [_num(v) for v in m.values(k).tolist()] for k in MEASURES}
    for i, aid in enumerate(u.account_ids):
        seg = u.segments[i]
        vals = {k: values[k][i] for k in MEASURES}
        bands = {}
        for k in MEASURES:
            c = cuts[seg, k]
            bands[k] = band_of(vals[k], c.cuts) if c else None
        row = ScoreRow(
            aid,
            u.names[i],
            segment_out(seg),
            u.csms[i],
            vals["deployment"],
            bands["deployment"],
            vals["depth"],
            bands["depth"],
            vals["breadth"],
            bands["breadth"],
        )
        if comp.enabled:
            row.composite = _composite(row, comp.weights)
        rows.append(row)
    return rows


def _ensure_thresholds(
    store: Store, config: Config, u: Universe, m: Measures
) -> tuple[Thresholds, bool, list[str]]:
    """The stored thresholds, or (none stored yet) ones calibrated on ``m`` and stored.

    Calibrating on the fly says what a review would: collapsed cut points, and too few
    accounts to trust quintiles.
    """
    th = load_thresholds(store, config.metrics)
    if th.stored:
        return th, False, []
    cal = _calibrate(store, config, u, m, apply=True)
    warnings = list(cal.warnings)
    n = len(u.account_ids)
    if n < config.metrics.min_segment_size:
        warnings.append(
            f"calibrated on only {n} account{'s' if n != 1 else ''}; recalibrate with "
            "`cstool thresholds calibrate --apply` once the whole book is loaded"
        )
    return load_thresholds(store, config.metrics), True, warnings


def _thresholds_for_reading(store: Store, config: Config, u: Universe, m: Measures) -> Thresholds:
    """The stored thresholds, or (none stored yet) the ones calibration proposes, unstored."""
    th = load_thresholds(store, config.metrics)
    if th.stored:
        return th
    cal = _calibrate(store, config, u, m, apply=False)
    return Thresholds({(c.segment, c.measure): c for c in cal.proposed}, th.overrides)


def _age_warning(th: Thresholds, d: date, recheck_days: int) -> list[str]:
    if th.as_of is None:
        return []
    age = (d - date.fromisoformat(th.as_of)).days
    if age > recheck_days:
        return [
            f"thresholds were calibrated on {th.as_of}, {age} days before {d}; recheck "
            "them with `cstool thresholds calibrate`"
        ]
    return []


def _basis(th: Thresholds, config: Config) -> str:
    """Fingerprint of what decides a band besides the data: cut points and measure settings."""
    import hashlib
    import json

    m = config.metrics
    facts = {
        "cuts": sorted((s, k, list(c.cuts)) for (s, k), c in th.stored.items()),
        "overrides": th.overrides,
        "settings": m.model_dump(mode="json", exclude={"overrides", "recheck_days"}),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]


def _snapshot_rows(iso: str, rows: list[ScoreRow], basis: str) -> list[tuple[Any, ...]]:
    return [
        (
            iso,
            r.account_id,
            r.name,
            r.segment,
            r.csm,
            r.deployment,
            r.deployment_band,
            r.depth,
            r.depth_band,
            r.breadth,
            r.breadth_band,
            r.composite,
            basis,
        )
        for r in rows
    ]


def score(
    store: Store, config: Config, as_of: date | None = None, *, save: bool = True
) -> ScoreRun:
    """Score every active account on ``as_of`` and store the snapshot of that date.

    With ``save=False`` nothing is written (the store may be read-only): no snapshot, and
    with no thresholds stored yet the bands use the ones calibration proposes, unstored.
    """
    early: list[str] = []
    d = usage_date(store, as_of, warnings=early, config=config)
    early += rollup_warnings(store, config, [d])
    u, (m,) = measure_dates(store, config, [d])
    if save:
        th, calibrated, warnings = _ensure_thresholds(store, config, u, m)
    else:
        th, calibrated, warnings = _thresholds_for_reading(store, config, u, m), False, []
    rows = _rows(u, m, th, config)
    if save:
        with store.transaction():
            scores_db.save_snapshot(
                store.db, d.isoformat(), _snapshot_rows(d.isoformat(), rows, _basis(th, config))
            )
    return ScoreRun(
        d,
        rows,
        th,
        calibrated,
        early + warnings + _age_warning(th, d, config.metrics.recheck_days),
        config.metrics.composite.enabled,
    )


@dataclass
class Backfill:
    dates: list[date]
    accounts: int
    calibrated_now: bool
    warnings: list[str] = field(default_factory=list)


def backfill(
    store: Store,
    config: Config,
    start: date | None = None,
    end: date | None = None,
    every: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> Backfill:
    """Store snapshots for ``end``, ``end - every``, ... back to ``start``, sharing the work.

    ``end`` defaults to the latest usage day and ``start`` to eight weeks before ``end`` (or
    the first usage day, when the history is shorter).
    """
    early: list[str] = []
    end = usage_date(store, end, "--to", warnings=early, config=config)
    if start is None:
        span = data_span(store)
        assert span is not None  # usage_date found some
        start = max(end - timedelta(weeks=8), span[0])
    start = usage_date(store, start, "--from", config=config)
    if every < 1:
        raise InputError("--every must be at least 1 day", hint="e.g. --every 7")
    if start > end:
        raise InputError(f"--from {start} is after --to {end}", hint="swap the dates")
    dates = []
    d = end
    while d >= start:
        dates.append(d)
        d -= timedelta(days=every)
    dates.sort()
    for d in dates[1:-1]:
        usage_date(store, d, f"--every {every} reaches", config=config)
    early += rollup_warnings(store, config, dates)
    u, ms = measure_dates(store, config, dates, progress)
    th, calibrated, warnings = _ensure_thresholds(store, config, u, ms[-1])  # ms[-1]: ``end``
    with store.transaction():
        for m in ms:
            iso = m.as_of.isoformat()
            rows = _rows(u, m, th, config)
            scores_db.save_snapshot(store.db, iso, _snapshot_rows(iso, rows, _basis(th, config)))
    return Backfill(dates, len(u.account_ids), calibrated, early + warnings)


SORTABLE = (*SCORE_COLUMNS, "composite")


def check_filters(bands: Sequence[str] = (), sort: str = "account_id") -> None:
    """Refuse an unknown band or sort column (before any work is done or stored).

    Bands and columns match in any case; ``-column`` sorts descending.
    """
    for b in bands:
        if b.strip().lower() not in BANDS:
            raise UsageError(f"unknown band {b!r}", hint=f"use {', '.join(BANDS)}")
    if sort.lower().removeprefix("-") not in SORTABLE:
        raise UsageError(
            f"cannot sort by {sort!r}",
            hint=f"use one of {', '.join(SCORE_COLUMNS)}; put - before it to sort descending",
        )


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold() == b.strip().casefold()


def filter_rows(
    rows: list[ScoreRow],
    *,
    segment: str | None = None,
    csm: str | None = None,
    bands: Sequence[str] = (),
    sort: str = "account_id",
) -> list[ScoreRow]:
    """Rows matching the filters (a band filter matches any measure), sorted by ``sort``.

    Segment, CSM and bands match in any case. ``sort`` is a column, ascending (worst first
    for measures and bands), or ``-column`` for descending; missing values and bands sort
    last either way, and ties keep account id order.
    """
    check_filters(bands, sort)
    wanted = {b.strip().lower() for b in bands}
    out = [
        r
        for r in rows
        if (segment is None or _same(r.segment, segment))
        and (csm is None or _same(r.csm, csm))
        and (not wanted or any(getattr(r, f"{m}_band") in wanted for m in MEASURES))
    ]
    column = sort.lower().removeprefix("-")

    def value(r: ScoreRow) -> Any:
        v = getattr(r, column)
        if column.endswith("_band"):
            return BAND_RANK[v] if v else None
        return v

    by_id = sorted(out, key=lambda r: r.account_id)
    present = [r for r in by_id if value(r) is not None]
    missing = [r for r in by_id if value(r) is None]
    # Python's sort is stable even in reverse, so equal values stay in account id order.
    return sorted(present, key=value, reverse=sort.startswith("-")) + missing


def unmatched(
    rows: list[ScoreRow], *, segment: str | None = None, csm: str | None = None
) -> dict[str, list[str]]:
    """For a segment or CSM filter that matches no account at all, the values there are."""
    out = {}
    if segment is not None and not any(_same(r.segment, segment) for r in rows):
        out["segments"] = sorted({r.segment or "(none)" for r in rows})
    if csm is not None and not any(_same(r.csm, csm) for r in rows):
        out["CSMs"] = sorted({r.csm for r in rows if r.csm})
    return out


# -- explain -------------------------------------------------------------------------------
@dataclass
class MeasureExplained:
    measure: str
    value: float | None
    band: str | None
    cuts: Cuts | None
    band_week_before: str | None


@dataclass
class Explanation:
    account_id: str
    name: str
    segment: str | None
    csm: str | None
    as_of: date
    licenses: float | None
    activated: int
    active: int
    depth_window: tuple[date, date]
    breadth_window: tuple[date, date]
    features_used: list[str]
    features_unused: list[str]
    enabled_source: str
    measures: list[MeasureExplained]


def explain(
    store: Store, config: Config, account_id: str, as_of: date | None = None
) -> Explanation:
    """The numbers behind one account's bands on ``as_of`` and a week earlier."""
    d = usage_date(store, as_of, config=config)
    metrics = config.metrics
    u, (before, now) = measure_dates(store, config, [d - timedelta(days=7), d])
    th = _thresholds_for_reading(store, config, u, now)
    try:
        i = u.account_ids.index(account_id)
    except ValueError:
        raise NotFoundError(
            f"no active account {account_id!r}", hint="see `cstool score` for the account ids"
        ) from None
    seg = u.segments[i]
    parts = []
    for k in MEASURES:
        c = th.applied(seg, k)
        v, vb = _num(now.values(k)[i]), _num(before.values(k)[i])
        parts.append(
            MeasureExplained(
                k, v, band_of(v, c.cuts) if c else None, c, band_of(vb, c.cuts) if c else None
            )
        )
    enabled = u.enabled[i]
    used = [n for j, n in enumerate(u.feature_names) if enabled[j] and now.used[i, j]]
    unused = [n for j, n in enumerate(u.feature_names) if enabled[j] and not now.used[i, j]]
    lic = _num(u.licenses[i])
    return Explanation(
        account_id,
        u.names[i],
        segment_out(seg),
        u.csms[i],
        d,
        lic,
        int(now.activated[i]),
        int(now.active[i]),
        (d - timedelta(days=metrics.depth_window_days - 1), d),
        (d - timedelta(days=metrics.breadth_window_days - 1), d),
        used,
        unused,
        u.enabled_source[i],
        parts,
    )


# -- changes -------------------------------------------------------------------------------
@dataclass
class Mover:
    group: str | None  # None: accounts without a segment (or CSM)
    account_id: str
    name: str
    measure: str
    band_before: str | None
    band_after: str | None
    before: float | None
    after: float | None

    @property
    def change(self) -> int:
        return BAND_RANK.get(self.band_after or "", 0) - BAND_RANK.get(self.band_before or "", 0)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "change": self.change}


@dataclass
class GroupChange:
    group: str | None
    measure: str
    accounts: int
    up: int
    down: int


@dataclass
class Changes:
    as_of: date
    compared_to: date
    by: str
    groups: list[GroupChange]
    movers: list[Mover]
    warnings: list[str] = field(default_factory=list)


def changes(
    store: Store, as_of: date | None = None, weeks: int = 1, by: str = "segment"
) -> Changes:
    """Accounts whose bands moved between the snapshot at D and one 7·weeks earlier."""
    if by not in ("segment", "csm"):
        raise UsageError(f"cannot group by {by!r}", hint="use --by segment or --by csm")
    if weeks < 1:
        raise InputError("--weeks must be at least 1", hint="e.g. --weeks 1")
    dates = [date.fromisoformat(s) for s in scores_db.snapshot_dates(store.db)]
    if not dates:
        raise InputError(
            "there are no score snapshots yet",
            hint="run `cstool score` (and `cstool score backfill` for history)",
        )
    d = as_of or max(dates)
    if d not in dates:
        raise InputError(f"there is no snapshot for {d}", hint=f"run `cstool score --as-of {d}`")
    target = d - timedelta(days=7 * weeks)
    older = [x for x in dates if x <= target]
    if not older:
        start = target - timedelta(days=7)
        raise InputError(
            f"there is no snapshot on or before {target} to compare {d} with",
            hint=f"build history with `cstool score backfill --from {start} --to {d}`",
        )
    then = max(older)
    warnings = []
    if (target - then).days >= 7:
        warnings.append(
            f"the nearest older snapshot is {then}, {(d - then).days} days before {d} rather "
            f"than {7 * weeks}; `cstool score backfill` fills the weeks between"
        )
    old = {r["account_id"]: r for r in scores_db.snapshot(store.db, then.isoformat())}
    new = scores_db.snapshot(store.db, d.isoformat())
    if {r["basis"] for r in old.values()} != {r["basis"] for r in new}:
        warnings.append(
            f"the snapshots of {then} and {d} were banded with different cut points or "
            "settings, so some moves reflect that change rather than the customers; "
            f"`cstool score backfill --from {then} --to {d}` rebands the history"
        )
    movers: list[Mover] = []
    groups: dict[tuple[str | None, str], GroupChange] = {}
    for r in new:
        # Snapshots stored before segments were data held NO_SEGMENT for "no segment".
        g = r[by] if r[by] not in (None, "", NO_SEGMENT) else None
        for k in MEASURES:
            gc = groups.setdefault((g, k), GroupChange(g, k, 0, 0, 0))
            gc.accounts += 1
            o = old.get(r["account_id"])
            if o is None:
                continue
            mv = Mover(g, r["account_id"], r["name"], k, o[f"{k}_band"], r[f"{k}_band"], o[k], r[k])
            if mv.band_before and mv.band_after and mv.change != 0:
                movers.append(mv)
                if mv.change > 0:
                    gc.up += 1
                else:
                    gc.down += 1
    movers.sort(
        key=lambda m: (
            m.change,
            (m.after or 0) - (m.before or 0),
            _last_if_none(m.group),
            m.account_id,
            m.measure,
        )
    )
    ordered = sorted(
        groups.values(), key=lambda x: (_last_if_none(x.group), MEASURES.index(x.measure))
    )
    return Changes(d, then, by, ordered, movers, warnings)


def _last_if_none(group: str | None) -> tuple[bool, str]:
    """A sort key putting the group of accounts without a segment or CSM last."""
    return (group is None, group or "")


# -- one account ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureUse:
    """One enabled feature of an account: distinct users in the breadth window."""

    feature: str
    users: int
    used: bool  # counts towards breadth (at least breadth_min_users users)


@dataclass(frozen=True)
class MeasureValue:
    """One measure of one account: its value (0-1 or None) and band."""

    measure: str
    value: float | None
    band: str | None


@dataclass(frozen=True)
class AccountAdoption:
    """An account's measures on a date with the numbers behind them, read for it alone."""

    account_id: str
    segment: str
    as_of: date
    licenses: float | None
    activated: int
    active: int
    depth_window: tuple[date, date]
    breadth_window: tuple[date, date]
    measures: list[MeasureValue]
    features: list[FeatureUse]
    enabled_source: str
    banded: bool  # False when no thresholds are stored yet


def account_adoption(
    store: Store, config: Config, account_id: str, as_of: date
) -> AccountAdoption | None:
    """One active account's measures on ``as_of``, banded with the stored cut points.

    Only that account's users and usage rows are read, so it answers in milliseconds on any
    size of company; the values equal those of ``score`` for the same date. None when the
    account is not active. Without stored thresholds the bands are None: one account alone
    cannot calibrate them.
    """
    metrics = config.metrics
    u = universe(store, metrics, account_id)
    if not u.account_ids:
        return None
    (stats,) = statistics_for(store, config, u, [as_of])
    m = measures_of(u, stats, metrics)
    th = load_thresholds(store, metrics)
    seg = u.segments[0]
    parts = []
    for k in MEASURES:
        c = th.applied(seg, k)
        v = _num(m.values(k)[0])
        parts.append(MeasureValue(k, v, band_of(v, c.cuts) if c else None))
    features = [
        FeatureUse(name, int(m.users[0, j]), bool(m.used[0, j]))
        for j, name in enumerate(u.feature_names)
        if u.enabled[0, j]
    ]
    features.sort(key=lambda f: (-f.users, f.feature))
    return AccountAdoption(
        u.account_ids[0],
        seg,
        as_of,
        _num(u.licenses[0]),
        int(m.activated[0]),
        int(m.active[0]),
        (as_of - timedelta(days=metrics.depth_window_days - 1), as_of),
        (as_of - timedelta(days=metrics.breadth_window_days - 1), as_of),
        parts,
        features,
        u.enabled_source[0],
        bool(th.stored or th.overrides),
    )
