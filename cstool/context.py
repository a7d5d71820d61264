"""The values of the condition variables per account and per user, on a date.

:func:`book` computes, for every active account at once, every account variable that
conditions (playbooks, touch tiers, journey audiences) and one-line templates (a CTA's
``reason``) may use: the accounts export's fields and extra columns (attributes), the adoption
snapshot's measures and bands, the band changes since the previous snapshot, the days to
renewal and since onboarding, the latest NPS answer and its age, the open CTAs and the touch
tier. It reads the whole book with a handful of queries, never one per account.

:func:`users` adds the recipient variables of journeys per user: the users export's fields,
``days_inactive`` and ``features_unused``. :func:`adoption_facts` gives what emails show
about an account's adoption (licenses, activated and active users, features used and not).

The ``*_context`` functions build the documented email template context (``company``,
``account``, ``adoption``, ``csm``, ``user``) from these values, so that every email cstool
writes sees the same names.

Dates in the values are ISO text (as conditions compare them with quoted dates); a missing
value is ``None``. Nothing here writes: the caller says the date.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from cstool.bands import BAND_RANK
from cstool.conditions import ACCOUNT_VARIABLES, Catalogue, usable_name
from cstool.errors import InputError
from cstool.store import adoption as snapshots_db
from cstool.store import ctas as ctas_db
from cstool.store import day_number
from cstool.store import exports as exports_db
from cstool.store import nps as nps_db
from cstool.store import usage as usage_db

if TYPE_CHECKING:
    from cstool.config import Config, ResolvedConfig
    from cstool.store import Store
    from cstool.tiers import TierRules

MEASURES = ("deployment", "depth", "breadth")
ACCOUNT_FIELDS = exports_db.ACCOUNT_COLUMNS
USER_FIELDS = usage_db.USER_COLUMNS


@dataclass
class Book:
    """The condition variables of every active account on one date.

    ``accounts`` holds one flat mapping per account (sorted by account_id) with a value, or
    None, for every variable of ``catalogue`` (the documented variables plus the attributes
    of this workspace's accounts). ``tier_rule`` says which touch tier rule set each
    account's ``touch_tier`` (its index in ``tiers.rules``, None for the default tier).
    """

    as_of: date
    snapshot: date | None  # the adoption snapshot read (None: no snapshot on or before as_of)
    previous: date | None  # the snapshot before it, for the band changes
    catalogue: Catalogue
    tiers: TierRules
    accounts: list[dict[str, Any]]
    attributes: dict[str, dict[str, Any]]  # each account's extra columns, as exported
    tier_rule: dict[str, int | None]
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {a["account_id"]: i for i, a in enumerate(self.accounts)}

    def get(self, account_id: str) -> dict[str, Any] | None:
        """The variables of one account, or None when it is not an active account."""
        i = self._index.get(account_id)
        return None if i is None else self.accounts[i]

    def __len__(self) -> int:
        return len(self.accounts)


def account_catalogue(store: Store) -> Catalogue:
    """The account variables of this workspace: the documented ones plus its attributes."""
    return ACCOUNT_VARIABLES.with_attributes(exports_db.account_attribute_names(store.db))


def snapshot_dates(store: Store, as_of: date | None) -> tuple[date, date | None, date | None]:
    """(as_of, snapshot, previous): the snapshot read on ``as_of`` and the one before it.

    Without ``as_of`` the date is the latest snapshot's; with no snapshot at all that is an
    error saying what to do.
    """
    if as_of is None:
        latest = snapshots_db.snapshot_on_or_before(store.db, "9999-12-31")
        if latest is None:
            raise InputError(
                "there is no adoption snapshot yet, so there is no date to work on",
                hint="run `cstool score` first, or pass --as-of DATE",
            )
        as_of = date.fromisoformat(latest)
    found = snapshots_db.snapshot_on_or_before(store.db, as_of.isoformat())
    snap = date.fromisoformat(found) if found else None
    before = snapshots_db.snapshot_before(store.db, found) if found else None
    return as_of, snap, date.fromisoformat(before) if before else None


def _band_change(now: str | None, before: str | None) -> int | None:
    if now is None or before is None or now not in BAND_RANK or before not in BAND_RANK:
        return None
    return BAND_RANK[now] - BAND_RANK[before]


def _days(a: str | None, b: date, sign: int) -> int | None:
    """Days from ISO date ``a`` to ``b`` (sign -1: from ``b`` to ``a``)."""
    if not a:
        return None
    try:
        return sign * (b - date.fromisoformat(a)).days
    except ValueError:
        return None


def book(
    store: Store,
    resolved: ResolvedConfig,
    as_of: date | None = None,
    *,
    snapshot_rows: Sequence[Mapping[str, Any]] | None = None,
) -> Book:
    """The condition variables of every active account on ``as_of``.

    The measures and bands come from the latest snapshot on or before ``as_of`` (default:
    the latest snapshot, whose date is then the as-of date), the band changes from the one
    before it. ``snapshot_rows`` gives the snapshot of ``as_of`` itself instead (rows with
    the snapshot's columns, as scoring without storing returns them).

    Touch tier rules that do not compile against this workspace's variables are an
    InputError located in ``cstool.yaml``.
    """
    from cstool.tiers import compile_rules

    if snapshot_rows is not None:
        if as_of is None:
            raise ValueError("snapshot_rows needs as_of")
        snap: date | None = as_of
        before = snapshots_db.snapshot_before(store.db, as_of.isoformat())
        previous = date.fromisoformat(before) if before else None
        current = {r["account_id"]: r for r in snapshot_rows}
    else:
        as_of, snap, previous = snapshot_dates(store, as_of)
        current = (
            {r["account_id"]: r for r in snapshots_db.snapshot(store.db, snap.isoformat())}
            if snap
            else {}
        )
    earlier = (
        {r["account_id"]: r for r in snapshots_db.snapshot(store.db, previous.isoformat())}
        if previous
        else {}
    )
    catalogue = account_catalogue(store)
    rules = compile_rules(resolved, catalogue)
    names = [v.name for v in catalogue]
    nps = {a: (score, d) for a, score, d in nps_db.latest_scores(store.db, as_of)}
    open_now = ctas_db.open_counts(store.db, as_of)
    accounts: list[dict[str, Any]] = []
    attributes: dict[str, dict[str, Any]] = {}
    tier_rule: dict[str, int | None] = {}
    empty: dict[str, Any] = {}
    for row in exports_db.account_rows(store.db):
        ctx = dict.fromkeys(names)
        ctx.update(zip(ACCOUNT_FIELDS, row, strict=False))
        account_id = str(row[0])
        # An empty cell of an extra column is a missing value, as in the declared columns.
        extra = {k: (None if v == "" else v) for k, v in json.loads(row[-1] or "{}").items()}
        attributes[account_id] = extra
        for k, v in extra.items():
            if k not in ACCOUNT_VARIABLES and usable_name(k):
                ctx[k] = v
        now = current.get(account_id, empty)
        then = earlier.get(account_id, empty)
        for m in MEASURES:
            ctx[m] = now.get(m)
            ctx[f"{m}_band"] = now.get(f"{m}_band")
            ctx[f"{m}_band_change"] = (
                _band_change(now.get(f"{m}_band"), then.get(f"{m}_band")) if then else None
            )
        ctx["days_to_renewal"] = _days(ctx["renewal_date"], as_of, -1)
        ctx["days_since_onboarding"] = _days(ctx["onboarding_date"], as_of, 1)
        answer = nps.get(account_id)
        ctx["nps"] = answer[0] if answer else None
        ctx["nps_days"] = _days(answer[1], as_of, 1) if answer else None
        ctx["open_ctas"] = open_now.get(account_id, 0)
        tier, rule = rules.assign(ctx)
        ctx["touch_tier"] = tier
        tier_rule[account_id] = rule
        accounts.append(ctx)
    return Book(as_of, snap, previous, catalogue, rules, accounts, attributes, tier_rule)


# -- users -----------------------------------------------------------------------------------


def users(
    store: Store, config: Config, as_of: date, account_ids: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """The recipient variables of the users of active accounts on ``as_of``, by user_id.

    Each mapping holds the users export's fields (``is_advocate`` and ``unsubscribed`` as
    booleans or None), ``days_inactive`` (days since the user's last activity on or before
    ``as_of``; None if never active by then) and ``features_unused`` (the account's enabled
    features the user has not used in the breadth window ending on ``as_of``, in catalogue
    order). ``account_ids`` narrows the users to those accounts'.
    """
    import numpy as np

    from cstool.adoption import universe

    u = universe(store, config.metrics)
    index = {a: i for i, a in enumerate(u.account_ids)}
    wanted = set(account_ids) if account_ids is not None else None
    rows = [
        r
        for r in usage_db.user_rows(store.db)
        if r[2] in index and (wanted is None or r[2] in wanted)
    ]
    d = day_number(as_of)
    late = [r[0] for r in rows if r[-1] is not None and r[-1] > d and r[-2] <= d]
    last_before = usage_db.last_active_days(store.db, late, d)
    # Features each user used in the breadth window: (uid, column) pairs from the usage rows.
    fid_bits = max(len(u.fid_col) - 1, 1).bit_length()
    first = d - config.metrics.breadth_window_days + 1
    used: dict[int, set[int]] = {}
    for _, keys in usage_db.active_usage(store.db, first, d, fid_bits):
        uid, fid = keys >> fid_bits, keys & ((1 << fid_bits) - 1)
        cols = np.where(fid < len(u.fid_col), u.fid_col[np.minimum(fid, len(u.fid_col) - 1)], -1)
        for a, c in zip(uid.tolist(), cols.tolist(), strict=True):
            if c >= 0:
                used.setdefault(a, set()).add(c)
    enabled_cols = {
        index[a]: np.flatnonzero(u.enabled[index[a]]).tolist() for a in {r[2] for r in rows}
    }
    out = []
    for r in rows:
        uid = r[0]
        ctx = dict(zip(USER_FIELDS, r[1 : 1 + len(USER_FIELDS)], strict=True))
        for flag in ("is_advocate", "unsubscribed"):
            ctx[flag] = None if ctx[flag] is None else bool(ctx[flag])
        first_day, last_day = r[-2], r[-1]
        if last_day is None or first_day > d:
            last = None
        elif last_day <= d:
            last = last_day
        else:
            last = last_before.get(uid)
        ctx["days_inactive"] = d - last if last is not None else None
        mine = used.get(uid, set())
        ctx["features_unused"] = [
            u.feature_names[c] for c in enabled_cols[index[r[2]]] if c not in mine
        ]
        out.append(ctx)
    return out


# -- adoption facts for emails ---------------------------------------------------------------


def adoption_facts(
    store: Store, config: Config, as_of: date, account_ids: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per active account on ``as_of``: licenses, activated and active users, and the enabled
    features used and not used in the breadth window (names in catalogue order)."""
    from cstool.adoption import measure_dates

    u, (m,) = measure_dates(store, config, [as_of])
    out: dict[str, dict[str, Any]] = {}
    for i, account_id in enumerate(u.account_ids):
        if account_ids is not None and account_id not in account_ids:
            continue
        licenses = u.licenses[i]
        out[account_id] = {
            "licenses": None if licenses != licenses else int(licenses),  # NaN: not given
            "activated": int(m.activated[i]),
            "active": int(m.active[i]),
            "features_used": [
                n for j, n in enumerate(u.feature_names) if m.used[i, j] and u.enabled[i, j]
            ],
            "features_unused": [
                n for j, n in enumerate(u.feature_names) if u.enabled[i, j] and not m.used[i, j]
            ],
        }
    return out


# -- the email template context --------------------------------------------------------------


def company_context(config: Config) -> dict[str, Any]:
    """``company``: the company's name and postal address (``sender.postal_address``)."""
    return {"name": config.company, "postal_address": config.sender.postal_address or ""}


def csm_context(config: Config, name: str | None) -> dict[str, Any]:
    """``csm``: the CSM called ``name`` as listed under ``csms:`` (name, first_name, email,
    title); a CSM not listed has only a name, and no CSM has none of them."""
    listed = config.csm(name)
    shown = listed.name if listed else (name.strip() if name and name.strip() else None)
    return {
        "name": shown,
        "first_name": shown.split()[0] if shown else None,
        "email": listed.email if listed else None,
        "title": listed.title if listed else None,
    }


def account_context(variables: Mapping[str, Any], attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``account``: the accounts export's fields and extra columns of one account."""
    out = {k: variables.get(k) for k in ACCOUNT_FIELDS}
    for k, v in attributes.items():
        out.setdefault(k, v)
    return out


def adoption_context(
    variables: Mapping[str, Any], facts: Mapping[str, Any] | None, as_of: date
) -> dict[str, Any]:
    """``adoption``: the measures and bands of the account's variables, with its facts."""
    out: dict[str, Any] = {}
    for m in MEASURES:
        out[m] = variables.get(m)
        out[f"{m}_band"] = variables.get(f"{m}_band")
    facts = facts or {}
    out["licenses"] = facts.get("licenses", variables.get("licenses_purchased"))
    out["activated"] = facts.get("activated")
    out["active"] = facts.get("active")
    out["features_used"] = list(facts.get("features_used", []))
    out["features_unused"] = list(facts.get("features_unused", []))
    out["as_of"] = as_of.isoformat()
    return out


def user_context(user: Mapping[str, Any]) -> dict[str, Any]:
    """``user``: the recipient's fields, ``days_inactive`` and ``features_unused``."""
    keys = (
        "user_id",
        "email",
        "first_name",
        "last_name",
        "role",
        "level",
        "days_inactive",
        "features_unused",
    )
    out = {k: user.get(k) for k in keys}
    out["features_unused"] = list(user.get("features_unused") or [])
    return out
