"""Net Promoter Score: promoters, passives and detractors by group, with response rates.

A response of 9 or 10 is a promoter, 7 or 8 a passive, 0 to 6 a detractor. NPS is the share
of promoters minus the share of detractors, in points from -100 to 100, unrounded; a group
without responses has no NPS (None), never 0.

The response rate is the share of the group's active users (events > 0 in the period) who
answered in the period. The change is the group's NPS minus its NPS over the previous period
of the same length, None when either period has no responses. With ``by="quarter"``, each row
is a calendar quarter clipped to the period, and its change is against the row above it as
shown (so a quarter after a clipped first row is compared with that clipped part); the first
row's against the quarter before, or when clipped, against as many days just before it.

Roles come from the users export (a response's ``user_id``), segments and CSMs from the
accounts export, so the score of executive sponsors and of administrators can be compared;
touch tiers from the tier rules of ``cstool.yaml`` (:mod:`cstool.context`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, NotFoundError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from cstool.config import ResolvedConfig
    from cstool.store import Store

PROMOTER_MIN = 9
PASSIVE_MIN = 7
NPS_COLUMNS = (
    "group",
    "responses",
    "promoters",
    "passives",
    "detractors",
    "nps",
    "response_rate",
    "change",
)
COMMENT_COLUMNS = (
    "response_id",
    "date",
    "account_id",
    "account_name",
    "user_id",
    "role",
    "score",
    "category",
    "comment",
)
GROUPINGS = ("role", "segment", "csm", "tier", "quarter")
DEFAULT_PERIOD_DAYS = 90
ALL = "all"


def category(score: int) -> str:
    """promoter (9-10), passive (7-8) or detractor (0-6)."""
    if score >= PROMOTER_MIN:
        return "promoter"
    if score >= PASSIVE_MIN:
        return "passive"
    return "detractor"


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    """% promoters minus % detractors, from -100 to 100; None without responses."""
    if responses == 0:
        return None
    return 100.0 * (promoters - detractors) / responses


@dataclass(frozen=True)
class Period:
    """A span of days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def clip(self, other: Period) -> Period | None:
        """The days this period shares with ``other``, or None."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Period(start, end) if start <= end else None

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


def quarter_of(d: date) -> str:
    """The calendar quarter of a date, as ``2026-Q3``."""
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def quarter_period(d: date) -> Period:
    """The calendar quarter that holds ``d``."""
    first_month = 3 * ((d.month - 1) // 3) + 1
    start = date(d.year, first_month, 1)
    nxt = date(d.year + 1, 1, 1) if first_month == 10 else date(d.year, first_month + 3, 1)
    return Period(start, nxt - timedelta(days=1))


@dataclass(frozen=True)
class NpsRow:
    """One line of the NPS report (the columns of ``cstool nps --format csv``)."""

    group: str | None
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    response_rate: float | None
    change: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NpsReport:
    """NPS over a period, per group, with the overall row."""

    by: str | None
    period: Period
    previous: Period
    total: NpsRow
    rows: list[NpsRow]


@dataclass(frozen=True)
class Counts:
    """Responses by category, and the respondents among the active users."""

    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    active: int = 0
    active_respondents: int = 0

    @property
    def nps(self) -> float | None:
        return nps(self.promoters, self.detractors, self.responses)

    @property
    def response_rate(self) -> float | None:
        return self.active_respondents / self.active if self.active else None


def count(
    responses: pd.DataFrame, active: pd.DataFrame, group: str | None
) -> dict[str | None, Counts]:
    """Counts per value of the ``group`` column (None: one group for everything).

    ``responses`` has the columns ``score`` and ``user_id`` plus the group column; ``active``
    has ``user_id`` and the group column, one row per active user. Missing group values
    form their own group (None).
    """
    import pandas as pd

    def keys(frame: pd.DataFrame) -> pd.Series:
        if group is None:
            return pd.Series([ALL] * len(frame), index=frame.index, dtype=object)
        return frame[group].astype(object)

    def key(g: Any) -> str | None:
        return None if g is None or pd.isna(g) or g == "" else str(g)

    counts: dict[str | None, dict[str, int]] = {}
    if len(responses):
        frame = pd.DataFrame({"g": keys(responses), "c": responses["score"].map(category)})
        sizes = frame.groupby(["g", "c"], dropna=False).size()
        for (g, c), n in zip(sizes.index.tolist(), sizes.tolist(), strict=True):
            per = counts.setdefault(key(g), {})
            per[str(c)] = per.get(str(c), 0) + int(n)
    if len(active):
        respondents: Any = responses["user_id"].dropna().unique() if len(responses) else []
        users = pd.DataFrame(
            {"g": keys(active), "answered": active["user_id"].isin(respondents).astype(int)}
        )
        per_group = users.groupby("g", dropna=False)["answered"].agg(["size", "sum"])
        for g, size, answered in zip(
            per_group.index.tolist(),
            per_group["size"].tolist(),
            per_group["sum"].tolist(),
            strict=True,
        ):
            per = counts.setdefault(key(g), {})
            per["active"] = per.get("active", 0) + int(size)
            per["answered"] = per.get("answered", 0) + int(answered)
    out: dict[str | None, Counts] = {}
    for g, per in counts.items():
        p, pa, d = (per.get(c, 0) for c in ("promoter", "passive", "detractor"))
        out[g] = Counts(p + pa + d, p, pa, d, per.get("active", 0), per.get("answered", 0))
    return out


def _row(group: str | None, now: Counts, before: Counts | None) -> NpsRow:
    change = None
    if before is not None and now.nps is not None and before.nps is not None:
        change = now.nps - before.nps
    return NpsRow(
        group,
        now.responses,
        now.promoters,
        now.passives,
        now.detractors,
        now.nps,
        now.response_rate,
        change,
    )


def _sort_key(g: str | None) -> tuple[bool, str]:
    return (g is None, g or "")


def check_grouping(by: str | None) -> None:
    """Refuse an unknown grouping before any work."""
    if by is not None and by not in GROUPINGS:
        raise UsageError(f"cannot group NPS by {by!r}", hint=f"use {', '.join(GROUPINGS)}")


def resolve_period(latest: date | None, start: date | None, end: date | None) -> Period:
    """The period asked for; by default the 90 days up to the latest response."""
    if end is None:
        if latest is None:
            raise InputError(
                "no NPS responses are loaded", hint="load them with `cstool load nps FILE`"
            )
        end = latest
    if start is None:
        start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise InputError(f"--from {start} is after --to {end}", hint="swap the dates")
    return Period(start, end)


def summarise(
    responses: pd.DataFrame,
    active_in: Callable[[Period], pd.DataFrame],
    period: Period,
    by: str | None,
    population: Iterable[str | None] = (),
) -> NpsReport:
    """The NPS report from responses and a function giving the active users of a period.

    ``responses`` (columns ``date`` as ISO text, ``score``, ``user_id`` and the group
    columns) must cover the previous period too; ``active_in(period)`` returns the active
    users of a period as a frame with ``user_id`` and the group columns. ``population``
    lists the groups to show even without responses (every segment, every role).
    """
    check_grouping(by)
    previous = period.previous()
    seen: dict[Period, pd.DataFrame] = {}

    def users(p: Period) -> pd.DataFrame:
        if p not in seen:
            seen[p] = active_in(p)
        return seen[p]

    def within(p: Period) -> pd.DataFrame:
        mask = (responses["date"] >= p.start.isoformat()) & (responses["date"] <= p.end.isoformat())
        return responses[mask]

    now_all = count(within(period), users(period), None).get(ALL, Counts())
    before_all = count(within(previous), _no_users(), None).get(ALL, Counts())
    total = _row(ALL, now_all, before_all)
    if by is None:
        return NpsReport(None, period, previous, total, [total])
    rows: list[NpsRow] = []
    if by == "quarter":
        q = quarter_period(period.start)
        # Every row is compared with the row above it, as shown; the first with the quarter
        # before, or when clipped to the period's start, with as many days just before it.
        first = q.clip(period)
        assert first is not None
        before_q = quarter_period(q.start - timedelta(days=1)) if first == q else first.previous()
        then = count(within(before_q), _no_users(), None).get(ALL, Counts())
        while q.start <= period.end:
            clipped = q.clip(period)
            assert clipped is not None
            now = count(within(clipped), users(clipped), None).get(ALL, Counts())
            rows.append(_row(quarter_of(q.start), now, then))
            then = now
            q = quarter_period(q.end + timedelta(days=1))
        return NpsReport(by, period, previous, total, rows)
    now_g = count(within(period), users(period), by)
    before_g = count(within(previous), _no_users(), by)
    groups = sorted(set(population) | set(now_g), key=_sort_key)
    for g in groups:
        rows.append(_row(g, now_g.get(g, Counts()), before_g.get(g, Counts())))
    return NpsReport(by, period, previous, total, rows)


def _no_users() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"user_id": pd.Series([], dtype=object)})


def report(
    store: Store,
    resolved: ResolvedConfig,
    by: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> NpsReport:
    """NPS per group over ``start``..``end`` (default: the 90 days to the latest response).

    With ``by="tier"`` each account counts in its touch tier on the period's last day;
    responses of accounts no longer active have no tier.
    """
    import pandas as pd

    from cstool.store import nps as nps_store

    check_grouping(by)
    period = resolve_period(nps_store.latest_date(store.db), start, end)
    lo = min(period.previous().start, quarter_period(period.start).start - timedelta(days=92))
    segment_field = resolved.config.metrics.segment_field
    tier_of: dict[str, str] = {}
    if by == "tier":
        from cstool.context import book

        accounts = book(store, resolved, period.end).accounts
        tier_of = {a["account_id"]: a["touch_tier"] for a in accounts}
    responses = pd.DataFrame(
        nps_store.responses(store.db, lo, period.end, segment_field),
        columns=list(nps_store.RESPONSE_COLUMNS),
    )
    responses["tier"] = [tier_of.get(a) for a in responses["account_id"]]

    def active_in(p: Period) -> pd.DataFrame:
        users = pd.DataFrame(
            nps_store.active_users(store.db, p.start, p.end, segment_field),
            columns=list(nps_store.ACTIVE_COLUMNS),
        )
        users["tier"] = [tier_of.get(a) for a in users["account_id"]]
        return users

    population: Sequence[str | None] = ()
    if by in ("role", "segment", "csm"):
        population = nps_store.group_values(store.db, by, segment_field)
    elif by == "tier":
        from cstool.conditions import TOUCH_TIERS

        population = TOUCH_TIERS
    return summarise(responses, active_in, period, by, population)


@dataclass(frozen=True)
class Comment:
    """One NPS comment with its account and the respondent's role."""

    response_id: str
    date: str
    account_id: str
    account_name: str | None
    user_id: str | None
    role: str | None
    score: int
    category: str
    comment: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def comments(
    store: Store,
    *,
    detractors: bool = False,
    start: date | None = None,
    end: date | None = None,
    account_id: str | None = None,
) -> list[Comment]:
    """Responses with a comment, newest first; only detractors' when ``detractors``."""
    from cstool.store import nps as nps_store

    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end}", hint="swap the dates")
    if account_id is not None:
        from cstool.store import accounts as accounts_db

        if accounts_db.account(store.db, account_id) is None:
            raise NotFoundError(
                f"no account {account_id!r}", hint="see `cstool score` for the account ids"
            )
    rows = nps_store.comments(
        store.db, start, end, account_id, max_score=PASSIVE_MIN - 1 if detractors else None
    )
    return [
        Comment(rid, d, aid, name, uid, role, int(score), category(int(score)), text)
        for rid, d, aid, name, uid, role, score, text in rows
    ]


def latest_for_account(
    store: Store, account_id: str, until: date | None = None
) -> dict[str, Any] | None:
    """The account's latest NPS response up to ``until`` (date, score, category, respondent,
    and how many responses it has), or None."""
    from cstool.store import nps as nps_store

    rows = nps_store.account_responses(store.db, account_id)
    if until is not None:
        rows = [r for r in rows if r["date"] <= until.isoformat()]
    if not rows:
        return None
    r = rows[0]
    name = " ".join(p for p in (r["first_name"], r["last_name"]) if p) or None
    return {
        "response_id": r["response_id"],
        "date": r["date"],
        "score": int(r["score"]),
        "category": category(int(r["score"])),
        "user_id": r["user_id"],
        "name": name,
        "role": r["role"],
        "comment": r["comment"],
        "responses": len(rows),
    }
