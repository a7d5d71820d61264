"""The references an account gave, as its timeline and its 360 show them.

* The **timeline source** ``references`` (:func:`timeline_rows`): a ``milestone`` entry
  "Customer Reference" for each request the workflow recorded (step 7), dated the day the
  reference took place and linked to the opportunity and the contact; and a ``reference``
  entry for each row of the references export, with its outcome.
* The 360's **references given** (:func:`for_360`): the export's rows and the workflow's
  requests from the moment the customer was contacted, newest first; those not recorded yet
  are in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cstool.store import Store

MILESTONE = "Customer Reference"


def _names(store: Store, refs: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    from cstool.store import refs as refs_db

    users = refs_db.user_names(store.db, [r["user_id"] for r in refs if r["user_id"]])
    opps = {}
    for opp_id in {r["opportunity_id"] for r in refs if r["opportunity_id"]}:
        opp = refs_db.opportunity(store.db, opp_id)
        if opp is not None:
            opps[opp_id] = str(opp["name"])
    return users, opps


def _for(opps: dict[str, str], opp_id: str | None) -> str:
    if not opp_id:
        return ""
    return f" for {opps[opp_id]} ({opp_id})" if opp_id in opps else f" for {opp_id}"


def timeline_rows(store: Store, account_id: str) -> list[dict[str, Any]]:
    """The account's reference entries for its timeline, newest first: dicts of ``date`` (a
    date), ``type`` (milestone or reference), ``text``, ``detail`` and ``record_id``."""
    from cstool.store import refs as refs_db

    rows = [
        r
        for r in refs_db.references(store.db, account_id)
        if r["source"] == "export" or r["step"] == 7
    ]
    users, opps = _names(store, rows)
    recorded = {
        s["request_id"]: s["date"]
        for s in refs_db.steps(store.db, [r["reference_id"] for r in rows if r["step"]])
        if s["step"] == 7
    }
    out = []
    for r in reversed(rows):
        who = users.get(r["user_id"], r["user_id"]) if r["user_id"] else None
        entry = {"date": date.fromisoformat(r["date"]), "record_id": r["reference_id"]}
        if r["source"] == "workflow":
            entry["type"] = "milestone"
            entry["text"] = f"{MILESTONE}: {who or 'a contact'}{_for(opps, r['opportunity_id'])}"
            entry["detail"] = f"{r['reference_id']}, recorded on {recorded.get(r['reference_id'])}"
        else:
            entry["type"] = "reference"
            entry["text"] = f"Reference{_for(opps, r['opportunity_id'])}" + (
                f" by {who}" if who else ""
            )
            entry["detail"] = r["outcome"]
        out.append(entry)
    return out


@dataclass(frozen=True)
class Given:
    """The references of one account up to a date, newest first."""

    items: list[dict[str, Any]]

    @property
    def given(self) -> list[dict[str, Any]]:
        return [i for i in self.items if not i["in_progress"]]

    def as_dict(self) -> dict[str, Any]:
        """``count`` and ``last`` of those given, ``in_progress``, and every item."""
        given = self.given
        return {
            "count": len(given),
            "last": given[0]["date"] if given else None,
            "in_progress": len(self.items) - len(given),
            "items": self.items,
        }


def for_360(store: Store, account_id: str, until: date) -> Given:
    """The account's references dated up to ``until``: each with reference_id, date, user_id,
    opportunity_id, outcome (a workflow request's: ``recorded`` or ``in progress: STEP``),
    source and in_progress."""
    from cstool.refs.workflow import LAST, step
    from cstool.store import refs as refs_db

    items = []
    for r in reversed(refs_db.references(store.db, account_id)):
        if r["date"] > until.isoformat():
            continue
        progress = r["source"] == "workflow" and r["step"] < LAST
        outcome = r["outcome"]
        if r["source"] == "workflow":
            outcome = "recorded" if not progress else f"in progress: {step(r['step']).name}"
        items.append(
            {
                "reference_id": r["reference_id"],
                "date": r["date"],
                "user_id": r["user_id"],
                "opportunity_id": r["opportunity_id"],
                "outcome": outcome,
                "source": r["source"],
                "in_progress": progress,
            }
        )
    return Given(items)
