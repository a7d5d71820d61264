"""CTAs (calls to action): what the playbooks open, update and close, and a CSM's actions.

``cta generate`` works in two steps. :func:`make_plan` evaluates every playbook for every
active account on the snapshot of the as-of date and decides, per account and playbook:

- **open** a CTA when ``audience`` and ``when`` hold and none is open, unless the last one
  closed less than ``cooldown_days`` ago (then it is **held**);
- **close** the open CTA when ``close_when`` holds (when the playbook has one: until then the
  CTA stays open even if ``when`` no longer holds), or else when ``audience`` and ``when``
  no longer hold, or when the account is no longer active; the item says why;
- **update** the open CTA's reason, priority, type or owner when they changed (and reopen a
  snoozed CTA whose snooze has ended);
- leave it **unchanged**, or **held** while snoozed.

:func:`apply` then carries out exactly that plan in one transaction, recording an event with
its time for every change. Identity is (account, playbook): at most one CTA of a playbook is
open per account, so a second run on the same data opens nothing.

Due dates count business days from the as-of date (:mod:`cstool.busdays`). A CSM's actions
(:func:`close`, :func:`snooze`, :func:`move_due`, :func:`finish_task`) are events too, and
:func:`write_assist` renders a task's email assist for the account's contacts into
``outbox/assist/``. Time is always a parameter: ``as_of`` (the business date) and ``now``
(when the event is recorded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, NotFoundError, UsageError
from cstool.store import ctas as ctas_db

if TYPE_CHECKING:
    from cstool.busdays import Calendar
    from cstool.conditions import Condition
    from cstool.context import Book
    from cstool.playbooks import Playbook
    from cstool.store import Store
    from cstool.workspace import Workspace
    from cstool.yamlfile import Definition

ACTIONS = ("open", "update", "close", "unchanged", "held")
LIST_COLUMNS = ctas_db.LIST_COLUMNS
STATUSES = ctas_db.STATUSES
CONTACT_ROLES = ("Executive Sponsor", "Admin")  # an assist's default recipients
ASSIST_FOLDER = ("outbox", "assist")


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedTask:
    """A task of a CTA to open."""

    title: str
    due_on: date
    email_assist: str | None


@dataclass(frozen=True)
class PlanItem:
    """What the plan does for one account and playbook.

    ``reason`` is the CTA's reason after the plan; ``note`` says why for a close (the
    closing reason), an update (what changes) or a hold. ``changes`` lists an update's
    (field, old, new).
    """

    action: str
    playbook: str
    account_id: str
    account_name: str | None
    cta_id: int | None
    type: str
    priority: str
    owner: str | None
    reason: str
    note: str = ""
    due_on: date | None = None
    tasks: tuple[PlannedTask, ...] = ()
    changes: tuple[tuple[str, Any, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values (dates as ISO text) for CSV and JSON."""
        return {
            "action": self.action,
            "playbook": self.playbook,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "cta_id": self.cta_id,
            "type": self.type,
            "priority": self.priority,
            "owner": self.owner,
            "reason": self.reason,
            "note": self.note or None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
        }


PLAN_COLUMNS = (
    "action",
    "playbook",
    "account_id",
    "account_name",
    "cta_id",
    "type",
    "priority",
    "owner",
    "reason",
    "note",
    "due_on",
)


@dataclass
class Plan:
    """The changes ``cta generate`` makes on ``as_of``, before or after applying them.

    ``missing`` counts the accounts for which a condition was false because of a missing
    value (no renewal date, no NPS answer...), ``missing_by_playbook`` per playbook, and
    ``errors`` the first evaluation errors (text compared with a number), if any.
    """

    as_of: date
    snapshot: date
    playbooks: tuple[str, ...]
    accounts: int
    items: list[PlanItem]
    missing: int = 0
    missing_by_playbook: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def of(self, action: str) -> list[PlanItem]:
        """The items of one action, in plan order."""
        return [i for i in self.items if i.action == action]

    def counts(self) -> dict[str, int]:
        """The number of items per action, in ACTIONS order."""
        return {a: sum(1 for i in self.items if i.action == a) for a in ACTIONS}

    def by_playbook(self) -> dict[str, dict[str, int]]:
        """Items per playbook and action (every playbook, every action)."""
        out = {p: dict.fromkeys(ACTIONS, 0) for p in self.playbooks}
        for i in self.items:
            out.setdefault(i.playbook, dict.fromkeys(ACTIONS, 0))[i.action] += 1
        return out


def _iso(d: str | None) -> date | None:
    return date.fromisoformat(d) if d else None


def _close_note(playbook: Playbook, missing: Sequence[str]) -> str:
    if playbook.close_when is not None:
        return "close_when holds: " + " ".join(playbook.close_when.split())
    if missing:
        return "the condition no longer holds (missing: " + ", ".join(missing) + ")"
    return "the condition no longer holds"


def make_plan(
    book: Book,
    playbooks: Sequence[Playbook],
    current: Iterable[dict[str, Any]],
    last_closed: dict[tuple[str, str], str],
    calendar: Calendar,
) -> Plan:
    """Decide, for every playbook and active account of ``book``, what happens to its CTA.

    ``current`` are the playbook CTAs not closed (as stored), ``last_closed`` the latest
    closing date per (account, playbook). Nothing is written.
    """
    from cstool.conditions import Verdict

    as_of = book.as_of
    # A few distinct due_in values cover every CTA and task: compute each due date once.
    due_dates: dict[int, date] = {}

    def due(n: int) -> date:
        if n not in due_dates:
            due_dates[n] = calendar.add(as_of, n)
        return due_dates[n]

    by_key = {(c["account_id"], c["playbook"]): c for c in current}
    names = {a["account_id"]: a["name"] for a in book.accounts}
    items: list[PlanItem] = []
    missing_accounts: set[str] = set()
    missing_by: dict[str, int] = {}
    errors: list[str] = []

    def note_outcome(pb: Playbook, account_id: str, outcome: Any, seen: set[str]) -> None:
        if outcome.verdict is Verdict.MISSING and account_id not in seen:
            seen.add(account_id)
            missing_accounts.add(account_id)
            missing_by[pb.name] = missing_by.get(pb.name, 0) + 1
        elif outcome.verdict is Verdict.ERROR and len(errors) < 5:
            errors.append(f"{pb.name}, {account_id}: {outcome.error}")

    false = Verdict.FALSE
    for pb in sorted(playbooks, key=lambda p: p.name):
        conditions = [c for c in (pb.condition("audience"), pb.when_condition) if c is not None]
        close_when = pb.condition("close_when")
        seen: set[str] = set()
        due_on = due(pb.due_in)
        for acct in book.accounts:
            aid = acct["account_id"]
            cur = by_key.pop((aid, pb.name), None) if by_key else None
            holds = True
            missing: tuple[str, ...] = ()
            for condition in conditions:
                outcome = condition.evaluate(acct)
                if outcome.verdict is not Verdict.TRUE:
                    if outcome.verdict is not false:
                        note_outcome(pb, aid, outcome, seen)
                    holds, missing = False, outcome.missing
                    break
            if cur is None and not holds:
                continue
            owner = acct.get(pb.owner)
            owner = None if owner is None else str(owner)
            if cur is None:
                reason = pb.render_reason(acct, aid)
                closed = _iso(last_closed.get((aid, pb.name)))
                common = (pb.name, aid, acct["name"])
                if closed and pb.cooldown_days and as_of < closed + timedelta(pb.cooldown_days):
                    until = closed + timedelta(pb.cooldown_days)
                    items.append(
                        PlanItem(
                            "held", *common, None, pb.type, pb.priority, owner, reason,
                            note=f"cooling down; may reopen on {until} (closed on {closed})",
                        )
                    )  # fmt: skip
                    continue
                tasks = tuple(PlannedTask(t.title, due(t.due_in), t.email_assist) for t in pb.tasks)
                items.append(
                    PlanItem(
                        "open", *common, None, pb.type, pb.priority, owner, reason,
                        due_on=due_on, tasks=tasks,
                    )
                )  # fmt: skip
                continue
            # An open or snoozed CTA of this playbook.
            if close_when is not None:
                outcome = close_when.evaluate(acct)
                if outcome.verdict is not Verdict.TRUE and outcome.verdict is not false:
                    note_outcome(pb, aid, outcome, seen)
                should_close = bool(outcome)
            else:
                should_close = not holds
            if should_close:
                items.append(_item("close", cur, acct["name"], note=_close_note(pb, missing)))
                continue
            asleep = _iso(cur["snoozed_until"])
            if cur["status"] == "snoozed" and asleep is not None and asleep > as_of:
                items.append(_item("held", cur, acct["name"], note=f"snoozed until {asleep}"))
                continue
            reason = pb.render_reason(acct, aid)
            new = {
                "reason": reason,
                "priority": pb.priority,
                "type": pb.type,
                "owner": owner,
                "status": "open",
            }
            changes = tuple((k, cur[k], v) for k, v in new.items() if cur[k] != v)
            if changes:
                item = _item("update", cur, acct["name"], note=_describe(changes))
                items.append(
                    PlanItem(
                        "update", pb.name, aid, acct["name"], cur["cta_id"], pb.type,
                        pb.priority, owner, reason, note=item.note,
                        due_on=item.due_on, changes=changes,
                    )
                )  # fmt: skip
            else:
                items.append(_item("unchanged", cur, acct["name"]))
    # What is left belongs to accounts that are no longer active.
    for cur in sorted(by_key.values(), key=lambda c: (c["playbook"], c["account_id"])):
        items.append(
            _item("close", cur, names.get(cur["account_id"]), note="the account is not active")
        )
    return Plan(
        as_of,
        book.snapshot or as_of,
        tuple(sorted(p.name for p in playbooks)),
        len(book.accounts),
        items,
        len(missing_accounts),
        missing_by,
        errors,
    )


def _item(action: str, cur: dict[str, Any], name: str | None, note: str = "") -> PlanItem:
    """A plan item about a stored CTA, as it stands."""
    return PlanItem(
        action,
        cur["playbook"],
        cur["account_id"],
        name,
        cur["cta_id"],
        cur["type"],
        cur["priority"],
        cur["owner"],
        cur["reason"],
        note=note,
        due_on=_iso(cur["due_on"]),
    )


def _describe(changes: Sequence[tuple[str, Any, Any]]) -> str:
    parts = []
    for name, old, new in changes:
        if name == "reason":
            parts.append(f'reason now "{new}"')
        elif name == "status":
            parts.append("snooze ended")
        else:
            parts.append(f"{name} {old or '(none)'} -> {new or '(none)'}")
    return "; ".join(parts)


def apply(store: Store, plan: Plan, now: datetime) -> None:
    """Carry out ``plan`` in one transaction: exactly its open, update and close items, each
    recorded as an event dated ``plan.as_of`` at time ``now``."""
    at = now.isoformat(timespec="seconds")
    day = plan.as_of
    with store.transaction():
        for item in plan.items:
            if item.action == "open":
                assert item.due_on is not None
                cta_id = ctas_db.insert(
                    store.db,
                    source=ctas_db.PLAYBOOK,
                    playbook=item.playbook,
                    account_id=item.account_id,
                    type=item.type,
                    priority=item.priority,
                    owner=item.owner,
                    reason=item.reason,
                    opened_on=day,
                    due_on=item.due_on,
                    tasks=[ctas_db.NewTask(t.title, t.due_on, t.email_assist) for t in item.tasks],
                )
                ctas_db.add_event(
                    store.db, cta_id, item.account_id, day, at, "opened",
                    f"opened: {item.reason}",
                    {"playbook": item.playbook, "due_on": item.due_on.isoformat()},
                )  # fmt: skip
            elif item.action == "update":
                assert item.cta_id is not None
                values: dict[str, Any] = {name: new for name, _, new in item.changes}
                if "status" in values:
                    values["snoozed_until"] = None
                ctas_db.update(store.db, item.cta_id, **values)
                ctas_db.add_event(
                    store.db, item.cta_id, item.account_id, day, at, "updated",
                    f"updated: {item.note}",
                    {name: [old, new] for name, old, new in item.changes},
                )  # fmt: skip
            elif item.action == "close":
                assert item.cta_id is not None
                _close(store, item.cta_id, item.account_id, item.note, day, at)


def _close(
    store: Store, cta_id: int, account_id: str | None, reason: str, day: date, at: str
) -> None:
    ctas_db.update(
        store.db, cta_id, status="closed", closed_on=day, close_reason=reason, snoozed_until=None
    )
    ctas_db.add_event(
        store.db, cta_id, account_id, day, at, "closed", f"closed: {reason}", {"reason": reason}
    )


# -- generate --------------------------------------------------------------------------------


@dataclass
class Generated:
    """What ``cta generate`` did: the plan, whether it was applied, and what was scored."""

    plan: Plan
    applied: bool
    scored: bool  # the snapshot of the date was computed by this run
    warnings: list[str] = field(default_factory=list)


def load_playbooks(ws: Workspace, store: Store, only: str | None = None) -> list[Playbook]:
    """The workspace's playbooks (or the one called ``only``), strictly loaded."""
    from cstool import playbooks
    from cstool.context import account_catalogue

    definitions: list[Definition[Playbook]] = playbooks.load(ws, account_catalogue(store))
    if only is not None:
        definitions = [playbooks.find(definitions, only)]
    if not definitions:
        raise InputError(
            f"there are no playbooks in {playbooks.FOLDER}/",
            hint="add playbook files (cstool init ships a set), then run generate again",
        )
    return [d.model for d in definitions]


def generate(
    ws: Workspace,
    store: Store,
    *,
    as_of: date | None = None,
    playbook: str | None = None,
    dry_run: bool = False,
    now: datetime,
) -> Generated:
    """Plan the CTAs of ``as_of`` and, unless ``dry_run``, apply the plan in one transaction.

    The measures come from the snapshot of ``as_of`` (default: the latest snapshot); a date
    without one is scored first (stored, except in a dry run, which writes nothing). Every
    playbook and the touch tier rules are checked before anything is written.
    """
    from cstool import adoption, busdays, context, tiers
    from cstool.store import adoption as snapshots_db

    config = ws.resolved.config
    pbs = load_playbooks(ws, store, playbook)
    tiers.compile_rules(ws.resolved, context.account_catalogue(store))  # fail before scoring
    calendar = busdays.Calendar.from_config(config)
    warnings: list[str] = []
    rows: list[dict[str, Any]] | None = None
    scored = False
    if as_of is None:
        latest = snapshots_db.snapshot_on_or_before(store.db, "9999-12-31")
        as_of = date.fromisoformat(latest) if latest else None
    if as_of is None or snapshots_db.snapshot_on_or_before(store.db, as_of.isoformat()) != (
        as_of.isoformat()
    ):
        run = adoption.score(store, config, as_of, save=not dry_run)
        as_of, scored = run.as_of, True
        warnings += run.warnings
        if dry_run:
            rows = [r.as_dict() for r in run.rows]
    b = context.book(store, ws.resolved, as_of, snapshot_rows=rows)
    names = [p.name for p in pbs]
    plan = make_plan(
        b, pbs, ctas_db.current(store.db, names), ctas_db.last_closed(store.db, names), calendar
    )
    if plan.errors:
        warnings.append(
            "some conditions could not be evaluated and count as false: " + "; ".join(plan.errors)
        )
    warnings += _owner_warnings(plan, {p.name: p.owner for p in pbs})
    if not dry_run:
        apply(store, plan, now)
    return Generated(plan, not dry_run, scored, warnings)


def _owner_warnings(plan: Plan, owner_field: dict[str, str]) -> list[str]:
    """A warning per owner field for the CTAs opened or updated without an owner."""
    unowned: dict[str, list[str]] = {}
    for i in plan.items:
        if i.action in ("open", "update") and not (i.owner or "").strip():
            unowned.setdefault(owner_field.get(i.playbook, "csm"), []).append(i.account_id)
    out = []
    for name, accounts in sorted(unowned.items()):
        shown = ", ".join(sorted(set(accounts))[:5]) + (", ..." if len(set(accounts)) > 5 else "")
        n = len(accounts)
        out.append(
            f"{n} CTA{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no owner: "
            f"the account has no {name} ({shown}); fill in {name} in the accounts export"
        )
    return out


# -- reading ---------------------------------------------------------------------------------


def _choice(option: str, value: str | None, choices: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value.strip().lower() not in choices:
        raise UsageError(
            f"{option} {value!r} is not one of {', '.join(choices)}",
            hint=f"e.g. {option} {choices[0]}",
        )
    return value.strip().lower()


_PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


def _same(a: str | None, b: str) -> bool:
    return (a or "").strip().casefold() == b.strip().casefold()


def list_ctas(
    store: Store,
    as_of: date,
    *,
    csm: str | None = None,
    status: str | None = None,
    type: str | None = None,
    priority: str | None = None,
    overdue: bool = False,
    account_id: str | None = None,
) -> list[dict[str, Any]]:
    """The CTAs as they were on ``as_of``, as dicts of LIST_COLUMNS, by due date.

    A CTA opened after ``as_of`` is left out; the others have the status, reason, owner,
    due date, closing and open tasks they had on that day (read back from their events; a
    snooze ended by then is open). ``csm`` matches the CTA's owner; filters match in any case
    (Unicode too); ``overdue`` keeps open CTAs due before ``as_of``.
    """
    from cstool.playbooks import PRIORITIES, TYPES

    status = _choice("--status", status, STATUSES)
    type = _choice("--type", type, TYPES)
    priority = _choice("--priority", priority, PRIORITIES)
    history: dict[int, list[dict[str, Any]]] = {}
    for e in ctas_db.events_of_ctas_changed_after(store.db, as_of):
        history.setdefault(e["cta_id"], []).append(e)
    day = as_of.isoformat()
    out = []
    for row in ctas_db.listing(store.db, as_of, account_id=account_id):
        if row["opened_on"] > day:
            continue
        if row["cta_id"] in history:
            row = _as_on(row, history[row["cta_id"]], as_of)
        if (
            (csm is None or _same(row["owner"], csm))
            and (status is None or row["status"] == status)
            and (type is None or _same(row["type"], type))
            and (priority is None or _same(row["priority"], priority))
            and (not overdue or (row["status"] == "open" and row["due_on"] < day))
        ):
            out.append(row)
    out.sort(key=lambda r: (r["due_on"], _PRIORITY_RANK.get(r["priority"], 4), r["cta_id"]))
    return out


def _as_on(row: dict[str, Any], events: Sequence[dict[str, Any]], as_of: date) -> dict[str, Any]:
    """``row`` (a CTA as it stands) as it was on ``as_of``, from its events: the status and
    closing replayed up to that day, the fields changed since put back to what they were."""
    day = as_of.isoformat()
    state: dict[str, Any] = {
        "status": "open",
        "snoozed_until": None,
        "closed_on": None,
        "close_reason": None,
    }
    later: list[dict[str, Any]] = []
    for e in events:
        data = e["data"] or {}
        if e["date"] > day:
            later.append(e)
        elif e["kind"] == "snoozed":
            state.update(status="snoozed", snoozed_until=data.get("until"))
        elif e["kind"] == "updated" and "status" in data:
            state.update(status=data["status"][1], snoozed_until=None)
        elif e["kind"] == "closed":
            reason = data.get("reason") or e["text"].removeprefix("closed: ")
            state.update(status="closed", closed_on=e["date"], close_reason=reason)
    out = {**row, **state}
    for e in reversed(later):
        data = e["data"] or {}
        if e["kind"] == "updated":
            for name in ("reason", "priority", "type", "owner"):
                if name in data:
                    out[name] = data[name][0]
        elif e["kind"] == "due_moved":
            out["due_on"] = data.get("from", out["due_on"])
        elif e["kind"] == "task_done":
            out["tasks_open"] += 1
    until = out["snoozed_until"]
    if out["status"] == "snoozed" and until is not None and until <= day:
        out["status"] = "open"
    return out


@dataclass(frozen=True)
class CtaDetail:
    """One CTA with its account's name, its tasks and its events."""

    cta: dict[str, Any]
    account_name: str | None
    status: str  # on the as-of date
    tasks: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.cta)
        out["account_name"] = self.account_name
        out["status"] = self.status
        out["tasks"] = self.tasks
        out["events"] = self.events
        return out


def get(store: Store, cta_id: int) -> dict[str, Any]:
    """The stored CTA ``cta_id``, or NotFoundError."""
    cta = ctas_db.get(store.db, cta_id)
    if cta is None:
        raise NotFoundError(
            f"no CTA with id {cta_id}", hint="`cstool cta list` shows the CTAs and their ids"
        )
    return cta


def _status_on(cta: dict[str, Any], as_of: date) -> str:
    until = _iso(cta["snoozed_until"])
    if cta["status"] == "snoozed" and until is not None and until <= as_of:
        return "open"
    return str(cta["status"])


def show(store: Store, cta_id: int, as_of: date) -> CtaDetail:
    """One CTA in full: fields, tasks and events (NotFoundError for an unknown id), with its
    status on ``as_of``."""
    from cstool.store import exports as exports_db

    cta = get(store, cta_id)
    events = ctas_db.events(store.db, cta_id)
    return CtaDetail(
        cta,
        exports_db.account_name(store.db, cta["account_id"]),
        _as_on({**cta, "tasks_open": 0}, events, as_of)["status"]
        if any(e["date"] > as_of.isoformat() for e in events)
        else _status_on(cta, as_of),
        ctas_db.tasks(store.db, cta_id),
        events,
    )


# -- a CSM's actions -------------------------------------------------------------------------


def _open_cta(store: Store, cta_id: int) -> dict[str, Any]:
    cta = get(store, cta_id)
    if cta["status"] == "closed":
        raise InputError(
            f"CTA {cta_id} was closed on {cta['closed_on']} ({cta['close_reason']})",
            hint="a closed CTA cannot change; `cta generate` opens a new one when needed",
        )
    return cta


def close(store: Store, cta_id: int, reason: str, *, as_of: date, now: datetime) -> dict[str, Any]:
    """Close a CTA with ``reason`` on ``as_of``; cooldown then holds it shut."""
    if not reason.strip():
        raise InputError("a closing reason is needed", hint='e.g. --reason "Renewal signed"')
    with store.transaction():
        cta = _open_cta(store, cta_id)
        _close(store, cta_id, cta["account_id"], reason.strip(), as_of, _at(now))
    return get(store, cta_id)


def snooze(
    store: Store, cta_id: int, until: date, reason: str, *, as_of: date, now: datetime
) -> dict[str, Any]:
    """Snooze a CTA until ``until`` (it is open again on that day); ``cta generate`` leaves it
    alone until then, except to close it when its condition clears."""
    if until <= as_of:
        raise InputError(f"--until {until} is not after {as_of}", hint="snooze until a later date")
    if not reason.strip():
        raise InputError("a reason is needed", hint='e.g. --reason "Customer on holiday"')
    with store.transaction():
        cta = _open_cta(store, cta_id)
        ctas_db.update(store.db, cta_id, status="snoozed", snoozed_until=until)
        ctas_db.add_event(
            store.db, cta_id, cta["account_id"], as_of, _at(now), "snoozed",
            f"snoozed until {until}: {reason.strip()}", {"until": until.isoformat()},
        )  # fmt: skip
    return get(store, cta_id)


@dataclass(frozen=True)
class DueMove:
    """What moving a CTA's due date did."""

    cta_id: int
    old: date
    new: date
    business_days: int  # positive: later
    tasks_moved: list[tuple[int, date, date]]  # (task number, old, new)


def move_due(
    store: Store, calendar: Calendar, cta_id: int, due: date, *, as_of: date, now: datetime
) -> DueMove:
    """Set a CTA's due date (rolled forward to a business day) and move its open tasks by the
    same number of business days. A date before the CTA was opened, or before ``as_of``, is
    refused."""
    new = calendar.roll_forward(due)
    with store.transaction():
        cta = _open_cta(store, cta_id)
        opened = date.fromisoformat(cta["opened_on"])
        if due < opened or due < as_of:
            earliest = max(opened, as_of)
            why = f"CTA {cta_id} was opened on {opened}" if due < opened else f"it is {as_of}"
            raise InputError(
                f"{due} is before {earliest}: {why}",
                hint=f"give a due date on or after {earliest}",
            )
        old = date.fromisoformat(cta["due_on"])
        shift = calendar.between(old, new)
        moved = []
        for t in ctas_db.tasks(store.db, cta_id):
            if t["done_on"] is None:
                before = date.fromisoformat(t["due_on"])
                after = calendar.add(before, shift)
                if after != before:
                    ctas_db.move_task(store.db, cta_id, t["n"], after)
                    moved.append((int(t["n"]), before, after))
        ctas_db.update(store.db, cta_id, due_on=new)
        ctas_db.add_event(
            store.db, cta_id, cta["account_id"], as_of, _at(now), "due_moved",
            f"due date moved from {old} to {new} ({shift:+d} business days, "
            f"{len(moved)} open task{'s' if len(moved) != 1 else ''} moved)",
            {"from": old.isoformat(), "to": new.isoformat(), "business_days": shift},
        )  # fmt: skip
    return DueMove(cta_id, old, new, shift, moved)


def _task(store: Store, cta_id: int, n: int) -> dict[str, Any]:
    tasks = ctas_db.tasks(store.db, cta_id)
    for t in tasks:
        if t["n"] == n:
            return t
    raise NotFoundError(
        f"CTA {cta_id} has no task {n}",
        hint=f"its tasks are 1 to {len(tasks)}" if tasks else f"CTA {cta_id} has no tasks",
    )


def finish_task(store: Store, cta_id: int, n: int, *, as_of: date, now: datetime) -> dict[str, Any]:
    """Mark task ``n`` of a CTA done on ``as_of``."""
    with store.transaction():
        cta = _open_cta(store, cta_id)
        task = _task(store, cta_id, n)
        if task["done_on"] is not None:
            raise InputError(
                f"task {n} of CTA {cta_id} was done on {task['done_on']}",
                hint="`cstool cta show` lists the open tasks",
            )
        ctas_db.finish_task(store.db, cta_id, n, as_of)
        ctas_db.add_event(
            store.db, cta_id, cta["account_id"], as_of, _at(now), "task_done",
            f"task {n} done: {task['title']}", {"task": n},
        )  # fmt: skip
    return _task(store, cta_id, n)


def _at(now: datetime) -> str:
    return now.isoformat(timespec="seconds")


# -- email assists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AssistResult:
    """The drafts written for a task's email assist, and the recipients skipped with why.

    ``as_of`` is the date of the numbers in the drafts; ``warnings`` say what may be off
    (a date after the latest usage, a CSM without an address under ``csms:``).
    """

    written: list[Path]
    skipped: list[tuple[str, str]]  # (user_id, reason)
    as_of: date | None = None
    warnings: list[str] = field(default_factory=list)


def assist_date(store: Store, cta: dict[str, Any]) -> date:
    """The default date of a CTA's email assist: the latest adoption snapshot (the date
    ``cta generate`` works on), or the day the CTA was opened when that is later."""
    from cstool.store import adoption as snapshots_db

    opened = date.fromisoformat(cta["opened_on"])
    latest = snapshots_db.snapshot_on_or_before(store.db, "9999-12-31")
    return max(opened, date.fromisoformat(latest)) if latest else opened


def _task_rule(
    ws: Workspace, store: Store, cta: dict[str, Any], n: int, assist: str
) -> Condition | None:
    """The ``recipients`` condition of the playbook task behind task ``n`` of ``cta``
    (None when the CTA is not a playbook's, or the task no longer has one)."""
    from cstool import playbooks
    from cstool.context import account_catalogue

    if cta["source"] != ctas_db.PLAYBOOK:
        return None
    for d in playbooks.load(ws, account_catalogue(store)):
        if d.model.name == cta["playbook"]:
            tasks = d.model.tasks
            if n <= len(tasks) and tasks[n - 1].email_assist == assist:
                return tasks[n - 1].recipients_condition
    return None


def _recipients(
    users: list[dict[str, Any]],
    account_id: str,
    to: Sequence[str] | None,
    rule: Condition | None = None,
) -> list[dict[str, Any]]:
    if to:
        by_id = {u["user_id"]: u for u in users}
        unknown = [u for u in to if u not in by_id]
        if unknown:
            raise NotFoundError(
                f"{unknown[0]} is not a user of account {account_id}",
                hint="give the user_id of one of the account's contacts",
            )
        return [by_id[u] for u in dict.fromkeys(to)]
    if rule is not None:
        chosen = sorted((u for u in users if rule.holds(u)), key=lambda u: u["user_id"])
        if not chosen:
            raise InputError(
                f"no user of account {account_id} matches the task's recipients: "
                + " ".join(rule.source.split()),
                hint="pass --user USER_ID to write for a chosen contact",
            )
        return chosen
    rank = {r: i for i, r in enumerate(CONTACT_ROLES)}
    chosen = sorted(
        (u for u in users if u["role"] in rank), key=lambda u: (rank[u["role"]], u["user_id"])
    )
    return chosen or [u for u in users if u["email"]]


def write_assist(
    ws: Workspace,
    store: Store,
    cta_id: int,
    n: int,
    *,
    as_of: date | None,
    now: datetime,
    to: Sequence[str] | None = None,
    force: bool = False,
) -> AssistResult:
    """Render task ``n``'s email assist for the account's contacts into ``outbox/assist/``.

    The numbers are those of ``as_of`` (default: :func:`assist_date`); a date after the
    latest usage is a warning, as in ``score``. The recipients are ``to`` (user ids of the
    account), else the users for whom the playbook task's ``recipients:`` condition holds
    (none is an error), else the account's Executive Sponsors and Admins, else every user
    with an email. Each draft is an ``.eml`` marked
    unsent (``X-Unsent: 1``, which mail programs open as a draft to edit), from the CSM (or
    the sender in ``cstool.yaml``), named ``cta-ID-task-N-K.eml`` from ids alone, written
    atomically. A draft already there is kept unless ``force``. Everything is rendered
    before anything is written.
    """
    from cstool import adoption, context, mail
    from cstool.playbooks import assist_context, email_templates
    from cstool.store import nps as nps_db

    config = ws.resolved.config
    cta = get(store, cta_id)
    task = _task(store, cta_id, n)
    if not task["email_assist"]:
        raise InputError(
            f"task {n} of CTA {cta_id} has no email assist",
            hint="`cstool cta show` marks the tasks that have one",
        )
    warnings: list[str] = []
    as_of = as_of or assist_date(store, cta)
    span = adoption.data_span(store)
    if span is not None and as_of > span[1]:
        days = (as_of - span[1]).days
        warnings.append(
            f"{as_of} is {days} day{'s' if days != 1 else ''} after the latest usage loaded "
            f"({span[1]}); activity since then is not counted in the drafts"
        )
    account_id = cta["account_id"]
    b = context.book(store, ws.resolved, as_of)
    variables = b.get(account_id) if account_id else None
    if variables is None:
        raise InputError(
            f"CTA {cta_id} belongs to no active account",
            hint="email assists are written for the contacts of an active account",
        )
    users = context.users(store, config, b.as_of, [account_id])
    answers = nps_db.latest_user_scores(store.db, account_id, b.as_of)
    for u in users:
        score, day = answers.get(u["user_id"], (None, None))
        u["user_nps"] = score
        u["user_nps_days"] = (b.as_of - date.fromisoformat(day)).days if day else None
    rule = None if to else _task_rule(ws, store, cta, n, task["email_assist"])
    recipients = _recipients(users, account_id, to, rule)
    facts = context.adoption_facts(store, config, b.as_of, [account_id]).get(account_id)
    template = email_templates(ws).get(task["email_assist"])
    csm = context.csm_context(config, variables.get("csm"))
    sender = (csm["name"] or config.sender.name, csm["email"] or config.sender.email)
    if csm["email"] is None:
        who = f"the CSM {csm['name']!r} is not listed" if csm["name"] else "the account has no CSM"
        warnings.append(
            f"{who} with an email under csms: in cstool.yaml, so the drafts are from the "
            f"sender address {sender[1]}"
        )
    folder = ws.root.joinpath(*ASSIST_FOLDER)
    drafts: list[tuple[Path, bytes]] = []
    skipped: list[tuple[str, str]] = []
    for k, user in enumerate(recipients, start=1):
        path = folder / f"cta-{cta_id}-task-{n}-{k}.eml"
        if not user["email"]:
            skipped.append((user["user_id"], "no email address"))
            continue
        ctx = assist_context(
            config, None, {"title": task["title"]}, variables, b.attributes[account_id],
            facts, user, as_of=b.as_of, cta=cta, task_due_on=task["due_on"],
        )  # fmt: skip
        rendered = template.render(ctx, recipient=user["user_id"])
        name = " ".join(p for p in (user["first_name"], user["last_name"]) if p)
        try:
            message = mail.build_message(
                sender=mail.Mailbox(sender[0], sender[1]),
                to=mail.Mailbox(name, user["email"]),
                subject=rendered.subject,
                message_id=mail.message_id(f"cta-{cta_id}-task-{n}-{k}", "cstool.invalid"),
                date=now,
                text=rendered.text,
                html=rendered.html,
                headers=[("X-Unsent", "1")],
            )
        except mail.Rejected as e:
            skipped.append((user["user_id"], e.message))
            continue
        if path.exists() and not force:
            skipped.append((user["user_id"], f"{path.name} is already written (--force)"))
            continue
        drafts.append((path, message))
    if drafts:
        _write_atomically(folder, drafts)
    return AssistResult([p for p, _ in drafts], skipped, b.as_of, warnings)


def _write_atomically(folder: Path, files: Sequence[tuple[Path, bytes]]) -> None:
    from cstool.errors import EnvironmentProblem

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in files:
            tmp = path.with_name(f".{path.name}.tmp")
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot write {e.filename}: {e.strerror}",
            hint="check that the outbox folder is writable and the disk has room",
        ) from None
