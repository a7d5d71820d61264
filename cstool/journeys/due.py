"""Who is due for which step of a journey on a date, and why the others are not.

:func:`plan` evaluates one journey on date D:

1. D must be a send day (``journeys.send_days``, and not a holiday when ``skip_holidays``).
2. The audience: active accounts whose ``audience`` condition holds on D (a comparison with a
   missing value is false). Accounts of the ``holdout`` share get nothing.
3. The recipients: the audience's users whose ``recipients`` condition holds.
4. Each step's rule: ``at`` (the day falls within the last ``catch_up_days`` up to D),
   ``when`` (the condition holds over the account's and the user's variables) or ``after``
   (the earlier step went to the user N days before, within ``catch_up_days`` too).
5. Then, in this order, a due recipient is
   *already sent* (the ledger has the key: each step once per recipient, or once per
   ``reentry_days`` when set), *held out* (a holdout account: recorded in the ledger, sent
   nothing), *suppressed* (unsubscribed in the users export; bounced or complained on any
   journey email; unsubscribed from a journey email of this category: transactional journeys
   ignore unsubscribes but not bounces or complaints), *capped* (the frequency cap across
   journeys is reached: transactional journeys neither count nor are capped), or *limited*
   (beyond ``--limit``); the rest are to be sent.

A/B variants and the holdout are stable hashes: the variant of (journey, step, account), so
one account's people see one variant; the holdout of (journey, account), so a held-out
account gets none of the journey's steps. Everything is in a fixed order (step, account,
user), so the same data gives the same plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cstool.conditions import Condition
from cstool.journeys.definitions import AtRule, Journey, Step
from cstool.journeys.render import ledger_key, unit
from cstool.store import sends as sends_db

if TYPE_CHECKING:
    from cstool.config import Config, ResolvedConfig
    from cstool.journeys.render import Contexts
    from cstool.store import Store

Progress = Callable[[str, int, int], None]
COUNTS = ("due", "already_sent", "held_out", "suppressed", "capped", "limited", "invalid")


@dataclass(slots=True)
class Due:
    """One recipient due for one step: what the ledger will hold for it.

    Kept small (references to shared values; the key computed when asked), as a batch holds
    one per recipient until the ledger has them.
    """

    journey: str
    step: str
    account_id: str
    user_id: str
    cycle: int
    variant: str | None
    template: str
    held_out: bool = False
    reason: str | None = None  # why it is invalid, once the message was built
    # Kept by a dry run only, for the plan it prints:
    subject: str | None = None
    recipient: str | None = None

    @property
    def key(self) -> str:
        """The ledger key (see :func:`cstool.journeys.render.ledger_key`)."""
        return ledger_key(self.journey, self.step, self.user_id, self.cycle)


@dataclass
class Counts:
    """How many recipients were due, and what became of them."""

    due: int = 0
    already_sent: int = 0
    held_out: int = 0
    suppressed: int = 0
    capped: int = 0
    limited: int = 0
    invalid: int = 0

    @property
    def to_send(self) -> int:
        """Due, less everything that is not sent."""
        return (
            self.due
            - self.already_sent
            - self.held_out
            - self.suppressed
            - self.capped
            - self.limited
            - self.invalid
        )

    def as_dict(self) -> dict[str, int]:
        return {**{k: getattr(self, k) for k in COUNTS}, "to_send": self.to_send}


@dataclass
class Plan:
    """The due recipients of one journey on one date."""

    journey: Journey
    as_of: date
    send_day: bool
    not_send_day: str | None  # why not, in words
    items: list[Due] = field(default_factory=list)  # to send (invalid ones marked)
    held: list[Due] = field(default_factory=list)  # held out
    counts: Counts = field(default_factory=Counts)
    audience: int = 0  # accounts in the audience
    recipients: int = 0  # their users who are recipients
    contexts: Contexts | None = None

    def by_step(self) -> dict[str, Counter[str]]:
        """Per step: to send and invalid."""
        out: dict[str, Counter[str]] = {s.id: Counter() for s in self.journey.steps}
        for item in self.items:
            out[item.step]["invalid" if item.reason else "to_send"] += 1
        for item in self.held:
            out[item.step]["held_out"] += 1
        return out


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def send_day(config: Config, day: date) -> str | None:
    """None when ``day`` is a send day, else why not (in words)."""
    from cstool.busdays import Calendar
    from cstool.config import WEEKDAYS

    rules = config.journeys
    if WEEKDAYS[day.weekday()] not in rules.send_days:
        return (
            f"{day} is a {WEEKDAY_NAMES[day.weekday()]}, not a send day "
            f"(journeys.send_days: {', '.join(rules.send_days)})"
        )
    if rules.skip_holidays and day in Calendar.from_config(config).holidays_for(day.year, day.year):
        return f"{day} is a holiday, not a send day (journeys.skip_holidays)"
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class _Last:
    """The latest ledger row of a (user, step), and the latest day a message went out."""

    cycle: int
    day: date
    status: str
    mailed: date | None


def _history(store: Store, journey: str) -> dict[tuple[str, str], _Last]:
    last: dict[tuple[str, str], _Last] = {}
    for user_id, step, cycle, day, status in sends_db.history(store.db, journey):
        key = (user_id, step)
        before = last.get(key)
        mailed = before.mailed if before else None
        d = date.fromisoformat(day)
        if status in sends_db.MAILED and (mailed is None or d > mailed):
            mailed = d
        last[key] = _Last(cycle, d, status, mailed)  # rows come by cycle
    return last


@dataclass(frozen=True)
class Suppression:
    """Who may not be mailed: everywhere, or per category."""

    everywhere: frozenset[str]  # bounced or complained (any category, transactional too)
    unsubscribed: frozenset[str]  # users export: every non-transactional category
    by_category: dict[str, frozenset[str]]  # unsubscribed from one category's email

    def reason(self, user: dict[str, Any], category: str, transactional: bool) -> bool:
        """Whether this user is suppressed for a journey of ``category``."""
        user_id = user["user_id"]
        if user_id in self.everywhere:
            return True
        if transactional:
            return False
        return (
            bool(user.get("unsubscribed"))
            or user_id in self.unsubscribed
            or user_id in self.by_category.get(category, frozenset())
        )


def suppression(store: Store, categories: Mapping[str, str]) -> Suppression:
    """Bounces, complaints and unsubscribes from the email events of ledger messages.

    ``categories`` maps journey names to categories; an unsubscribe from a journey that no
    longer exists counts for every category.
    """
    everywhere: set[str] = set()
    unsubscribed: set[str] = set()
    by_category: dict[str, set[str]] = {}
    for user_id, journey, event in sends_db.suppressing_events(store.db):
        if event in ("bounce", "complaint"):
            everywhere.add(user_id)
        elif journey in categories:
            by_category.setdefault(categories[journey], set()).add(user_id)
        else:
            unsubscribed.add(user_id)
    return Suppression(
        frozenset(everywhere),
        frozenset(unsubscribed),
        {k: frozenset(v) for k, v in by_category.items()},
    )


def choose(journey: Journey, step: Step, account_id: str) -> tuple[str | None, str]:
    """The variant label and template of ``step`` for an account (a stable weighted hash)."""
    choices = step.choices
    if len(choices) == 1:
        return choices[0][0], choices[0][1]
    total = sum(w for _, _, w in choices)
    point = unit(journey.name, step.id, account_id) * total
    for label, template, weight in choices:
        if point < weight:
            return label, template
        point -= weight
    return choices[-1][0], choices[-1][1]  # pragma: no cover - float rounding at the top end


def held_out(journey: Journey, account_id: str) -> bool:
    """Whether an account is in the journey's holdout (a stable hash of journey and account)."""
    return journey.holdout > 0 and unit(journey.name, "holdout", account_id) < journey.holdout


def _due(
    step: Step,
    variables: dict[str, Any],
    last: dict[tuple[str, str], _Last],
    as_of: date,
) -> bool:
    rule = step.rule
    if isinstance(rule, Condition):
        return rule.holds(variables)
    first = as_of - timedelta(days=step.catch_up_days - 1)
    if isinstance(rule, AtRule):
        base = _date(variables.get(rule.variable))
        return base is not None and first <= base + timedelta(days=rule.days) <= as_of
    before = last.get((variables["user_id"], rule.step))
    if before is None or before.mailed is None:
        return False
    return first <= before.mailed + timedelta(days=rule.days) <= as_of


def plan(
    store: Store,
    resolved: ResolvedConfig,
    journey: Journey,
    as_of: date,
    *,
    categories: Mapping[str, str],
    transactional: Sequence[str] = (),
    step: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Who is due for ``journey`` on ``as_of``; see the module docstring for the rules.

    ``categories`` maps every journey's name to its category and ``transactional`` lists the
    transactional journeys (exempt from the frequency cap). ``step`` plans one step only;
    ``limit`` keeps at most that many messages (the rest are counted as limited).
    """
    from cstool import context
    from cstool.journeys.render import Contexts

    config = resolved.config
    why_not = send_day(config, as_of)
    result = Plan(journey, as_of, why_not is None, why_not)
    if why_not is not None:
        return result
    steps = [journey.step(step)] if step is not None else list(journey.steps)
    book = context.book(store, resolved, as_of)
    audience = journey.audience_condition
    accounts = [a["account_id"] for a in book.accounts if audience.holds(a)]
    result.audience = len(accounts)
    contexts = Contexts.build(store, resolved, as_of, accounts, book=book)
    result.contexts = contexts
    recipients_rule = journey.recipients_condition
    people: list[tuple[str, dict[str, Any]]] = []
    by_account: dict[str, list[dict[str, Any]]] = {}
    for user in contexts.users.values():
        by_account.setdefault(user["account_id"], []).append(user)
    for account_id in accounts:
        for user in sorted(by_account.get(account_id, []), key=lambda u: u["user_id"]):
            if recipients_rule.holds(user):
                people.append((account_id, user))
    result.recipients = len(people)

    last = _history(store, journey.name)
    blocked = suppression(store, categories)
    cap = None if journey.transactional else config.journeys.frequency_cap
    mailed: Counter[str] = Counter()
    if cap is not None:
        first = (as_of - timedelta(days=cap.days - 1)).isoformat()
        exempt = list(transactional)
        mailed.update(
            u for u, _ in sends_db.mailed_days(store.db, first, as_of.isoformat(), exempt)
        )
    counts = result.counts
    total = len(steps) * len(people)
    done = 0
    for s in steps:
        for account_id, user in people:
            done += 1
            if progress is not None and done % 2048 == 0:
                progress("planning", done, total)
            account = book.get(account_id)
            assert account is not None
            variables = {**account, **user}
            if not _due(s, variables, last, as_of):
                continue
            counts.due += 1
            user_id = user["user_id"]
            previous = last.get((user_id, s.id))
            cycle = 0
            if previous is not None:
                if previous.status == sends_db.INVALID:
                    cycle = previous.cycle
                elif journey.reentry_days is not None and (
                    previous.day + timedelta(days=journey.reentry_days) <= as_of
                ):
                    cycle = previous.cycle + 1
                elif previous.status == sends_db.HELD_OUT:
                    counts.held_out += 1  # held out before: still held out, not sent
                    continue
                else:
                    counts.already_sent += 1
                    continue
            variant, template = choose(journey, s, account_id)
            item = Due(journey.name, s.id, account_id, user_id, cycle, variant, template)
            if held_out(journey, account_id):
                item.held_out = True
                result.held.append(item)
                counts.held_out += 1
                continue
            if blocked.reason(user, journey.category, journey.transactional):
                counts.suppressed += 1
                continue
            if cap is not None and mailed[user_id] >= cap.emails:
                counts.capped += 1
                continue
            if limit is not None and len(result.items) >= limit:
                counts.limited += 1
                continue
            mailed[user_id] += 1
            result.items.append(item)
    if progress is not None:
        progress("planning", total, total)
    return result
