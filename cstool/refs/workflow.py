"""The reference request workflow: seven steps, each timestamped, in one fixed order.

:data:`STEPS` is the state machine. A request is at the last step it reached (1 to 7); the
only move is to the next step, by that step's command, so a step can be neither skipped nor
repeated. :func:`expect` checks a command against the request's step and, when it is not the
next one, says where the request is and what comes next (an InputError, exit 1)::

    1 requested   the account executive submits the request      refs request
    2 proposed    customer marketing proposes candidates          refs propose
    3 contacted   the CSM contacts the customer                   refs contact
    4 connected   the AE connects the customer with the prospect  refs connect
    5 occurred    the reference takes place                       refs occurred
    6 confirmed   the AE confirms it                              refs confirm
    7 recorded    it is recorded                                  refs record

A request is carried by a "Ref Request" CTA (source ``reference``, type ``reference``) holding
its fields, with one task per later step: each step marks its task done and adds a CTA event,
and recording closes the CTA. Recording also makes the reference a "Customer Reference"
milestone on the account's timeline, linked to the opportunity and the contact, and from the
contact on (step 3) the request counts towards the account's fatigue (see
:func:`cstool.store.refs.references`).

Every step is recorded in one transaction; the emails it renders are built before anything is
written and written inside that transaction, so a failure leaves neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, NotFoundError, UsageError
from cstool.refs import canonical_level

if TYPE_CHECKING:
    from cstool.config import ResolvedConfig
    from cstool.refs.emails import Built, Composer, Written
    from cstool.refs.find import Candidate, Criteria
    from cstool.store import Store
    from cstool.templating import EmailTemplates

CTA_SOURCE = "reference"
CTA_PLAYBOOK = "Ref Request"
CTA_TYPE = "reference"
CTA_PRIORITY = "high"
CUSTOMER_MARKETING = "customer marketing"


@dataclass(frozen=True)
class Step:
    """One step of the workflow."""

    number: int
    name: str
    command: str  # the refs command that records it
    who: str  # who does it
    what: str  # what happens, for people

    def usage(self, request_id: str) -> str:
        """The command line that records this step for ``request_id``."""
        args = {
            "propose": f"{request_id}",
            "contact": f"{request_id} ACCOUNT",
            "connect": f"{request_id} ACCOUNT",
            "occurred": f"{request_id} --date DATE --contact USER",
        }.get(self.command, request_id)
        return f"cstool refs {self.command} {args}"


STEPS: tuple[Step, ...] = (
    Step(1, "requested", "request", "the account executive", "the request was submitted"),
    Step(2, "proposed", "propose", CUSTOMER_MARKETING, "candidates proposed, CSM aligned"),
    Step(3, "contacted", "contact", "the CSM", "the CSM contacted the customer"),
    Step(4, "connected", "connect", "the account executive", "the customer met the prospect"),
    Step(5, "occurred", "occurred", "the account executive", "the reference took place"),
    Step(6, "confirmed", "confirm", "the account executive", "the AE confirmed it"),
    Step(7, "recorded", "record", CUSTOMER_MARKETING, "recorded as a customer reference"),
)
LAST = len(STEPS)


def step(number: int) -> Step:
    """The step numbered ``number`` (1 to 7)."""
    return STEPS[number - 1]


def expect(request: Mapping[str, Any], command: str) -> Step:
    """The step ``command`` records for ``request``, which must be at the step before it.

    Otherwise an InputError says which step the request is at and which command is next.
    """
    target = next(s for s in STEPS if s.command == command)
    at = int(request["step"])
    if at == target.number - 1:
        return target
    rid = request["request_id"]
    now = step(at)
    where = f"{rid} is at step {at} of {LAST} ({now.name}: {now.what})"
    if at >= LAST:
        raise InputError(
            f"{where}; it is complete", hint="`cstool refs status` lists the open requests"
        )
    following = step(at + 1)
    if target.number <= at:
        problem = f"step {target.number} ({target.name}) is already done"
    else:
        problem = f"step {target.number} ({target.name}) cannot come before step {at + 1}"
    raise InputError(
        f"{where}: {problem}",
        hint=f"the next step is {following.number} ({following.name}, by {following.who}): "
        f"{following.usage(rid)}",
    )


# -- results ---------------------------------------------------------------------------------


@dataclass
class StepDone:
    """What a workflow command did."""

    request_id: str
    step: Step
    at: str
    account_id: str | None = None
    user_id: str | None = None
    written: list[Written] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # found when it was opened
    proposed: list[dict[str, Any]] = field(default_factory=list)  # account_id, name, csm, ...
    notes: list[str] = field(default_factory=list)
    cta_id: int | None = None
    outbox: Path | None = None

    @property
    def next(self) -> Step | None:
        """The step that comes next, or None when the request is complete."""
        return step(self.step.number + 1) if self.step.number < LAST else None


# -- helpers ---------------------------------------------------------------------------------


def _stamp(now: datetime) -> str:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("workflow times must be timezone-aware")
    return now.isoformat(timespec="seconds")


def _request(store: Store, request_id: str) -> dict[str, Any]:
    from cstool.store import refs as refs_db

    req = refs_db.get(store.db, request_id.strip())
    if req is None:
        known = [r["request_id"] for r in refs_db.requests(store.db, open_only=True)]
        raise NotFoundError(
            f"no reference request {request_id!r}",
            hint=(f"open requests: {', '.join(known)}" if known else "there are no open requests")
            + "; `cstool refs status` lists them",
        )
    return req


def _account(store: Store, account_id: str) -> dict[str, Any]:
    from cstool.store import accounts as accounts_db

    row = accounts_db.account(store.db, account_id)
    if row is None:
        raise NotFoundError(
            f"no account {account_id!r}", hint="see `cstool refs find` or `cstool score`"
        )
    return row


def _user(store: Store, user_id: str) -> dict[str, Any]:
    from cstool.store import refs as refs_db

    row = refs_db.contact(store.db, user_id)
    if row is None:
        raise NotFoundError(
            f"no contact {user_id!r} in the users export",
            hint="see the account's contacts with `cstool account show ACCOUNT`",
        )
    return row


def _opportunity(store: Store, opportunity_id: str) -> dict[str, Any]:
    from cstool.store import refs as refs_db

    opp = refs_db.opportunity(store.db, opportunity_id)
    if opp is None:
        raise NotFoundError(
            f"no opportunity {opportunity_id!r} in the opportunities export",
            hint="load the latest opportunities export (`cstool load opportunities FILE`)",
        )
    return opp


def _record_step(
    store: Store,
    req: Mapping[str, Any],
    done: Step,
    now: datetime,
    day: date,
    *,
    data: Mapping[str, Any] | None = None,
    owner: str | None = None,
    **values: Any,
) -> None:
    """Move the request on, and keep its CTA in step (inside the caller's transaction)."""
    from cstool.store import ctas as ctas_db
    from cstool.store import refs as refs_db

    at = _stamp(now)
    if not refs_db.advance(
        store.db,
        req["request_id"],
        from_step=done.number - 1,
        at=at,
        day=day.isoformat(),
        data=data,
        **values,
    ):
        # Another process moved it since it was read: say where it is now.
        expect(_request(store, req["request_id"]), done.command)
    cta = int(req["cta_id"])
    ctas_db.finish_task(store.db, cta, done.number - 1, day)
    ctas_db.add_event(
        store.db,
        cta,
        None,
        day,
        at,
        "task_done",
        f"step {done.number} {done.name}: {done.what}",
        {"request_id": req["request_id"], "step": done.number, **(data or {})},
    )
    if done.number == LAST:
        ctas_db.update(store.db, cta, status="closed", closed_on=day, close_reason="recorded")
        ctas_db.add_event(
            store.db, cta, None, day, at, "closed", "closed: the reference is recorded"
        )
    elif owner is not None:
        ctas_db.update(store.db, cta, owner=owner)


def _write_in(store: Store, outbox: Path, request_id: str, built: Sequence[Built]) -> list[Written]:
    from cstool.refs.emails import write

    return write(outbox, request_id, built)


def customer_marketing(resolved: ResolvedConfig) -> str:
    """Customer marketing's names (``refs.notify``), or "customer marketing"."""
    people = resolved.config.refs.notify.customer_marketing
    return ", ".join(p.name for p in people) or CUSTOMER_MARKETING


# -- 1: request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    """What the account executive asks for."""

    opportunity_id: str
    level: str
    count: int
    topics: str | None
    needed_by: date
    industry: str | None = None
    characteristics: str | None = None
    ae: str | None = None


def _clean(text: str | None, flag: str) -> str | None:
    if text is None or not text.strip():
        return None
    if "\n" in text or "\r" in text:
        raise InputError(f"{flag} must be one line", hint="write it on one line")
    return " ".join(text.split())


def request(
    store: Store,
    resolved: ResolvedConfig,
    templates: EmailTemplates,
    outbox: Path,
    new: NewRequest,
    *,
    now: datetime,
) -> StepDone:
    """Open a reference request (step 1): the "Ref Request" CTA holding its fields, the alert
    to ``refs.notify`` and the ask for the best candidate, rendered into the outbox.

    Unknown opportunity: NotFoundError; unknown level: UsageError; ``needed_by`` before
    ``now``'s day, a count below 1 or an industry neither given nor on the opportunity:
    InputError. Nothing is written then.
    """
    from cstool.busdays import Calendar
    from cstool.refs import closed_stage
    from cstool.refs.emails import Composer, folder, request_context, stamp_date
    from cstool.refs.find import find
    from cstool.store import ctas as ctas_db
    from cstool.store import refs as refs_db

    config = resolved.config
    today = now.date()
    level = canonical_level(new.level)
    if level is None:
        from cstool.refs import LEVELS

        raise UsageError(f"unknown level {new.level!r}", hint=f"use one of {', '.join(LEVELS)}")
    if new.count < 1:
        raise InputError(f"--count {new.count}: at least one reference", hint="e.g. --count 2")
    if new.needed_by < today:
        raise InputError(
            f"--needed-by {new.needed_by} is in the past (today is {today})",
            hint="give the day the reference is needed by, today or later",
        )
    opp = _opportunity(store, new.opportunity_id.strip())
    if closed_stage(opp.get("stage"), opp.get("is_won")):
        raise InputError(
            f"{opp['opportunity_id']} is already closed (stage {opp.get('stage') or 'won'}):"
            " a reference can no longer help it",
            hint="request references for an open opportunity; if this deal reopened, load the"
            " latest opportunities export (`cstool load opportunities FILE`)",
        )
    industry = _clean(new.industry, "--industry") or opp.get("prospect_industry")
    if not industry:
        raise InputError(
            f"{opp['opportunity_id']} has no prospect_industry in the opportunities export",
            hint="pass --industry INDUSTRY",
        )
    fields: dict[str, Any] = {
        "opportunity_id": opp["opportunity_id"],
        "industry": industry,
        "level": level,
        "count": new.count,
        "topics": _clean(new.topics, "--topics"),
        "needed_by": new.needed_by.isoformat(),
        "characteristics": _clean(new.characteristics, "--characteristics"),
        "ae": _clean(new.ae, "--ae") or opp.get("owner"),
    }
    request_id = f"REQ-{refs_db.next_number(store.db):04d}"
    req = {"request_id": request_id, **fields}
    context = request_context(req, opp)
    at = _stamp(now)
    composer = Composer(templates, config, stamp_date(at))
    built = composer.alerts(context)
    notes = []
    if not built:
        notes.append("refs.notify in cstool.yaml lists nobody: no alert was written")
    unreachable = ae_problem(resolved, fields["ae"])
    if unreachable:
        notes.append(f"{unreachable}: `cstool refs follow-up` cannot remind them")
    best = find(store, resolved, criteria_of(req, opp), as_of=today, limit=1)
    if best.candidates:
        top = best.candidates[0]
        built.append(
            _ask(
                store,
                resolved,
                composer,
                f"{request_id}.ask-draft",
                req,
                opp,
                as_of=today,
                account_id=top.account_id,
                user_id=top.contacts[0].user_id,
            )
        )
    else:
        notes.append("no eligible candidate yet, so no ask was drafted (see `refs find`)")

    calendar = Calendar.from_config(config)
    tasks = [
        ctas_db.NewTask(
            f"{s.number}. {s.what} ({s.who})",
            calendar.add(today, 1) if s.number == 2 else new.needed_by,
        )
        for s in STEPS[1:]
    ]
    owner = customer_marketing(resolved)
    with store.transaction():
        cta = ctas_db.insert(
            store.db,
            source=CTA_SOURCE,
            playbook=CTA_PLAYBOOK,
            account_id=None,
            type=CTA_TYPE,
            priority=CTA_PRIORITY,
            owner=owner,
            reason=f"{request_id}: {new.count} {level} reference{'s' if new.count != 1 else ''}"
            f" for {opp['name']} by {new.needed_by}",
            opened_on=today,
            due_on=new.needed_by,
            tasks=tasks,
            details={"request_id": request_id, **fields},
        )
        ctas_db.add_event(store.db, cta, None, today, at, "opened", f"opened: {request_id}")
        refs_db.insert_request(store.db, request_id, cta, fields, at=at, day=today.isoformat())
        written = _write_in(store, outbox, request_id, built)
    return StepDone(
        request_id,
        step(1),
        at,
        written=written,
        candidates=best.candidates,
        notes=notes,
        cta_id=cta,
        outbox=folder(outbox, request_id),
    )


def criteria_of(req: Mapping[str, Any], opp: Mapping[str, Any] | None) -> Criteria:
    """The ``refs find`` criteria of a request: its industry and level, and the opportunity's
    amount as the ARR to compare sizes with."""
    from cstool.refs.find import Criteria

    amount = (opp or {}).get("amount")
    return Criteria(
        industry=req["industry"],
        level=req["level"],
        target_arr=float(amount) if amount else None,
    )


def _ask(
    store: Store,
    resolved: ResolvedConfig,
    composer: Composer,
    key: str,
    req: Mapping[str, Any],
    opp: Mapping[str, Any] | None,
    *,
    as_of: date,
    account_id: str,
    user_id: str,
) -> Built:
    """The ask to one contact of an account, with the account's context on ``as_of``."""
    from cstool import context as ctx
    from cstool.refs.emails import request_context

    config = resolved.config
    book = ctx.book(store, resolved, as_of)
    variables = book.get(account_id)
    if variables is None:
        raise InputError(f"{account_id} is not an active account", hint="pick another one")
    facts = ctx.adoption_facts(store, config, as_of, [account_id]).get(account_id)
    user = next(u for u in ctx.users(store, config, as_of, [account_id]) if u["user_id"] == user_id)
    return composer.ask(
        key,
        request_context(req, opp),
        ctx.account_context(variables, book.attributes.get(account_id, {})),
        ctx.adoption_context(variables, facts, as_of),
        ctx.csm_context(config, variables.get("csm")),
        ctx.user_context(user),
    )


def best_contact(store: Store, account_id: str, level: str) -> str:
    """The user_id to ask at an account: its first contact by :func:`find.best_contacts`."""
    from cstool.refs.find import best_contacts
    from cstool.store import refs as refs_db

    found = best_contacts(refs_db.contacts(store.db, [account_id]), level)
    if not found:
        raise InputError(
            f"{account_id} has no advocate and no contact at {level} level to ask",
            hint="pass --contact USER",
        )
    return found[0].user_id


# -- 2: propose ------------------------------------------------------------------------------


def propose(
    store: Store,
    resolved: ResolvedConfig,
    request_id: str,
    *,
    accounts: Sequence[str] | None = None,
    now: datetime,
) -> StepDone:
    """Attach candidates (step 2): ``accounts`` as given, or the top ``refs.proposals`` of
    ``refs find`` for the request. A given account a rule excludes is kept, with a note."""
    from cstool.refs.find import find
    from cstool.store import refs as refs_db

    req = _request(store, request_id)
    done = expect(req, "propose")
    opp = refs_db.opportunity(store.db, req["opportunity_id"])
    criteria = criteria_of(req, opp)
    today = now.date()
    notes: list[str] = []
    if accounts:
        ids = list(dict.fromkeys(a.strip() for a in accounts if a.strip()))
        rows = [_account(store, a) for a in ids]
        found = find(store, resolved, criteria, as_of=today, limit=len(ids) + 10_000)
        ranked = {c.account_id: c for c in found.candidates}
        why = {e.account_id: e for e in found.excluded}
        proposed = []
        for row in rows:
            c = ranked.get(row["account_id"])
            if c is None:
                e = why.get(row["account_id"])
                because = f"{e.rule} excludes it: {e.reason}" if e else "it is not in the industry"
                notes.append(f"{row['account_id']} is proposed although {because}")
            proposed.append(
                {
                    "account_id": row["account_id"],
                    "name": row["name"],
                    "csm": row.get("csm"),
                    "score": c.score if c else None,
                    "reasons": "; ".join(c.reasons) if c else None,
                }
            )
    else:
        want = resolved.config.refs.proposals
        found = find(store, resolved, criteria, as_of=today, limit=want)
        if not found.candidates:
            raise InputError(
                f"no eligible candidate for {req['request_id']} ({req['industry']}, "
                f"{req['level']} level)",
                hint="pass --accounts A,B to propose accounts yourself; "
                f"`cstool refs find --industry {req['industry']!r} --level {req['level']} "
                "--explain` shows why accounts are excluded",
            )
        if len(found.candidates) < 3:
            notes.append(f"only {len(found.candidates)} eligible candidate(s); 3 or 4 are usual")
        proposed = [
            {
                "account_id": c.account_id,
                "name": c.name,
                "csm": c.csm,
                "score": c.score,
                "reasons": "; ".join(c.reasons),
            }
            for c in found.candidates
        ]
    owner = ", ".join(sorted({p["csm"] for p in proposed if p["csm"]})) or "the candidates' CSMs"
    with store.transaction():
        refs_db.set_candidates(
            store.db,
            req["request_id"],
            [(p["account_id"], p["score"], p["reasons"]) for p in proposed],
        )
        _record_step(
            store,
            req,
            done,
            now,
            today,
            data={"accounts": [p["account_id"] for p in proposed]},
            owner=owner,
        )
    return StepDone(req["request_id"], done, _stamp(now), proposed=proposed, notes=notes)


# -- 3: contact ------------------------------------------------------------------------------


def contact(
    store: Store,
    resolved: ResolvedConfig,
    templates: EmailTemplates,
    outbox: Path,
    request_id: str,
    account_id: str,
    *,
    user_id: str | None = None,
    now: datetime,
) -> StepDone:
    """The CSM contacts the customer (step 3): the ask to ``user_id`` (default: the account's
    best contact) is rendered into the outbox. The account must be a proposed candidate."""
    from cstool.refs.emails import Composer, folder, stamp_date
    from cstool.store import refs as refs_db

    req = _request(store, request_id)
    done = expect(req, "contact")
    row = _account(store, account_id.strip())
    aid = row["account_id"]
    proposed = [c["account_id"] for c in refs_db.candidates(store.db, req["request_id"])]
    if aid not in proposed:
        raise InputError(
            f"{aid} is not a candidate of {req['request_id']}",
            hint=f"the proposed candidates are {', '.join(proposed)}",
        )
    if user_id is not None:
        user = _user(store, user_id.strip())
        if user["account_id"] != aid:
            raise InputError(
                f"{user['user_id']} is a contact of {user['account_id']}, not of {aid}",
                hint="pick a contact of the account (`cstool account show ACCOUNT`)",
            )
        user_id = user["user_id"]
    opp = refs_db.opportunity(store.db, req["opportunity_id"])
    today = now.date()
    user_id = user_id or best_contact(store, aid, req["level"])
    composer = Composer(templates, resolved.config, stamp_date(_stamp(now)))
    built = _ask(
        store,
        resolved,
        composer,
        f"{req['request_id']}.ask",
        req,
        opp,
        as_of=today,
        account_id=aid,
        user_id=user_id,
    )
    with store.transaction():
        _record_step(
            store,
            req,
            done,
            now,
            today,
            data={"account_id": aid, "user_id": user_id},
            owner=req.get("ae") or "the account executive",
            account_id=aid,
            user_id=user_id,
        )
        written = _write_in(store, outbox, req["request_id"], [built])
    return StepDone(
        req["request_id"],
        done,
        _stamp(now),
        account_id=aid,
        user_id=user_id,
        written=written,
        outbox=folder(outbox, req["request_id"]),
    )


# -- 4 to 7 ----------------------------------------------------------------------------------


def connect(store: Store, request_id: str, account_id: str, *, now: datetime) -> StepDone:
    """The account executive connects the customer with the prospect (step 4)."""
    req = _request(store, request_id)
    done = expect(req, "connect")
    row = _account(store, account_id.strip())
    if row["account_id"] != req["account_id"]:
        raise InputError(
            f"{req['request_id']} is with {req['account_id']}, not {row['account_id']}",
            hint=f"cstool refs connect {req['request_id']} {req['account_id']}",
        )
    with store.transaction():
        _record_step(store, req, done, now, now.date(), owner=req.get("ae"))
    return StepDone(req["request_id"], done, _stamp(now), account_id=req["account_id"])


def occurred(store: Store, request_id: str, *, day: date, user_id: str, now: datetime) -> StepDone:
    """The reference took place on ``day`` with the contact ``user_id`` (step 5)."""
    req = _request(store, request_id)
    done = expect(req, "occurred")
    user = _user(store, user_id.strip())
    if user["account_id"] != req["account_id"]:
        raise InputError(
            f"{user['user_id']} is a contact of {user['account_id']}, not of "
            f"{req['account_id']}, the account of {req['request_id']}",
            hint="give the contact who spoke with the prospect",
        )
    requested = date.fromisoformat(req["requested_at"][:10])
    if day > now.date():
        raise InputError(
            f"--date {day} is in the future: the reference has not taken place yet",
            hint="record it once it has taken place",
        )
    if day < requested:
        raise InputError(
            f"--date {day} is before the request was opened ({requested})",
            hint="give the day the reference took place",
        )
    with store.transaction():
        _record_step(
            store,
            req,
            done,
            now,
            now.date(),
            data={"date": day.isoformat(), "user_id": user["user_id"]},
            owner=req.get("ae"),
            user_id=user["user_id"],
            occurred_on=day.isoformat(),
        )
    return StepDone(
        req["request_id"], done, _stamp(now), account_id=req["account_id"], user_id=user["user_id"]
    )


def confirm(store: Store, resolved: ResolvedConfig, request_id: str, *, now: datetime) -> StepDone:
    """The account executive confirms the reference (step 6)."""
    req = _request(store, request_id)
    done = expect(req, "confirm")
    with store.transaction():
        _record_step(store, req, done, now, now.date(), owner=customer_marketing(resolved))
    return StepDone(req["request_id"], done, _stamp(now), account_id=req["account_id"])


def record(store: Store, request_id: str, *, now: datetime) -> StepDone:
    """Record the reference (step 7): the CTA closes, and the account's timeline shows a
    "Customer Reference" milestone on the day it took place, linked to the opportunity and
    the contact."""
    req = _request(store, request_id)
    done = expect(req, "record")
    with store.transaction():
        _record_step(
            store,
            req,
            done,
            now,
            now.date(),
            data={
                "account_id": req["account_id"],
                "user_id": req["user_id"],
                "opportunity_id": req["opportunity_id"],
            },
        )
    return StepDone(
        req["request_id"], done, _stamp(now), account_id=req["account_id"], user_id=req["user_id"]
    )


# -- status and follow-up --------------------------------------------------------------------

STATUS_COLUMNS = (
    "request_id",
    "opportunity_id",
    "level",
    "count",
    "needed_by",
    "step",
    "step_name",
    "next",
    "owner",
    "account_id",
    "age_hours",
)


def _owner(req: Mapping[str, Any], resolved: ResolvedConfig, csms: Mapping[str, str]) -> str:
    at = int(req["step"])
    if at == 1 or at == 6:
        return customer_marketing(resolved)
    if at == 2:
        return csms.get(req["request_id"]) or "the candidates' CSMs"
    return str(req.get("ae") or "the account executive")


def status(store: Store, resolved: ResolvedConfig, *, now: datetime) -> list[dict[str, Any]]:
    """The open requests (not recorded) by id: step, the next step and who owns it, and the
    age in hours since the request was opened (one decimal)."""
    from cstool.store import accounts as accounts_db
    from cstool.store import refs as refs_db

    rows = []
    open_requests = refs_db.requests(store.db, open_only=True)
    csms: dict[str, str] = {}
    for req in open_requests:
        if int(req["step"]) == 2:
            names = set()
            for c in refs_db.candidates(store.db, req["request_id"]):
                a = accounts_db.account(store.db, c["account_id"])
                if a and a.get("csm"):
                    names.add(str(a["csm"]))
            csms[req["request_id"]] = ", ".join(sorted(names))
    for req in open_requests:
        at = int(req["step"])
        opened = datetime.fromisoformat(req["requested_at"])
        following = step(at + 1)
        rows.append(
            {
                "request_id": req["request_id"],
                "opportunity_id": req["opportunity_id"],
                "level": req["level"],
                "count": req["count"],
                "needed_by": req["needed_by"],
                "step": at,
                "step_name": step(at).name,
                "next": following.command,
                "owner": _owner(req, resolved, csms),
                "account_id": req["account_id"],
                "age_hours": round((now - opened).total_seconds() / 3600, 1),
            }
        )
    return rows


@dataclass
class FollowUps:
    """What ``refs follow-up`` wrote, left unchanged, and could not remind about."""

    as_of: date
    due: int = 0  # requests waiting on their account executive on the day
    written: list[Written] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why, one line per request

    @property
    def changed(self) -> list[Written]:
        """The messages written (new, or with new bytes)."""
        return [w for w in self.written if not w.unchanged]

    @property
    def unchanged(self) -> list[Written]:
        """The messages the outbox already held byte for byte."""
        return [w for w in self.written if w.unchanged]

    def check(self) -> None:
        """Raise PartialFailure (exit 4) when a request due a reminder got none, saying which
        and why; the reminders that could be written are written."""
        from cstool.errors import PartialFailure

        if not self.skipped:
            return
        raise PartialFailure(
            f"{len(self.skipped)} of {self.due} follow-up email(s) not written: "
            + "; ".join(self.skipped),
            result=self,
            hint="list each account executive with their email under refs.account_executives "
            "in cstool.yaml, then run the follow-up again",
        )


AE = "the account executive"
# A request waits on its account executive when the AE owns its next step: connecting the
# customer with the prospect (at step 3), the reference taking place (at 4) and confirming
# it (at 5). Before that customer marketing or the CSM owns it; at 6 customer marketing records.
AWAITING_AE = tuple(s.number - 1 for s in STEPS[1:] if s.who == AE)
WAITING_FOR = {
    3: "you to connect the customer with the prospect",
    4: "the reference call to take place",
    5: "your confirmation that the reference took place",
}


def ae_problem(resolved: ResolvedConfig, ae: str | None) -> str | None:
    """Why the weekly follow-up cannot reach the account executive ``ae``, or None."""
    name = (ae or "").strip()
    if not name:
        return "no account executive (pass --ae NAME, or set the opportunity's owner)"
    known = {p.name.strip().casefold() for p in resolved.config.refs.account_executives}
    if name.casefold() not in known:
        return f"no email for {name} under refs.account_executives"
    return None


def steps_on(store: Store, day: date) -> dict[str, int]:
    """The step each request had reached by the end of ``day``, by the stored date of each
    step; requests opened after ``day`` are left out."""
    from cstool.store import refs as refs_db

    reached: dict[str, int] = {}
    for s in refs_db.steps(store.db):
        if s["date"] <= day.isoformat():
            reached[s["request_id"]] = max(reached.get(s["request_id"], 0), int(s["step"]))
    return reached


def follow_up(
    store: Store,
    resolved: ResolvedConfig,
    templates: EmailTemplates,
    outbox: Path,
    *,
    as_of: date,
) -> FollowUps:
    """The weekly reminder to account executives about the requests waiting on them on
    ``as_of`` and not confirmed: those at step 3 (contacted: the AE connects next), 4
    (connected: the reference takes place next) or 5 (occurred: the AE confirms next) by the
    end of that day, as their timestamped steps say. One email per request and ISO week.

    The AE's address comes from ``refs.account_executives``; a request whose AE is not listed
    there gets no email, and :meth:`FollowUps.check` then raises PartialFailure. Writes no
    database row: a message already in the outbox with the same bytes is left unchanged.
    """
    from cstool.mail import Mailbox
    from cstool.refs.emails import Composer, day_date, request_context, write
    from cstool.store import refs as refs_db

    config = resolved.config
    aes = {p.name.strip().casefold(): p for p in config.refs.account_executives}
    reached = steps_on(store, as_of)
    result = FollowUps(as_of)
    for req in refs_db.requests(store.db):
        at = reached.get(req["request_id"])
        if at is None or at not in AWAITING_AE:
            continue
        result.due += 1
        problem = ae_problem(resolved, req.get("ae"))
        if problem is not None:
            result.skipped.append(f"{req['request_id']}: {problem}")
            continue
        person = aes[str(req["ae"]).strip().casefold()]
        opp = refs_db.opportunity(store.db, req["opportunity_id"])
        context = {
            **request_context(req, opp),
            "step": at,
            "step_name": step(at).name,
            "waiting_for": WAITING_FOR[at],
        }
        composer = Composer(templates, config, day_date(as_of, req["requested_at"]))
        built = composer.follow_up(context, Mailbox(person.name, person.email), as_of)
        result.written += write(outbox, req["request_id"], [built])
    return result
