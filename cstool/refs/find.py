"""``refs find``: which customers to ask for a reference, best first, and why.

Three stages, each reported:

1. **Filters** (``--industry``, ``--segment``, ``--region``, ``--employees``, ``--feature``)
   keep the active accounts that fit the prospect, matching text in any case. ``--similar``
   adds the industry's neighbours from ``refs.similar_industries``. When fewer accounts than
   ``--limit`` come out, the result names the filter (or the rule) that removed the most
   accounts, and how many accounts ``--similar`` would add; a neighbour industry that no
   active account has is warned about.
2. **Eligibility rules** (``refs.rules``), in the order of :data:`RULES`; the first rule an
   account fails excludes it, and ``--explain`` lists each excluded account with that rule.
3. **Ranking** by the weighted mean of five parts, each from 0 to 1 (``refs.weights``):
   size similarity, health, NPS, fatigue and advocates; the score is 0-100 with one decimal,
   ties broken by account_id.

The account variables (bands of the latest snapshot, the latest NPS answer, days to renewal)
are :func:`cstool.context.book`'s, read for the filtered accounts only (:func:`add_variables`);
the references come from :func:`cstool.store.refs.references` (the export and the workflow),
the open CTAs from :mod:`cstool.store.ctas`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cstool.bands import BAND_RANK
from cstool.errors import InputError
from cstool.refs import at_level
from cstool.schemas import USER_LEVELS

if TYPE_CHECKING:
    from cstool.config import RefsConfig, ResolvedConfig
    from cstool.store import Store

MEASURES = ("deployment", "depth", "breadth")
CSV_COLUMNS = (
    "rank",
    "account_id",
    "name",
    "industry",
    "segment",
    "score",
    "contacts",
    "references_90d",
    "last_reference",
    "reasons",
)
EXCLUDED_COLUMNS = ("account_id", "name", "industry", "segment", "rule", "reason")
PARTS = ("size", "health", "nps", "fatigue", "advocates")
CONTACTS_SHOWN = 3
ADVOCATES_FULL = 3  # this many advocates at the level give the advocates part its full 1.0
NO_NPS = 0.5  # the NPS part of an account without answers: between a detractor and a promoter


@dataclass(frozen=True)
class Criteria:
    """What the prospect looks like: the filters, the level asked for and the size targets.

    ``target_employees`` defaults to the middle of ``employees``; ``target_arr`` (a request's
    opportunity amount) has no default. Without either target the size part is left out.
    """

    industry: str
    segment: str | None = None
    level: str | None = None
    employees: tuple[int, int] | None = None
    region: str | None = None
    feature: str | None = None
    similar: bool = False
    target_employees: float | None = None
    target_arr: float | None = None

    def size_targets(self) -> tuple[float | None, float | None]:
        """(employees, ARR) the size part compares with."""
        employees = self.target_employees
        if employees is None and self.employees is not None:
            employees = (self.employees[0] + self.employees[1]) / 2
        return employees, self.target_arr


def parse_employees(text: str) -> tuple[int, int]:
    """``MIN-MAX`` (``500-2000``, ``1,000-5,000``) as two whole numbers; ValueError when it is
    not that or MIN is above MAX."""
    low, sep, high = text.replace(",", "").replace("_", "").partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f"{text!r} is not a range MIN-MAX of whole numbers, e.g. 500-2000")
    lo, hi = int(low), int(high)
    if lo > hi:
        raise ValueError(f"{text!r}: the minimum {lo:,} is above the maximum {hi:,}")
    return lo, hi


# -- facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A contact shown with a candidate."""

    user_id: str
    name: str
    email: str | None
    role: str | None
    level: str | None
    advocate: bool

    def label(self) -> str:
        """``Ana López (USR-000343, VP)``: the name, id and level (else role)."""
        what = ", ".join(p for p in (self.user_id, self.level or self.role) if p)
        return f"{self.name} ({what})"

    def short(self) -> str:
        """``Ana López (VP)``, for tables."""
        what = self.level or self.role
        return f"{self.name} ({what})" if what else self.name


@dataclass(frozen=True)
class Facts:
    """What the rules and the ranking know of one account on the as-of date."""

    account: Mapping[str, Any]
    bands: dict[str, str | None]
    nps: int | None
    nps_date: date | None
    risk_ctas: int
    days_to_renewal: int | None
    references_in_window: int
    last_reference: date | None
    advocates_at_level: int
    advocates: int
    industry_match: str | None = None  # the neighbour industry it matched through, if any

    @property
    def account_id(self) -> str:
        return str(self.account["account_id"])


# -- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A named eligibility rule: ``check`` returns why an account fails it, or None."""

    name: str
    description: str
    check: Callable[[Facts, RefsConfig, date, str | None], str | None]


def _healthy(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    bad = cfg.rules.healthy_adoption.excluded_bands
    if all(f.bands.get(m) is None for m in MEASURES):
        return "no adoption bands in the latest snapshot"
    low = [f"{m} {f.bands[m]}" for m in MEASURES if f.bands.get(m) in bad]
    return ", ".join(low) if low else None


def _promoter(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    wanted = cfg.rules.promoter.min_score
    if f.nps is None or f.nps >= wanted:
        return None
    return f"latest NPS {f.nps} on {f.nps_date} (below {wanted})"


def _risk(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    if not f.risk_ctas:
        return None
    kinds = "/".join(cfg.rules.no_open_risk_cta.cta_types)
    return f"{f.risk_ctas} open {kinds} CTA{'s' if f.risk_ctas != 1 else ''}"


def _renewal(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    d = f.days_to_renewal
    if d is None or d > cfg.rules.renewal.days:
        return None
    if d < 0:
        return f"renewal date passed {-d} day{'s' if d != -1 else ''} ago"
    return f"renewal in {d} day{'s' if d != 1 else ''} (within {cfg.rules.renewal.days})"


def _fatigue(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    rule = cfg.rules.fatigue
    if f.references_in_window > rule.max_references:
        return (
            f"{f.references_in_window} references in the last {rule.window_days} days"
            f" (at most {rule.max_references})"
        )
    if f.last_reference is None:
        return None
    since = (as_of - f.last_reference).days
    if since < 0:
        return f"a reference is in progress ({f.last_reference})"
    if since < rule.min_days_since_last:
        return (
            f"last reference {since} day{'s' if since != 1 else ''} ago"
            f" (at least {rule.min_days_since_last})"
        )
    return None


def _advocate(f: Facts, cfg: RefsConfig, as_of: date, level: str | None) -> str | None:
    if f.advocates_at_level:
        return None
    if level is None:
        return "no contact is flagged as an advocate"
    return f"no advocate at {level} level" + (
        f" ({f.advocates} at other levels)" if f.advocates else ""
    )


RULES: tuple[Rule, ...] = (
    Rule("healthy_adoption", "no red or orange band in the latest snapshot", _healthy),
    Rule("promoter", "where NPS answers exist, the latest is 9 or 10", _promoter),
    Rule("no_open_risk_cta", "no open risk CTA", _risk),
    Rule("renewal", "renewal not within 60 days", _renewal),
    Rule(
        "fatigue",
        "at most 2 references in the last 90 days and 30 days since the last one",
        _fatigue,
    ),
    Rule("advocate", "an advocate at the requested level", _advocate),
)


def first_failure(
    f: Facts, cfg: RefsConfig, as_of: date, level: str | None
) -> tuple[str, str] | None:
    """(rule name, reason) of the first enabled rule ``f`` fails, or None when eligible."""
    for rule in RULES:
        if not getattr(cfg.rules, rule.name).enabled:
            continue
        reason = rule.check(f, cfg, as_of, level)
        if reason is not None:
            return rule.name, reason
    return None


# -- ranking ---------------------------------------------------------------------------------


def _ratio(value: Any, target: float | None) -> float | None:
    """min/max of ``value`` and ``target``: 1 when equal, towards 0 as they part."""
    if target is None:
        return None
    if value is None or value <= 0 or target <= 0:
        return 0.0 if target > 0 or value is None else 1.0
    return float(min(value, target) / max(value, target))


def parts(f: Facts, criteria: Criteria, cfg: RefsConfig) -> dict[str, float | None]:
    """The five ranking parts of an account, each from 0 to 1 (size None without a target).

    * size: the mean of employees/target and ARR/target, each as min over max;
    * health: the mean band of the latest snapshot (green 1, lime 0.75 ... red 0);
    * nps: the latest answer / 10 (0.5 without answers);
    * fatigue: 1 - references in the window / (the most allowed + 1), at least 0;
    * advocates: advocates at the requested level, up to 3, over 3.
    """
    target_employees, target_arr = criteria.size_targets()
    sims = [
        s
        for s in (
            _ratio(f.account.get("employees"), target_employees),
            _ratio(f.account.get("arr"), target_arr),
        )
        if s is not None
    ]
    ranks = [BAND_RANK[b] / 4 for b in f.bands.values() if b in BAND_RANK]
    allowed = cfg.rules.fatigue.max_references + 1
    return {
        "size": sum(sims) / len(sims) if sims else None,
        "health": sum(ranks) / len(ranks) if ranks else 0.0,
        "nps": NO_NPS if f.nps is None else f.nps / 10,
        "fatigue": max(0.0, 1 - f.references_in_window / allowed),
        "advocates": min(f.advocates_at_level, ADVOCATES_FULL) / ADVOCATES_FULL,
    }


def score(values: Mapping[str, float | None], cfg: RefsConfig) -> float:
    """The weighted mean of the parts present, 0-100, rounded to one decimal."""
    w = cfg.weights
    num = den = 0.0
    for name in PARTS:
        v = values.get(name)
        if v is None:
            continue
        weight = float(getattr(w, name))
        num += weight * v
        den += weight
    return round(100 * num / den, 1) if den else 0.0


def _k(n: float | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1000:,.0f}k" if n >= 10_000 else f"{n:,.0f}"


def reasons(f: Facts, criteria: Criteria, cfg: RefsConfig, as_of: date) -> list[str]:
    """Why the account ranks where it does: one short phrase per part."""
    out: list[str] = []
    if f.industry_match:
        out.append(f"similar industry {f.industry_match}")
    target_employees, target_arr = criteria.size_targets()
    if target_employees is not None:
        out.append(f"{_k(f.account.get('employees'))} employees (target {_k(target_employees)})")
    if target_arr is not None:
        out.append(f"ARR {_k(f.account.get('arr'))} (deal {_k(target_arr)})")
    out.append("adoption " + "/".join(f.bands.get(m) or "n/a" for m in MEASURES))
    out.append(f"NPS {f.nps}" if f.nps is not None else "no NPS")
    n = f.references_in_window
    refs = f"{n} ref{'s' if n != 1 else ''} in {cfg.rules.fatigue.window_days}d"
    if f.last_reference is not None:
        refs += f", last {f.last_reference}"
    out.append(refs)
    k = f.advocates_at_level
    what = f"{criteria.level} " if criteria.level else ""
    out.append(f"{k} {what}advocate{'s' if k != 1 else ''}")
    return out


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One ranked account."""

    rank: int
    account_id: str
    name: str
    industry: str | None
    segment: str | None
    csm: str | None
    score: float
    parts: dict[str, float | None]
    contacts: list[Contact]
    references_90d: int
    last_reference: date | None
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The CSV/JSON row (CSV_COLUMNS): contacts and reasons joined by "; "."""
        return {
            "rank": self.rank,
            "account_id": self.account_id,
            "name": self.name,
            "industry": self.industry,
            "segment": self.segment,
            "score": self.score,
            "contacts": "; ".join(c.label() for c in self.contacts),
            "references_90d": self.references_90d,
            "last_reference": self.last_reference.isoformat() if self.last_reference else None,
            "reasons": "; ".join(self.reasons),
        }


@dataclass(frozen=True)
class Excluded:
    """An account the filters kept and a rule excluded."""

    account_id: str
    name: str
    industry: str | None
    segment: str | None
    rule: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in EXCLUDED_COLUMNS}


@dataclass
class FindResult:
    """What ``refs find`` found, with what each stage removed."""

    as_of: date
    snapshot: date | None
    criteria: Criteria
    industries: list[str]
    limit: int
    active: int  # active accounts
    matched: int  # kept by the filters
    candidates: list[Candidate]  # the top ``limit`` eligible accounts
    eligible: int
    excluded: list[Excluded]
    removed: dict[str, int] = field(default_factory=dict)  # filter -> accounts it alone removes
    notes: list[str] = field(default_factory=list)
    industries_seen: list[str] = field(default_factory=list)  # of the active accounts
    warnings: list[str] = field(default_factory=list)  # the configuration looks wrong
    similar_adds: int | None = None  # accounts --similar would add to those the filters keep

    def by_rule(self) -> dict[str, int]:
        """Excluded accounts per rule, in rule order."""
        counts = {r.name: 0 for r in RULES}
        for e in self.excluded:
            counts[e.rule] += 1
        return {k: v for k, v in counts.items() if v}


# -- reading the book ------------------------------------------------------------------------


def _contact(row: Mapping[str, Any]) -> Contact:
    name = " ".join(p for p in (row["first_name"], row["last_name"]) if p) or row["user_id"]
    return Contact(
        row["user_id"],
        name,
        row["email"],
        row["role"],
        row["level"],
        bool(row["is_advocate"]),
    )


def _level_rank(c: Contact) -> int:
    return USER_LEVELS.index(c.level) if c.level in USER_LEVELS else len(USER_LEVELS)


def best_contacts(
    rows: Iterable[Mapping[str, Any]], level: str | None, n: int = CONTACTS_SHOWN
) -> list[Contact]:
    """The contacts to show: advocates at ``level`` first, then other advocates by seniority,
    then other contacts at ``level``; ``n`` at most (by name within each group)."""
    cs = [_contact(r) for r in rows]

    def group(c: Contact) -> int:
        here = at_level(c.level, c.role, level) if level else False
        if c.advocate:
            return 0 if here or level is None else 1
        return 2 if here else 3

    picked = sorted(
        (c for c in cs if group(c) < 3), key=lambda c: (group(c), _level_rank(c), c.name, c.user_id)
    )
    return picked[:n]


def counted(ref: Mapping[str, Any], cfg: RefsConfig) -> bool:
    """Whether a reference counts towards fatigue: every workflow reference, and every export
    row except the outcomes of ``refs.outcomes.not_counted`` (any case)."""
    if ref["source"] == "workflow":
        return True
    skip = {o.casefold() for o in cfg.outcomes.not_counted}
    return (ref["outcome"] or "").strip().casefold() not in skip


def fatigue_counts(dates: Sequence[date], as_of: date, window_days: int) -> tuple[int, date | None]:
    """(references in the window, the latest reference): the window is the ``window_days``
    days ending on ``as_of``, and a reference dated after it (in progress) is inside it."""
    first = as_of - timedelta(days=window_days - 1)
    return sum(1 for d in dates if d >= first), max(dates) if dates else None


def add_variables(store: Store, accounts: list[dict[str, Any]], as_of: date) -> date | None:
    """Add the bands, ``nps``, ``nps_days`` and ``days_to_renewal`` of ``accounts`` on
    ``as_of``; return the date of the snapshot read (None without one).

    The names and definitions are :func:`cstool.context.book`'s (the latest snapshot on or
    before the date; the latest NPS answer on or before it, by date then response_id), read
    for the filtered accounts alone: ``book`` computes every variable of every account (the
    NPS of the whole book, the touch tiers), 1.8 s for 5,000 accounts.
    """
    from cstool.store import adoption as snapshots_db
    from cstool.store import nps as nps_db

    found = snapshots_db.snapshot_on_or_before(store.db, as_of.isoformat())
    ids = [a["account_id"] for a in accounts]
    current = (
        {r["account_id"]: r for r in snapshots_db.snapshot_of(store.db, found, ids)}
        if found
        else {}
    )
    nps = {a: (s, d) for a, s, d in nps_db.latest_scores_of(store.db, as_of, ids)}
    for a in accounts:
        row = current.get(a["account_id"], {})
        for m in MEASURES:
            a[m] = row.get(m)
            a[f"{m}_band"] = row.get(f"{m}_band")
        answer = nps.get(a["account_id"])
        a["nps"] = answer[0] if answer else None
        a["nps_days"] = (as_of - date.fromisoformat(answer[1])).days if answer else None
        renewal = a.get("renewal_date")
        a["days_to_renewal"] = (date.fromisoformat(renewal) - as_of).days if renewal else None
    return date.fromisoformat(found) if found else None


def _risk_counts(store: Store, types: Sequence[str], as_of: date) -> dict[str, int]:
    from cstool.store import ctas as ctas_db

    out: dict[str, int] = {}
    for t in dict.fromkeys(types):
        for c in ctas_db.listing(store.db, as_of, type=t):
            if c["status"] != "closed" and c["account_id"]:
                out[c["account_id"]] = out.get(c["account_id"], 0) + 1
    return out


def _same(a: Any, b: str | None) -> bool:
    return b is None or (a is not None and str(a).strip().casefold() == b.strip().casefold())


def industries_for(criteria: Criteria, cfg: RefsConfig) -> list[str]:
    """The industry asked for, then (with ``similar``) its neighbours from the config."""
    found = [criteria.industry]
    if criteria.similar:
        wanted = criteria.industry.strip().casefold()
        for k, v in cfg.similar_industries.items():
            if k.strip().casefold() == wanted:
                found += [i for i in v if i.strip().casefold() not in {x.casefold() for x in found}]
    return found


def _feature_window(store: Store, resolved: ResolvedConfig, as_of: date) -> tuple[int, int]:
    from cstool.store import usage as usage_db
    from cstool.store.sql import day_number

    span = usage_db.day_range(store.db)
    last = min(day_number(as_of), span[1]) if span else day_number(as_of)
    return last - resolved.config.metrics.breadth_window_days + 1, last


def find(
    store: Store,
    resolved: ResolvedConfig,
    criteria: Criteria,
    *,
    as_of: date,
    limit: int = 5,
) -> FindResult:
    """Rank the accounts to ask for a reference on ``as_of``; see the module docstring.

    An unknown ``--feature`` (never seen in usage) is an InputError naming the features.
    """
    from cstool.store import refs as refs_db

    cfg = resolved.config.refs
    if not criteria.industry.strip():
        raise InputError("--industry is empty", hint="e.g. --industry Healthcare")
    rows = refs_db.filter_rows(store.db)
    accounts = [dict(zip(refs_db.FILTER_COLUMNS, r, strict=True)) for r in rows]
    industries = industries_for(criteria, cfg)
    wanted = {i.strip().casefold(): i for i in industries}
    feature_days = None
    if criteria.feature is not None:
        _check_feature(store, criteria.feature)
        feature_days = _feature_window(store, resolved, as_of)

    filters: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
        (
            f"--industry {' / '.join(industries)}",
            lambda a: str(a.get("industry") or "").strip().casefold() in wanted,
        )
    ]
    if criteria.segment is not None:
        filters.append(
            (f"--segment {criteria.segment}", lambda a: _same(a.get("segment"), criteria.segment))
        )
    if criteria.region is not None:
        filters.append(
            (f"--region {criteria.region}", lambda a: _same(a.get("region"), criteria.region))
        )
    if criteria.employees is not None:
        lo, hi = criteria.employees
        filters.append(
            (
                f"--employees {lo}-{hi}",
                lambda a: a.get("employees") is not None and lo <= a["employees"] <= hi,
            )
        )
    kept_ids = [a["account_id"] for a in accounts if all(test(a) for _, test in filters)]
    removed = {label: sum(1 for a in accounts if not test(a)) for label, test in filters}
    kept = refs_db.account_details(store.db, kept_ids)
    if criteria.feature is not None and feature_days is not None:
        using = refs_db.accounts_using(
            store.db, criteria.feature, *feature_days, (a["account_id"] for a in kept)
        )
        kept = [a for a in kept if a["account_id"] in using]

    snapshot = add_variables(store, kept, as_of)
    facts = _facts(store, resolved, kept, criteria, as_of)
    eligible: list[Facts] = []
    excluded: list[Excluded] = []
    for f in facts:
        failed = first_failure(f, cfg, as_of, criteria.level)
        a = f.account
        if failed is None:
            eligible.append(f)
        else:
            excluded.append(
                Excluded(f.account_id, a["name"], a.get("industry"), a.get("segment"), *failed)
            )
    ranked = sorted(
        ((score(parts(f, criteria, cfg), cfg), f) for f in eligible),
        key=lambda sf: (-sf[0], sf[1].account_id),
    )
    result = FindResult(
        as_of=as_of,
        snapshot=snapshot,
        criteria=criteria,
        industries=industries,
        limit=limit,
        active=len(accounts),
        matched=len(kept),
        candidates=[],
        eligible=len(eligible),
        excluded=excluded,
        removed=removed,
    )
    top = ranked[:limit]
    contacts = _shown_contacts(store, [f for _, f in top], criteria.level)
    for i, (s, f) in enumerate(top, start=1):
        a = f.account
        result.candidates.append(
            Candidate(
                rank=i,
                account_id=f.account_id,
                name=a["name"],
                industry=a.get("industry"),
                segment=a.get("segment"),
                csm=a.get("csm"),
                score=s,
                parts=parts(f, criteria, cfg),
                contacts=contacts[f.account_id],
                references_90d=f.references_in_window,
                last_reference=f.last_reference,
                reasons=reasons(f, criteria, cfg, as_of),
            )
        )
    if len(result.candidates) < limit:
        if criteria.feature is not None and feature_days is not None:
            using_all = refs_db.accounts_using(
                store.db, criteria.feature, *feature_days, (a["account_id"] for a in accounts)
            )
            result.removed[f"--feature {criteria.feature}"] = len(accounts) - len(using_all)
        result.industries_seen = sorted(
            {str(a["industry"]).strip() for a in accounts if a.get("industry")}, key=str.casefold
        )
        if not criteria.similar:
            result.similar_adds = _similar_adds(
                store, criteria, cfg, accounts, filters[1:], feature_days
            )
        result.notes = _shortfall(result, cfg)
    if criteria.similar or len(result.candidates) < limit:
        result.warnings = _unknown_neighbours(criteria, cfg, accounts)
    return result


def _similar_adds(
    store: Store,
    criteria: Criteria,
    cfg: RefsConfig,
    accounts: Sequence[Mapping[str, Any]],
    others: Sequence[tuple[str, Callable[[Mapping[str, Any]], bool]]],
    feature_days: tuple[int, int] | None,
) -> int | None:
    """How many active accounts ``--similar`` would add to those the filters keep: in a
    neighbour industry and through the other filters (before the rules). None without
    neighbours."""
    from cstool.store import refs as refs_db

    wide = industries_for(replace(criteria, similar=True), cfg)
    neighbours = {i.strip().casefold() for i in wide}
    neighbours.discard(criteria.industry.strip().casefold())
    if not neighbours:
        return None
    added = [
        a["account_id"]
        for a in accounts
        if str(a.get("industry") or "").strip().casefold() in neighbours
        and all(test(a) for _, test in others)
    ]
    if criteria.feature is not None and feature_days is not None and added:
        added = list(refs_db.accounts_using(store.db, criteria.feature, *feature_days, added))
    return len(added)


def _unknown_neighbours(
    criteria: Criteria, cfg: RefsConfig, accounts: Sequence[Mapping[str, Any]]
) -> list[str]:
    """A warning for each industry ``refs.similar_industries`` lists for the industry asked
    for that no active account has: most likely a typo in cstool.yaml."""
    seen = {str(a.get("industry") or "").strip().casefold() for a in accounts}
    wanted = criteria.industry.strip().casefold()
    out = []
    for key, neighbours in cfg.similar_industries.items():
        if key.strip().casefold() != wanted:
            continue
        for n in neighbours:
            if n.strip().casefold() not in seen:
                out.append(
                    f"refs.similar_industries in cstool.yaml lists {n!r} under {key!r}, and no "
                    "active account has that industry (check the spelling)"
                )
    return out


def _check_feature(store: Store, feature: str) -> None:
    from cstool.store import usage as usage_db

    names = sorted(n for n, _ in usage_db.feature_names(store.db))
    if not any(n.casefold() == feature.strip().casefold() for n in names):
        raise InputError(
            f"--feature {feature!r}: no such feature in the usage loaded",
            hint=f"the features are: {', '.join(names)}" if names else "load usage first",
        )


def _facts(
    store: Store,
    resolved: ResolvedConfig,
    accounts: list[dict[str, Any]],
    criteria: Criteria,
    as_of: date,
) -> list[Facts]:
    """The facts of ``accounts`` (the filtered ones), reading each table once."""
    from cstool.store import refs as refs_db

    cfg = resolved.config.refs
    ids = {a["account_id"] for a in accounts}
    dates: dict[str, list[date]] = {}
    for r in refs_db.references(store.db):
        if r["account_id"] in ids and counted(r, cfg):
            dates.setdefault(r["account_id"], []).append(date.fromisoformat(r["date"]))
    advocates: dict[str, list[tuple[Any, Any]]] = {}
    for account_id, _, level, role in refs_db.advocates(store.db, ids):
        advocates.setdefault(account_id, []).append((level, role))
    risk = (
        _risk_counts(store, cfg.rules.no_open_risk_cta.cta_types, as_of)
        if cfg.rules.no_open_risk_cta.enabled
        else {}
    )
    main = criteria.industry.strip().casefold()
    out = []
    for a in accounts:
        aid = a["account_id"]
        n, last = fatigue_counts(dates.get(aid, []), as_of, cfg.rules.fatigue.window_days)
        mine = advocates.get(aid, [])
        here = sum(1 for level, role in mine if at_level(level, role, criteria.level))
        industry = str(a.get("industry") or "")
        nps_days = a.get("nps_days")
        out.append(
            Facts(
                account=a,
                bands={m: a.get(f"{m}_band") for m in MEASURES},
                nps=a.get("nps"),
                nps_date=as_of - timedelta(days=nps_days) if nps_days is not None else None,
                risk_ctas=risk.get(aid, 0),
                days_to_renewal=a.get("days_to_renewal"),
                references_in_window=n,
                last_reference=last,
                advocates_at_level=here,
                advocates=len(mine),
                industry_match=industry if industry.strip().casefold() != main else None,
            )
        )
    return out


def _shown_contacts(
    store: Store, facts: Sequence[Facts], level: str | None
) -> dict[str, list[Contact]]:
    from cstool.store import refs as refs_db

    rows: dict[str, list[dict[str, Any]]] = {f.account_id: [] for f in facts}
    for r in refs_db.contacts(store.db, rows):
        rows[r["account_id"]].append(r)
    return {a: best_contacts(rs, level) for a, rs in rows.items()}


def _shortfall(result: FindResult, cfg: RefsConfig) -> list[str]:
    """Why fewer accounts than the limit came out, and what to try."""
    c = result.criteria
    notes = []
    found = len(result.candidates)
    head = f"Only {found} of {result.limit} wanted" if found else "No account fits"
    # The filters count what each alone removes from the active accounts; the rules what each
    # excluded of the accounts the filters kept. The biggest of either is named.
    rules = {f"the {k} rule": v for k, v in result.by_rule().items()}
    biggest = max([*result.removed.items(), *rules.items()], key=lambda kv: kv[1], default=None)
    if biggest is not None and biggest[0] in rules:
        label, n = biggest
        notes.append(
            f"{head}: {label} removed the most ({n:,} of the {result.matched:,} accounts the"
            " filters kept)"
        )
    elif biggest is not None:
        label, n = biggest
        notes.append(
            f"{head}: {label} removed the most ({n:,} of {result.active:,} active accounts)"
        )
    if result.industries_seen and not any(
        i.casefold() in {s.casefold() for s in result.industries_seen} for i in result.industries
    ):
        notes.append(f"The industries of the active accounts: {', '.join(result.industries_seen)}")
    if result.excluded:
        per = ", ".join(f"{k} {v}" for k, v in result.by_rule().items())
        notes.append(f"Excluded by rule: {per} (--explain lists them)")
    neighbours = industries_for(replace(c, similar=True), cfg)[1:]
    if not c.similar and neighbours:
        notes.append(f"--similar also searches {', '.join(neighbours)}")
        if result.similar_adds is not None:
            n = result.similar_adds
            notes.append(
                f"--similar would add {n:,} active account{'s' if n != 1 else ''} that pass the"
                " filters (the rules still apply)"
            )
    return notes
