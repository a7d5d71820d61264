"""Touch tiers: which accounts get a person (high), a person when something is wrong (low), or
automated email only (tech).

``touch_tiers:`` in ``cstool.yaml`` is an ordered list of rules ``{tier, when}``; the first
rule whose condition holds gives the account its tier, and ``default_touch_tier`` the rest.
The conditions use the account variables of playbooks, except ``touch_tier`` itself.
:func:`report` lists each account's tier with the rule behind it, and the book per CSM:
accounts, ARR and open CTAs per tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from cstool.conditions import ACCOUNT_VARIABLES, TOUCH_TIERS, Catalogue, Condition, ConditionError
from cstool.errors import InputError, Location, UsageError

if TYPE_CHECKING:
    from cstool.config import ResolvedConfig
    from cstool.context import Book

DEFAULT_RULE = "default"
_REFERENCE = "`cstool playbooks vars` lists the variables (all but touch_tier)"


def _without_tier(catalogue: Catalogue) -> Catalogue:
    return Catalogue((v for v in catalogue if v.name != "touch_tier"), reference=_REFERENCE)


def check_rule(source: str) -> None:
    """Check a rule's condition when ``cstool.yaml`` is read: syntax, forbidden constructs and
    impossible quoted values raise :class:`ConditionError`.

    Unknown names are left for :func:`compile_rules`, which knows the workspace's account
    attributes (a rule may use an extra column of the accounts export).
    """
    try:
        _without_tier(ACCOUNT_VARIABLES).compile(source)
    except ConditionError as e:
        if not e.message.startswith("unknown variable"):
            raise


@dataclass(frozen=True)
class Rule:
    """One compiled touch tier rule."""

    tier: str
    condition: Condition

    def describe(self, index: int) -> str:
        """How people read it: ``2: lifecycle_stage == 'Onboarding'``."""
        return f"{index + 1}: {' '.join(self.condition.source.split())}"


@dataclass(frozen=True)
class TierRules:
    """The compiled rules, in order, and the default tier."""

    rules: tuple[Rule, ...]
    default: str

    def assign(self, variables: Mapping[str, Any]) -> tuple[str, int | None]:
        """The tier of an account and the index of the rule that gave it (None: default)."""
        for i, rule in enumerate(self.rules):
            if rule.condition.holds(variables):
                return rule.tier, i
        return self.default, None

    def describe(self, index: int | None) -> str:
        """The rule at ``index`` as people read it, or ``default``."""
        return DEFAULT_RULE if index is None else self.rules[index].describe(index)


def _location(resolved: ResolvedConfig, index: int) -> Location:
    from cstool.yamlfile import line_of, read_text

    path = resolved.path
    name = path.name if path is not None else "cstool.yaml"
    source = next((s.source for s in resolved.settings if s.key == "touch_tiers"), "default")
    if source.startswith("env "):
        return Location(f"environment variable {source[4:]}")
    if path is None or not path.exists() or source == "default":
        return Location(name)
    return Location(name, line=line_of(read_text(path), ("touch_tiers", index, "when")))


def compile_rules(resolved: ResolvedConfig, catalogue: Catalogue) -> TierRules:
    """Compile ``touch_tiers`` against ``catalogue`` (the workspace's account variables).

    A rule that names an unknown variable, or ``touch_tier`` itself, is an InputError at its
    line in ``cstool.yaml``.
    """
    config = resolved.config
    known = _without_tier(catalogue)
    rules = []
    for i, rule in enumerate(config.touch_tiers):
        try:
            condition = known.compile(rule.when)
        except ConditionError as e:
            hint = e.hint
            if "touch_tier" in rule.when and "'touch_tier'" in e.message:
                hint = "a touch tier rule cannot use touch_tier: it is what the rules decide"
            raise InputError(
                f"touch_tiers.{i}.when: {e.message}", location=_location(resolved, i), hint=hint
            ) from None
        rules.append(Rule(rule.tier, condition))
    return TierRules(tuple(rules), config.default_touch_tier)


# -- the report ------------------------------------------------------------------------------

ACCOUNT_COLUMNS = ("account_id", "name", "csm", "segment", "arr", "tier", "rule", "open_ctas")
BOOK_COLUMNS = ("csm", "tier", "accounts", "arr", "arr_share", "open_ctas")


@dataclass(frozen=True)
class AccountTier:
    """One account's tier and the rule behind it."""

    account_id: str
    name: str
    csm: str | None
    segment: str | None
    arr: float | None
    tier: str
    rule: str
    open_ctas: int

    def as_dict(self) -> dict[str, Any]:
        from cstool.csvfile import amount

        return {**self.__dict__, "arr": amount(self.arr)}


@dataclass(frozen=True)
class BookRow:
    """One CSM's accounts in one tier: how many, their ARR and open CTAs.

    ``arr_share`` is the share of the CSM's whole ARR in this tier (None when it is 0).
    """

    csm: str | None
    tier: str
    accounts: int
    arr: float
    arr_share: float | None
    open_ctas: int

    def as_dict(self) -> dict[str, Any]:
        from cstool.csvfile import amount

        return {**self.__dict__, "arr": amount(self.arr)}


@dataclass(frozen=True)
class TierReport:
    """Every active account's tier on ``as_of`` and the book per CSM."""

    as_of: date
    snapshot: date | None
    accounts: list[AccountTier]
    book: list[BookRow]
    totals: dict[str, int]  # accounts per tier
    rules: list[str]  # the rules as people read them, then "default: TIER"
    warnings: list[str] = field(default_factory=list)


def _same(a: str | None, b: str) -> bool:
    return (a or "").strip().casefold() == b.strip().casefold()


def report(b: Book, *, csm: str | None = None, tier: str | None = None) -> TierReport:
    """Each account's touch tier in book ``b`` with its rule, and the book per CSM.

    ``csm`` and ``tier`` narrow both (any case). The book has a row per CSM and tier, in
    CSM order then high, low, tech; an account without a CSM is under None.
    """
    if tier is not None and tier.strip().lower() not in TOUCH_TIERS:
        raise UsageError(
            f"--tier {tier!r} is not a touch tier", hint=f"use one of {', '.join(TOUCH_TIERS)}"
        )
    rows = [
        AccountTier(
            a["account_id"],
            a["name"],
            a["csm"],
            a["segment"],
            a["arr"],
            a["touch_tier"],
            b.tiers.describe(b.tier_rule[a["account_id"]]),
            a["open_ctas"],
        )
        for a in b.accounts
        if (csm is None or _same(a["csm"], csm)) and (tier is None or _same(a["touch_tier"], tier))
    ]
    groups: dict[tuple[str | None, str], list[AccountTier]] = {}
    for r in rows:
        groups.setdefault((r.csm, r.tier), []).append(r)
    arr_of: dict[str | None, float] = {}  # each CSM's whole ARR, whatever --tier shows
    for a in b.accounts:
        arr_of[a["csm"]] = arr_of.get(a["csm"], 0.0) + (a["arr"] or 0.0)
    order = {t: i for i, t in enumerate(TOUCH_TIERS)}
    book_rows = []
    for (who, t), members in sorted(
        groups.items(), key=lambda kv: ((kv[0][0] or "\uffff").casefold(), order[kv[0][1]])
    ):
        arr = sum(m.arr or 0.0 for m in members)
        total = arr_of[who]
        book_rows.append(
            BookRow(
                who,
                t,
                len(members),
                arr,
                arr / total if total else None,
                sum(m.open_ctas for m in members),
            )
        )
    totals = {t: sum(1 for r in rows if r.tier == t) for t in TOUCH_TIERS}
    rules = [r.describe(i) for i, r in enumerate(b.tiers.rules)]
    rules = [f"{text} -> {r.tier}" for text, r in zip(rules, b.tiers.rules, strict=True)]
    rules.append(f"{DEFAULT_RULE} -> {b.tiers.default}")
    warnings = []
    if b.snapshot is None:
        warnings.append(
            f"there is no adoption snapshot on or before {b.as_of}, so every band is missing "
            "and rules that compare bands do not hold (run `cstool score --as-of` for that date)"
        )
    return TierReport(b.as_of, b.snapshot, rows, book_rows, totals, rules, warnings)
