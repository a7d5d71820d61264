"""``refs report``: what references achieved, who gave them, and how fast requests were met.

The references are the references export's rows and the workflow's requests
(:func:`cstool.store.refs.references`); the deals are the opportunities export.

* A reference is **completed** when it took place: an export row whose outcome is one of
  ``refs.outcomes.completed`` (or empty), or a request at step 5 (occurred) or later, dated
  the day it took place. A row dated after the report's day (``as_of``, the CLI's today, or
  ``--to`` when earlier) is scheduled, not completed, whatever its outcome says: fatigue
  counts it as in progress (:func:`cstool.refs.find.fatigue_counts`), the report not yet.
  A **milestone** is a "Customer Reference" milestone on the account's timeline: a request
  recorded with the workflow (step 7).
* An opportunity is **influenced** when a completed reference for it is dated on or before its
  close date (any, when it has none). Its amount counts once, however many references it had.
  Open pipeline is influenced opportunities not closed; closed-won those won.
* **Deals with versus without references** compare the closed opportunities (won, or a stage
  starting "Closed"): how many, how many won, the win rate, and the mean and median days from
  created to close. "With" means influenced, by a reference from any date.
* **Time to fulfil** a request runs from the request (step 1) to the candidates proposed and
  the CSM aligned (step 2), in hours, against ``refs.fulfil_target_hours`` (one day).

``--from``/``--to`` keep references dated, deals closed and requests opened in those days.
Groups are the account's segment (``metrics.segment_field``) and CSM, and the calendar quarter
of the reference's date. The arithmetic is pandas group-bys over one frame of references.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from cstool.config import Config
    from cstool.store import Store

BY = ("quarter", "segment", "csm")
TOP = 10
GROUP_COLUMNS = {
    "quarter": ("quarter", "segment"),
    "segment": ("segment",),
    "csm": ("csm",),
}
COUNT_COLUMNS = (
    "references",
    "milestones",
    "accounts",
    "contacts",
    "opportunities",
    "influenced_amount",
    "won_amount",
)
TOP_CUSTOMER_COLUMNS = ("account_id", "name", "segment", "csm", "references", "pipeline")
TOP_CONTACT_COLUMNS = ("user_id", "name", "account_id", "references", "pipeline")
INFLUENCE_COLUMNS = ("opportunities", "amount", "open", "open_amount", "won", "won_amount")
PER_CSM_COLUMNS = ("csm", "references", "milestones", "accounts", "contacts")
DEAL_COLUMNS = ("references", "deals", "won", "win_rate", "mean_cycle_days", "median_cycle_days")
FULFIL_COLUMNS = (
    "requests",
    "proposed",
    "waiting",
    "median_hours",
    "p90_hours",
    "within_target",
    "target_hours",
)


@dataclass
class RefsReport:
    """Every section of the report; the rows are dicts of the section's columns."""

    by: str
    start: date | None
    end: date | None
    groups: list[dict[str, Any]] = field(default_factory=list)
    top_customers: list[dict[str, Any]] = field(default_factory=list)
    top_contacts: list[dict[str, Any]] = field(default_factory=list)
    influence: dict[str, Any] = field(default_factory=dict)
    deals: list[dict[str, Any]] = field(default_factory=list)
    per_csm: list[dict[str, Any]] = field(default_factory=list)
    fulfil: dict[str, Any] = field(default_factory=dict)

    def group_columns(self) -> tuple[str, ...]:
        """The columns of the grouped table (CSV): its keys, then the counts."""
        return (*GROUP_COLUMNS[self.by], *COUNT_COLUMNS)

    def as_dict(self) -> dict[str, Any]:
        """Every section, for ``--format json``."""
        return {
            "by": self.by,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "groups": self.groups,
            "top_customers": self.top_customers,
            "top_contacts": self.top_contacts,
            "influence": self.influence,
            "deals": self.deals,
            "references_per_csm": self.per_csm,
            "time_to_fulfil": self.fulfil,
        }


def check_grouping(by: str) -> None:
    """Refuse an unknown ``--by`` (a usage error)."""
    if by not in BY:
        raise UsageError(f"unknown grouping {by!r}", hint=f"use {', '.join(BY)}")


def _is(values: Any, words: Sequence[str]) -> Any:
    wanted = {w.strip().casefold() for w in words}
    return values.fillna("").astype(str).str.strip().str.casefold().isin(wanted)


def references_frame(store: Store, config: Config, as_of: date | None = None) -> pd.DataFrame:
    """Every reference (export and workflow) with its account's groups and completion
    (none dated after ``as_of`` is completed: it is scheduled).

    Columns: reference_id, account_id, user_id, opportunity_id, date (datetime64), source,
    step, outcome, completed, milestone, name, segment, csm, quarter.
    """
    import pandas as pd

    from cstool.nps import quarter_of
    from cstool.store import refs as refs_db

    rows = refs_db.references(store.db)
    frame = pd.DataFrame(rows, columns=list(refs_db.REFERENCE_COLUMNS))
    outcomes = config.refs.outcomes
    export = frame["source"] == "export"
    empty = frame["outcome"].isna() | (frame["outcome"].fillna("").str.strip() == "")
    step = pd.to_numeric(frame["step"], errors="coerce").fillna(0)
    frame["completed"] = (export & (empty | _is(frame["outcome"], outcomes.completed))) | (
        ~export & (step >= 5)
    )
    if as_of is not None:
        frame["completed"] &= pd.to_datetime(frame["date"]) <= pd.Timestamp(as_of)
    frame["milestone"] = ~export & (step >= 7)
    accounts = pd.DataFrame(
        refs_db.account_groups(store.db, config.metrics.segment_field),
        columns=["account_id", "name", "segment", "csm"],
    )
    frame = frame.merge(accounts, on="account_id", how="left")
    frame["date"] = pd.to_datetime(frame["date"])
    frame["quarter"] = [quarter_of(d.date()) for d in frame["date"]]
    return frame


def opportunities_frame(store: Store) -> pd.DataFrame:
    """The opportunities export with ``closed`` and ``won`` flags, dates as datetime64."""
    import pandas as pd

    from cstool.store import refs as refs_db

    opps = pd.DataFrame(refs_db.opportunities(store.db), columns=list(refs_db.OPPORTUNITY_COLUMNS))
    stage = opps["stage"].fillna("").astype(str).str.strip().str.casefold()
    opps["won"] = (opps["is_won"].fillna(0).astype(int) == 1) | (stage == "closed won")
    opps["closed"] = opps["won"] | stage.str.startswith("closed")
    opps["amount"] = pd.to_numeric(opps["amount"], errors="coerce").fillna(0.0)
    for c in ("created_date", "close_date"):
        opps[c] = pd.to_datetime(opps[c])
    return opps


def influenced(refs: pd.DataFrame, opps: pd.DataFrame) -> pd.DataFrame:
    """(reference_id, opportunity_id) of the completed references that came before their
    opportunity's close (any date when it has none)."""
    done = refs[refs["completed"] & refs["opportunity_id"].notna()]
    pairs = done[["reference_id", "opportunity_id", "date"]].merge(
        opps[["opportunity_id", "close_date"]], on="opportunity_id", how="inner"
    )
    before = pairs["close_date"].isna() | (pairs["date"] <= pairs["close_date"])
    return pairs.loc[before, ["reference_id", "opportunity_id"]]


def _window(values: pd.Series, start: date | None, end: date | None) -> pd.Series:
    import pandas as pd

    keep = pd.Series(True, index=values.index)
    if start is not None:
        keep &= values >= pd.Timestamp(start)
    if end is not None:
        keep &= values <= pd.Timestamp(end)
    return keep


def _money(amounts: pd.Series) -> int | float:
    from cstool.csvfile import amount

    return amount(float(amounts.sum())) or 0


def report(
    store: Store,
    config: Config,
    by: str = "quarter",
    start: date | None = None,
    end: date | None = None,
    *,
    as_of: date | None = None,
) -> RefsReport:
    """Every section of the reference report over ``start``..``end`` (default: all time),
    on the day ``as_of`` (default: no day, every row as its outcome says): a reference dated
    after it is scheduled, not completed."""
    check_grouping(by)
    if start is not None and end is not None and start > end:
        raise InputError(f"--from {start} is after --to {end}", hint="swap the dates")
    refs = references_frame(store, config, as_of)
    opps = opportunities_frame(store)
    amount = opps.set_index("opportunity_id")["amount"]
    won = opps.set_index("opportunity_id")["won"]
    closed = opps.set_index("opportunity_id")["closed"]
    links = influenced(refs, opps)
    inside = refs[_window(refs["date"], start, end)]
    done = inside[inside["completed"]]
    link = links[links["reference_id"].isin(done["reference_id"])]
    done = done.merge(link.rename(columns={"opportunity_id": "influenced"}), how="left")
    result = RefsReport(by, start, end)

    def counts(frame: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for key, g in frame.groupby(list(keys), dropna=False, sort=True):
            values = key if isinstance(key, tuple) else (key,)
            opp_ids = g["influenced"].dropna().unique()
            row = {k: (None if v != v else v) for k, v in zip(keys, values, strict=True)}
            row.update(
                references=len(g),
                milestones=int(g["milestone"].sum()),
                accounts=int(g["account_id"].nunique()),
                contacts=int(g["user_id"].dropna().nunique()),
                opportunities=len(opp_ids),
                influenced_amount=_money(amount.reindex(opp_ids)),
                won_amount=_money(amount.reindex(opp_ids)[won.reindex(opp_ids).fillna(False)]),
            )
            out.append(row)
        return out

    # Missing groups (an account without a segment or CSM) sort last, as in other reports.
    done = done.assign(
        segment=done["segment"].where(done["segment"].notna(), None),
        csm=done["csm"].where(done["csm"].notna(), None),
    )
    result.groups = _none_last(counts(done, GROUP_COLUMNS[by]), GROUP_COLUMNS[by])
    result.per_csm = [
        {k: r[k] for k in PER_CSM_COLUMNS} for r in _none_last(counts(done, ("csm",)), ("csm",))
    ]
    result.top_customers = _top(
        done, "account_id", amount, extra=("name", "segment", "csm"), columns=TOP_CUSTOMER_COLUMNS
    )
    named = done[done["user_id"].notna()]
    contacts = _top(named, "user_id", amount, extra=("account_id",), columns=TOP_CONTACT_COLUMNS)
    from cstool.store import refs as refs_db

    names = refs_db.user_names(store.db, [c["user_id"] for c in contacts])
    for c in contacts:
        c["name"] = names.get(c["user_id"], c["user_id"])
    result.top_contacts = contacts

    ids = done["influenced"].dropna().unique()
    is_closed = closed.reindex(ids).fillna(False)
    is_won = won.reindex(ids).fillna(False)
    amounts = amount.reindex(ids).fillna(0.0)
    result.influence = {
        "opportunities": len(ids),
        "amount": _money(amounts),
        "open": int((~is_closed).sum()),
        "open_amount": _money(amounts[~is_closed]),
        "won": int(is_won.sum()),
        "won_amount": _money(amounts[is_won]),
    }
    result.deals = _deals(opps, set(links["opportunity_id"]), start, end)
    result.fulfil = _fulfil(store, config, start, end)
    return result


def _none_last(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: tuple((r[k] is None, str(r[k] or "")) for k in keys))


def _top(
    frame: pd.DataFrame,
    key: str,
    amount: pd.Series,
    *,
    extra: Sequence[str],
    columns: Sequence[str],
) -> list[dict[str, Any]]:
    """The TOP ``key`` values by references (then by id), with the pipeline they influenced:
    the amount of the distinct opportunities their references came before the close of."""
    rows = []
    for value, g in frame.groupby(key, sort=True):
        opp_ids = g["influenced"].dropna().unique()
        first = g.iloc[0]
        row: dict[str, Any] = {key: value, "references": len(g)}
        for e in extra:
            v = first[e]
            row[e] = None if v is None or v != v else v
        row["pipeline"] = _money(amount.reindex(opp_ids))
        rows.append(row)
    rows.sort(key=lambda r: (-r["references"], -r["pipeline"], str(r[key])))
    return [{c: r.get(c) for c in columns} for r in rows[:TOP]]


def _deals(
    opps: pd.DataFrame, influenced_ids: set[str], start: date | None, end: date | None
) -> list[dict[str, Any]]:
    """Closed deals (closed in the window) with and without references."""
    deals = opps[opps["closed"] & _window(opps["close_date"], start, end)]
    if start is not None or end is not None:
        deals = deals[deals["close_date"].notna()]
    deals = deals.assign(
        with_refs=deals["opportunity_id"].isin(influenced_ids),
        cycle=(deals["close_date"] - deals["created_date"]).dt.days,
    )
    out = []
    for label, flag in (("with", True), ("without", False)):
        g = deals[deals["with_refs"] == flag]
        cycle = g["cycle"].dropna()
        n = len(g)
        wins = int(g["won"].sum())
        out.append(
            {
                "references": label,
                "deals": n,
                "won": wins,
                "win_rate": wins / n if n else None,
                "mean_cycle_days": round(float(cycle.mean()), 1) if len(cycle) else None,
                "median_cycle_days": float(cycle.median()) if len(cycle) else None,
            }
        )
    return out


def _fulfil(store: Store, config: Config, start: date | None, end: date | None) -> dict[str, Any]:
    """Hours from request to proposal, for the requests opened in the window."""
    import numpy as np

    from cstool.store import refs as refs_db

    target = config.refs.fulfil_target_hours
    opened: dict[str, datetime] = {}
    proposed: dict[str, datetime] = {}
    for s in refs_db.steps(store.db):
        at = datetime.fromisoformat(s["at"])
        if s["step"] == 1:
            opened[s["request_id"]] = at
        elif s["step"] == 2:
            proposed[s["request_id"]] = at
    wanted = {
        r: at
        for r, at in opened.items()
        if (start is None or at.date() >= start) and (end is None or at.date() <= end)
    }
    hours = np.array(
        [(proposed[r] - at).total_seconds() / 3600 for r, at in wanted.items() if r in proposed]
    )
    return {
        "requests": len(wanted),
        "proposed": len(hours),
        "waiting": len(wanted) - len(hours),
        "median_hours": round(float(np.median(hours)), 1) if len(hours) else None,
        "p90_hours": round(float(np.percentile(hours, 90)), 1) if len(hours) else None,
        "within_target": int((hours <= target).sum()),
        "target_hours": target,
    }


def summary_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A one-row section as a list of one row, for the table renderer."""
    return [dict(section)]
