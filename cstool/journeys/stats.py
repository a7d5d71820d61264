"""``journey stats`` and ``account emails``: what the journey's email did, from the ledger and
the email_events export (joined on Message-ID).

Counts per group (the whole journey, a step or a variant):

* ``sent``: messages that left or may have: ``written`` (in the outbox, for delivery by
  cstool or another mail server), ``sent`` and ``unknown``;
* ``delivered``, ``bounced``, ``unsubscribed``, ``complaints``, ``clicks``: distinct messages
  with at least one such event;
* ``opens``: distinct messages with at least one open that is not a privacy-proxy or prefetch
  open; ``proxy_opens``: messages whose every open is one.

**Proxy and prefetch opens** (:func:`machine_open`): Apple Mail Privacy Protection loads every
message's images through Apple's proxies whether or not anyone reads it, and mail security
scanners fetch images and links of incoming mail. An open is counted as such, and left out of
``opens``, when its user agent is the one Apple's proxy presents (exactly ``Mozilla/5.0
(Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)``, with no
browser after it), names a known scanner or proxy (Barracuda, Mimecast, Proofpoint,
YahooMailProxy), is empty, or when the open comes within ``journeys.proxy_open_seconds``
(default 60) of the message's delivery: nobody reads that fast, machines do.

Rates are shares of ``delivered`` (``bounce_rate`` of ``sent``), None without any.

**A/B**: per step with variants, each variant against the first, on clicks and on opens, with
a two-proportion z-test (pooled; p-value from ``math.erfc``). The verdict says which is better
when p < 0.05, else how many more deliveries per variant would detect the difference seen
(80% power, 5% two-sided significance).

**Holdout**: for a journey with a holdout, the change of depth and breadth from the snapshot
on the day an account's first email went (or was held back) to the snapshot
``journeys.lift_days`` later, the recipients' accounts against the held-out accounts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cstool.errors import NotFoundError, UsageError
from cstool.store import sends as sends_db

if TYPE_CHECKING:
    from cstool.journeys.send import Unknown
    from cstool.store import Store
    from cstool.workspace import Workspace

STAT_COLUMNS = (
    "group",
    "sent",
    "delivered",
    "bounced",
    "unsubscribed",
    "complaints",
    "opens",
    "proxy_opens",
    "clicks",
    "delivery_rate",
    "bounce_rate",
    "open_rate",
    "click_rate",
    "unsubscribe_rate",
)
COUNTED = (sends_db.WRITTEN, sends_db.SENT, sends_db.UNKNOWN)
APPLE_PROXY = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
SCANNERS = ("barracuda", "mimecast", "proofpoint", "yahoomailproxy")
Z_ALPHA = 1.959963984540054  # two-sided 5%
Z_POWER = 0.8416212335729143  # 80% power
GROUPINGS = ("step", "variant")


def p_value(p: float) -> str:
    """A p-value as people read it: two decimals, and ``p<0.01`` rather than ``p=0.00``."""
    return "p<0.01" if p < 0.005 else f"p={p:.2f}"


def machine_open(user_agent: str | None, seconds_after_delivery: float | None, window: int) -> bool:
    """Whether an open is a privacy proxy's or a prefetcher's (see the module docstring)."""
    agent = (user_agent or "").strip()
    if not agent or agent == APPLE_PROXY:
        return True
    lowered = agent.lower()
    if any(s in lowered for s in SCANNERS):
        return True
    return seconds_after_delivery is not None and 0 <= seconds_after_delivery <= window


def _time(stamp: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass(frozen=True)
class Engagement:
    """What the events say about one message."""

    delivered: bool = False
    bounced: bool = False
    unsubscribed: bool = False
    complained: bool = False
    opened: bool = False  # by a person
    proxy_opened: bool = False  # only by proxies and prefetchers
    clicked: bool = False
    first_open: str | None = None
    first_click: str | None = None


def engagement(
    events: Iterable[tuple[str, str, str, str, str | None]], window: int
) -> dict[str, Engagement]:
    """Per Message-ID, from (message_id, event, timestamp, url, user_agent) rows."""
    by_message: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for mid, event, stamp, _url, agent in events:
        by_message[mid].append((event, stamp, agent))
    out: dict[str, Engagement] = {}
    for mid, rows in by_message.items():
        kinds = {e for e, _, _ in rows}
        delivered = [t for e, s, _ in rows if e == "delivered" and (t := _time(s)) is not None]
        delivered_at = min(delivered) if delivered else None
        human: list[str] = []
        machine = False
        for event, stamp, agent in rows:
            if event != "open":
                continue
            at = _time(stamp)
            gap = (at - delivered_at).total_seconds() if at and delivered_at else None
            if machine_open(agent, gap, window):
                machine = True
            else:
                human.append(stamp)
        clicks = sorted(s for e, s, _ in rows if e == "click")
        out[mid] = Engagement(
            delivered="delivered" in kinds,
            bounced="bounce" in kinds,
            unsubscribed="unsubscribe" in kinds,
            complained="complaint" in kinds,
            opened=bool(human),
            proxy_opened=machine and not human,
            clicked=bool(clicks),
            first_open=min(human) if human else None,
            first_click=clicks[0] if clicks else None,
        )
    return out


@dataclass
class Tally:
    """The counts of one group."""

    group: str
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    complaints: int = 0
    opens: int = 0
    proxy_opens: int = 0
    clicks: int = 0

    def add(self, e: Engagement | None) -> None:
        self.sent += 1
        if e is None:
            return
        self.delivered += e.delivered
        self.bounced += e.bounced
        self.unsubscribed += e.unsubscribed
        self.complaints += e.complained
        self.opens += e.opened
        self.proxy_opens += e.proxy_opened
        self.clicks += e.clicked

    def as_dict(self) -> dict[str, Any]:
        def share(n: int, of: int) -> float | None:
            return n / of if of else None

        return {
            "group": self.group,
            "sent": self.sent,
            "delivered": self.delivered,
            "bounced": self.bounced,
            "unsubscribed": self.unsubscribed,
            "complaints": self.complaints,
            "opens": self.opens,
            "proxy_opens": self.proxy_opens,
            "clicks": self.clicks,
            "delivery_rate": share(self.delivered, self.sent),
            "bounce_rate": share(self.bounced, self.sent),
            "open_rate": share(self.opens, self.delivered),
            "click_rate": share(self.clicks, self.delivered),
            "unsubscribe_rate": share(self.unsubscribed, self.delivered),
        }


# -- A/B ---------------------------------------------------------------------------------------


def z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """(z, two-sided p) of the difference of two proportions, pooled; None without data."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def needed_per_variant(p1: float, p2: float) -> int | None:
    """Deliveries per variant to detect p1 vs p2 (80% power, 5% two-sided); None if equal."""
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    root = Z_ALPHA * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / (p1 - p2) ** 2)


@dataclass(frozen=True)
class Comparison:
    """One variant against the first on one measure."""

    step: str
    measure: str  # clicks or opens
    base: str
    variant: str
    base_rate: float | None
    rate: float | None
    difference: float | None
    p_value: float | None
    verdict: str


def compare(step: str, tallies: Sequence[Tally], measure: str) -> list[Comparison]:
    """Each variant of a step against the first, on ``measure`` (clicks or opens)."""
    base = tallies[0]
    out = []
    for other in tallies[1:]:
        x1, n1 = getattr(base, measure), base.delivered
        x2, n2 = getattr(other, measure), other.delivered
        test = z_test(x1, n1, x2, n2)
        if test is None:
            out.append(
                Comparison(
                    step,
                    measure,
                    base.group,
                    other.group,
                    None,
                    None,
                    None,
                    None,
                    "not enough data yet: no deliveries to compare",
                )
            )
            continue
        p1, p2 = x1 / n1, x2 / n2
        _, p = test
        if p < 0.05:
            winner = other.group if p2 > p1 else base.group
            verdict = f"{winner} better on {measure}, {p_value(p)}"
        else:
            need = needed_per_variant(p1, p2)
            if need is None:
                verdict = f"no difference on {measure} so far ({p_value(p)})"
            else:
                more = max(need - min(n1, n2), 1)
                verdict = f"not enough data yet: about {more:,} more sends per variant"
        out.append(Comparison(step, measure, base.group, other.group, p1, p2, p2 - p1, p, verdict))
    return out


# -- holdout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lift:
    """The change of a measure after the first send: recipients' accounts vs the holdout's."""

    measure: str
    days: int
    recipients: int  # accounts with both snapshots
    recipients_change: float | None
    holdout: int
    holdout_change: float | None

    @property
    def lift(self) -> float | None:
        if self.recipients_change is None or self.holdout_change is None:
            return None
        return self.recipients_change - self.holdout_change


def lift(store: Store, rows: Sequence[Mapping[str, Any]], days: int) -> list[Lift]:
    """Depth and breadth change ``days`` after each account's first row, by group."""
    from cstool.store import adoption as snapshots_db

    first: dict[tuple[str, bool], str] = {}
    for r in rows:
        if r["status"] in COUNTED or r["status"] == sends_db.HELD_OUT:
            key = (str(r["account_id"]), r["status"] == sends_db.HELD_OUT)
            first[key] = min(first.get(key, "9999"), str(r["day"]))
    cache: dict[str, dict[str, dict[str, Any]]] = {}

    def values_on(day: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
        found = snapshots_db.snapshot_on_or_before(store.db, day)
        if found is None:
            return None, {}
        if found not in cache:
            cache[found] = {s["account_id"]: s for s in snapshots_db.snapshot(store.db, found)}
        return found, cache[found]

    changes: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for (account_id, held), day in first.items():
        start, before = values_on(day)
        later = (date.fromisoformat(day) + timedelta(days=days)).isoformat()
        end, after = values_on(later)
        if start is None or end is None or end <= start or end < later:
            continue
        a, b = before.get(account_id), after.get(account_id)
        if a is None or b is None:
            continue
        for m in ("depth", "breadth"):
            if a[m] is not None and b[m] is not None:
                changes[(m, held)].append(b[m] - a[m])

    def mean(v: list[float]) -> float | None:
        return sum(v) / len(v) if v else None

    return [
        Lift(
            m,
            days,
            len(changes[(m, False)]),
            mean(changes[(m, False)]),
            len(changes[(m, True)]),
            mean(changes[(m, True)]),
        )
        for m in ("depth", "breadth")
    ]


# -- the report --------------------------------------------------------------------------------


@dataclass
class JourneyStats:
    """``journey stats``: counts per group, A/B comparisons, holdout lift, batches."""

    journey: str
    by: str | None
    rows: list[dict[str, Any]]
    comparisons: list[Comparison] = field(default_factory=list)
    lifts: list[Lift] = field(default_factory=list)
    holdout: float = 0.0
    batches: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)  # held for ``journey resolve``


def _variant_label(row: Mapping[str, Any]) -> str:
    return f"{row['step']} {row['variant']}" if row["variant"] else str(row["step"])


def journey_stats(ws: Workspace, name: str, by: str | None = None) -> JourneyStats:
    """The stats of one journey; ``by`` is None (the whole journey), "step" or "variant"."""
    # Imported here: the account 360 and timeline read emails_of without the definitions.
    from cstool.journeys.definitions import check_name, find, journey_definitions
    from cstool.journeys.send import unknown_outcomes

    check_name(name)
    if by is not None and by not in GROUPINGS:
        raise UsageError(f"unknown grouping {by!r}", hint="use --by step or --by variant")
    config = ws.resolved.config
    with ws.open_store() as store:
        journey = find(journey_definitions(ws, store), name).model
        rows = sends_db.rows(store.db, journey=name)
        events = engagement(
            sends_db.events(store.db, journey=name), config.journeys.proxy_open_seconds
        )
        lifts = lift(store, rows, config.journeys.lift_days) if journey.holdout else []
        batches = sends_db.batches(store.db, name)
        held = unknown_outcomes(store, name)
        per_batch: dict[int, dict[str, int]] = {
            b.batch_id: sends_db.count_by_status(store.db, b.batch_id) for b in batches
        }
    order = {s.id: i for i, s in enumerate(journey.steps)}
    groups: dict[str, Tally] = {}
    variants: dict[str, dict[str, Tally]] = defaultdict(dict)
    for r in sorted(rows, key=lambda r: (order.get(str(r["step"]), 99), r["variant"] or "")):
        if r["status"] not in COUNTED:
            continue
        e = events.get(str(r["message_id"]))
        label = "all" if by is None else str(r["step"]) if by == "step" else _variant_label(r)
        groups.setdefault(label, Tally(label)).add(e)
        if r["variant"]:
            step_variants = variants[str(r["step"])]
            step_variants.setdefault(str(r["variant"]), Tally(str(r["variant"]))).add(e)
    comparisons: list[Comparison] = []
    for step, tallies in variants.items():
        if len(tallies) > 1:
            ordered = [tallies[k] for k in sorted(tallies)]
            comparisons += compare(step, ordered, "clicks") + compare(step, ordered, "opens")
    batch_rows = [
        {
            "batch": b.batch_id,
            "as_of": b.as_of,
            "folder": f"outbox/{name}/{b.folder}",
            "complete": b.complete,
            **{s: per_batch[b.batch_id].get(s, 0) for s in sends_db.STATUSES},
        }
        for b in batches
    ]
    return JourneyStats(
        name,
        by,
        [t.as_dict() for t in groups.values()],
        comparisons,
        lifts,
        journey.holdout,
        batch_rows,
        held,
    )


# -- account emails ----------------------------------------------------------------------------

EMAIL_COLUMNS = (
    "day",
    "journey",
    "step",
    "variant",
    "user_id",
    "recipient",
    "subject",
    "status",
    "outcome",
    "opened",
    "clicked",
    "delivered",
    "bounced",
    "complained",
    "unsubscribed",
    "message_id",
)


def outcome(status: str, e: Engagement | None) -> str:
    """What became of a message: the strongest of its email events (complained, unsubscribed,
    bounced, delivered), else its ledger status (written, sent, unknown...)."""
    if e is not None:
        for word, hit in (
            ("complained", e.complained),
            ("unsubscribed", e.unsubscribed),
            ("bounced", e.bounced),
            ("delivered", e.delivered),
        ):
            if hit:
                return word
    return status


def account_emails(ws: Workspace, account_id: str) -> list[dict[str, Any]]:
    """What the account's people were sent by journeys, newest first, opened or clicked."""
    from cstool.store import accounts as accounts_db

    window = ws.resolved.config.journeys.proxy_open_seconds
    with ws.open_store() as store:
        if accounts_db.account(store.db, account_id) is None:
            raise NotFoundError(
                f"no account {account_id!r}", hint="see `cstool score` for the account ids"
            )
        return emails_of(store, account_id, window)


def emails_of(store: Store, account_id: str, window: int) -> list[dict[str, Any]]:
    """The account's journey emails (held-out and invalid rows left out), newest first."""
    rows = sends_db.rows(store.db, account_id=account_id, statuses=sends_db.WITH_MESSAGE)
    events = engagement(sends_db.events(store.db, account_id=account_id), window)
    out = []
    for r in sorted(rows, key=lambda r: (r["day"], r["send_id"]), reverse=True):
        e = events.get(str(r["message_id"]))
        out.append(
            {
                "day": r["day"],
                "journey": r["journey"],
                "step": r["step"],
                "variant": r["variant"],
                "user_id": r["user_id"],
                "recipient": r["recipient"],
                "subject": r["subject"],
                "status": r["status"],
                "outcome": outcome(str(r["status"]), e),
                "opened": bool(e and e.opened),
                "clicked": bool(e and e.clicked),
                "delivered": bool(e and e.delivered),
                "bounced": bool(e and e.bounced),
                "complained": bool(e and e.complained),
                "unsubscribed": bool(e and e.unsubscribed),
                "message_id": r["message_id"],
            }
        )
    return out
