"""``journey send``: plan a journey's batch, render it, record it, write it, deliver it.

The order of the work is what makes every message go out exactly once (3 and 4 are done
first, reading only: then a journey that ``journey validate`` fails is refused, before 1 and 2
or anything else is written):

1. Rows the ledger left ``sending`` (a run killed during delivery) become ``unknown``: they
   may have arrived, so they are held for ``journey resolve``, never resent on their own.
2. Batches of the journey left incomplete (a run killed while writing) are completed: their
   ``planned`` rows are rendered again, byte-identical because the Message-ID and Date come
   from the ledger, and written.
3. The plan of the day (:func:`cstool.journeys.due.plan`).
4. Every due message is rendered and built in memory, and only kept as a subject, an address
   or a reason: a template error fails the batch here, before anything is written, naming
   the template, the line, the variable and the recipient.
5. One transaction records the batch and its rows: ``planned``, ``invalid`` (with the
   reason) or ``held_out``.
6. The planned rows are rendered again and written in chunks to the batch's Maildir
   (``tmp/`` then ``new/``), each chunk's rows then marked ``written``; then ``manifest.csv``
   and the batch is complete. Rendering twice keeps memory flat in the batch size: no
   message is held longer than its chunk (see the README's Performance section).
7. With ``deliver``, every written message of the journey goes over SMTP, one recipient a
   message: ``sending`` is committed before a message is handed over and its outcome after.

A dry run does 3, 4 and writes the messages to ``outbox/dry-run/JOURNEY/`` for review,
changing nothing in the database.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import (
    EnvironmentProblem,
    InputError,
    NotFoundError,
    PartialFailure,
    UsageError,
)
from cstool.journeys.definitions import (
    Journey,
    check_name,
    find,
    journey_definitions,
    templates_of,
)
from cstool.journeys.due import Counts, Due, Plan, plan
from cstool.journeys.render import Composer, Contexts, message_domain
from cstool.mail import Delivery, MaildirOutbox, Rejected
from cstool.mail import message_id as make_message_id
from cstool.store import sends as sends_db

if TYPE_CHECKING:
    from cstool.store import Store
    from cstool.templating import EmailTemplates
    from cstool.workspace import Workspace

Progress = Callable[[str, int, int], None]
CHUNK = 500  # messages rendered, written and recorded together
DRY_RUN = "dry-run"
MANIFEST_COLUMNS = (
    "key",
    "file",
    "message_id",
    "step",
    "variant",
    "template",
    "account_id",
    "user_id",
    "recipient",
    "subject",
    "status",
    "reason",
)
PLAN_COLUMNS = (
    "step",
    "variant",
    "template",
    "account_id",
    "user_id",
    "recipient",
    "subject",
    "status",
    "reason",
)


def _quiet(phase: str, done: int, total: int) -> None:
    return None


# -- loading -------------------------------------------------------------------------------


def outbox_dir(ws: Workspace, journey: str) -> Path:
    """``outbox/JOURNEY/``: the journey's batches."""
    return ws.outbox / check_name(journey)


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    """One line of a plan: a recipient's step, variant, subject and what happens to it."""

    step: str
    variant: str | None
    template: str | None
    account_id: str
    user_id: str
    recipient: str | None
    subject: str | None
    status: str  # to_send or invalid
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in PLAN_COLUMNS}


@dataclass
class Delivered:
    """What one delivery run did, by outcome."""

    attempted: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    missing: int = 0  # written rows whose file is gone from the outbox
    left: int = 0  # left for another day by sending.daily_cap
    failures: list[dict[str, Any]] = field(default_factory=list)  # not delivered, with why

    @property
    def problems(self) -> int:
        return (
            self.outcomes[sends_db.FAILED]
            + self.outcomes[sends_db.UNKNOWN]
            + self.outcomes[sends_db.DEFERRED]
            + self.missing
        )


@dataclass(frozen=True)
class Unknown:
    """A message whose SMTP outcome is unknown, held until ``journey resolve`` decides."""

    batch_id: int
    key: str
    user_id: str
    step: str
    reason: str | None


def unknown_outcomes(store: Store, journey: str) -> list[Unknown]:
    """The journey's messages held with an unknown outcome, by batch then ledger order."""
    rows = sends_db.rows(store.db, journey=journey, statuses=(sends_db.UNKNOWN,))
    held = [Unknown(r["batch_id"], r["key"], r["user_id"], r["step"], r["reason"]) for r in rows]
    return sorted(held, key=lambda u: u.batch_id)


def resolve_commands(held: Iterable[Unknown]) -> list[str]:
    """The ``journey resolve`` command of each batch holding unknown outcomes."""
    return [
        f"cstool journey resolve {b} --resend (or --skip)"
        for b in dict.fromkeys(u.batch_id for u in held)
    ]


@dataclass
class SendResult:
    """What ``journey send`` did (or, in a dry run, would do)."""

    journey: str
    as_of: date
    dry_run: bool
    counts: Counts
    rows: list[PlanRow]
    send_day: bool
    not_send_day: str | None
    audience: int = 0
    recipients: int = 0
    batch_id: int | None = None
    folder: Path | None = None  # where the messages went
    written: int = 0
    completed: list[int] = field(default_factory=list)  # earlier batches completed first
    completed_written: int = 0
    now_unknown: int = 0  # rows of a killed delivery, held for resolve
    open_batches: list[int] = field(default_factory=list)  # dry run: batches a run would finish
    delivered: Delivered | None = None
    unknown: list[Unknown] = field(default_factory=list)  # held for resolve, of any run
    broken: list[str] = field(default_factory=list)  # other journey files that do not load

    @property
    def invalid(self) -> list[PlanRow]:
        return [r for r in self.rows if r.status == "invalid"]


# -- building messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    """A ledger row as the composer reads it."""

    send_id: int
    step: str
    variant: str | None
    template: str
    account_id: str
    user_id: str
    key: str


def _first_pass(composer: Composer, items: list[Due], progress: Progress, *, keep: bool) -> None:
    """Render every item in memory and build its headers, keeping only the reason of an
    invalid one (and, with ``keep``, the subject and address, for a dry run's plan). The
    bodies are checked again when the message is built to be written: a lone surrogate there
    makes that recipient invalid then."""
    total = len(items)
    for i, item in enumerate(items, 1):
        try:
            built = composer.build(item, bodies=False)
        except Rejected as e:
            item.reason = str(e)
            if keep:  # the address as exported, so the plan shows whose data to fix
                item.recipient = (composer.contexts.users.get(item.user_id) or {}).get("email")
        else:
            if keep:
                item.subject, item.recipient = built.subject, built.recipient
        if i % 256 == 0:
            progress("rendering", i, total)
    progress("rendering", total, total)


def _plan_rows(p: Plan, *, every: bool) -> list[PlanRow]:
    """The plan's rows: every one (a dry run), or the invalid ones (a run, which writes)."""
    rows = [
        PlanRow(
            i.step,
            i.variant,
            i.template,
            i.account_id,
            i.user_id,
            i.recipient,
            i.subject,
            "invalid" if i.reason else "to_send",
            i.reason,
        )
        for i in p.items
        if every or i.reason
    ]
    order = {s.id: n for n, s in enumerate(p.journey.steps)}
    rows.sort(key=lambda r: (order[r.step], r.account_id, r.user_id))
    return rows


def _message_file(folder: Path, key: str) -> Path | None:
    """The message ``key`` in a Maildir: ``new/KEY``, or ``cur/KEY:2,...`` once read."""
    new = folder / "new" / key
    if new.is_file():
        return new
    cur = folder / "cur"
    if cur.is_dir():
        for name in (key, *(p.name for p in cur.glob(key + ":*"))):
            if (cur / name).is_file():
                return cur / name
    return None


def _write_rows(
    store: Store,
    outbox: MaildirOutbox,
    composer: Composer,
    rows: Iterable[_Row],
    total: int,
    now: str,
    progress: Progress,
) -> tuple[int, int]:
    """Render, build and write ledger rows in chunks; each chunk is recorded once published.

    Returns (written, invalid).
    """
    written = invalid = 0
    chunk: list[tuple[int, str, str, str]] = []
    rejected: list[tuple[int, str]] = []

    def flush() -> None:
        for _, key in staged:
            outbox.publish(key)
        with store.transaction():
            sends_db.mark_written(store.db, chunk, now)
            for send_id, reason in rejected:
                sends_db.set_status(store.db, [send_id], sends_db.INVALID, now, reason=reason)

    staged: list[tuple[int, str]] = []
    for done, row in enumerate(rows, 1):
        try:
            built = composer.build(row)
        except Rejected as e:
            rejected.append((row.send_id, str(e)))
            invalid += 1
        else:
            outbox.stage(row.key, built.data)
            staged.append((row.send_id, row.key))
            chunk.append((row.send_id, built.subject, built.recipient, built.mail_from))
            written += 1
        if len(staged) + len(rejected) >= CHUNK:
            flush()
            chunk, rejected, staged = [], [], []
            progress("writing", done, total)
    if staged or rejected:
        flush()
    progress("writing", total, total)
    return written, invalid


def _ledger_rows(store: Store, batch_id: int, statuses: tuple[str, ...]) -> Iterator[_Row]:
    """The batch's rows in these statuses, read a page at a time."""
    after = 0
    while True:
        page = sends_db.rows(
            store.db, batch_id=batch_id, statuses=statuses, after=after, limit=CHUNK
        )
        if not page:
            return
        for r in page:
            yield _Row(
                r["send_id"],
                r["step"],
                r["variant"],
                r["template"],
                r["account_id"],
                r["user_id"],
                r["key"],
            )
        after = page[-1]["send_id"]


def _manifest(store: Store, outbox: MaildirOutbox, batch_id: int) -> Path:
    def lines() -> Iterator[list[Any]]:
        after = 0
        while True:
            page = sends_db.rows(store.db, batch_id=batch_id, after=after, limit=CHUNK)
            if not page:
                return
            for r in page:
                has_file = r["status"] in sends_db.WITH_MESSAGE
                yield [
                    r["key"],
                    f"new/{r['key']}" if has_file else "",
                    r["message_id"] or "",
                    r["step"],
                    r["variant"] or "",
                    r["template"] or "",
                    r["account_id"],
                    r["user_id"],
                    r["recipient"] or "",
                    r["subject"] or "",
                    r["status"],
                    r["reason"] or "",
                ]
            after = page[-1]["send_id"]

    return outbox.write_manifest(list(MANIFEST_COLUMNS), lines())


def _complete(
    ws: Workspace,
    store: Store,
    journey: Journey,
    batch: sends_db.Batch,
    templates: EmailTemplates,
    now: str,
    progress: Progress,
    contexts: Contexts | None = None,
) -> int:
    """Write a batch's planned rows (and written ones whose file is gone); then complete it."""
    folder = outbox_dir(ws, journey.name) / batch.folder
    outbox = MaildirOutbox(folder)
    planned = sends_db.count_by_status(store.db, batch.batch_id).get(sends_db.PLANNED, 0)
    lost = [
        r["send_id"]
        for r in sends_db.rows(store.db, batch_id=batch.batch_id, statuses=(sends_db.WRITTEN,))
        if _message_file(folder, r["key"]) is None
    ]
    if lost:
        with store.transaction():
            sends_db.set_status(store.db, lost, sends_db.PLANNED, now)
    written = 0
    if planned + len(lost):
        if contexts is None:
            accounts = {
                r["account_id"]
                for r in sends_db.rows(
                    store.db, batch_id=batch.batch_id, statuses=(sends_db.PLANNED,)
                )
            }
            contexts = Contexts.build(store, ws.resolved, date.fromisoformat(batch.as_of), accounts)
        composer = Composer(journey, templates, contexts, datetime.fromisoformat(batch.created_at))
        written, _ = _write_rows(
            store,
            outbox,
            composer,
            _ledger_rows(store, batch.batch_id, (sends_db.PLANNED,)),
            planned + len(lost),
            now,
            progress,
        )
    _manifest(store, outbox, batch.batch_id)
    with store.transaction():
        sends_db.complete_batch(store.db, batch.batch_id)
    return written


def _hold_interrupted(store: Store, journey: str, now: str) -> int:
    """Rows left ``sending`` by a killed delivery become ``unknown`` (held for a decision)."""
    stuck = [
        r["send_id"] for r in sends_db.rows(store.db, journey=journey, statuses=(sends_db.SENDING,))
    ]
    if stuck:
        with store.transaction():
            sends_db.set_status(
                store.db,
                stuck,
                sends_db.UNKNOWN,
                now,
                reason="the run delivering it stopped; it may or may not have arrived",
            )
    return len(stuck)


# -- send ----------------------------------------------------------------------------------


def send(
    ws: Workspace,
    name: str,
    *,
    as_of: date,
    now: datetime,
    dry_run: bool = False,
    limit: int | None = None,
    step: str | None = None,
    deliver: bool = False,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> SendResult:
    """Plan, render, record and write (or, ``dry_run``, preview) one journey's batch on ``as_of``.

    ``now`` (timezone-aware) is the Date of the batch's messages. With ``deliver``, the
    journey's written messages then go over SMTP (``sending:`` in cstool.yaml, the password
    from CSTOOL_SMTP_PASSWORD in ``env``). Raises PartialFailure (exit 4, with the result)
    when some recipients were invalid or some deliveries failed or are unknown.
    """
    check_name(name)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if dry_run and deliver:
        raise UsageError("--dry-run and --deliver cannot be combined", hint="drop one of them")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1", hint="e.g. --limit 100")
    progress = progress or _quiet
    stamp = now.isoformat(timespec="seconds")
    templates = templates_of(ws)
    with ws.open_store(write=not dry_run) as store:
        definitions = journey_definitions(ws, store)
        journey = find(definitions, name).model
        categories = {d.model.name: d.model.category for d in definitions}
        transactional = [d.model.name for d in definitions if d.model.transactional]
        open_before = sends_db.open_batches(store.db, journey.name)
        p = plan(
            store,
            ws.resolved,
            journey,
            as_of,
            categories=categories,
            transactional=transactional,
            step=step,
            limit=limit,
            progress=progress,
        )
        composer: Composer | None = None
        if p.contexts is not None and (p.items or p.held):
            # A template error names the real recipient here, before anything is written.
            composer = Composer(journey, templates, p.contexts, datetime.fromisoformat(stamp))
            _first_pass(composer, p.items, progress, keep=dry_run)
            p.counts.invalid = sum(1 for i in p.items if i.reason)
        _refuse_broken(ws, templates, journey)
        result_unknown = 0
        completed: list[int] = []
        completed_written = 0
        if not dry_run:
            # The plan is the same before and after these: the ledger already holds their keys.
            result_unknown = _hold_interrupted(store, journey.name, stamp)
            for batch in open_before:
                completed_written += _complete(
                    ws, store, journey, batch, templates, stamp, progress
                )
                completed.append(batch.batch_id)
        result = SendResult(
            journey.name,
            as_of,
            dry_run,
            p.counts,
            [],
            p.send_day,
            p.not_send_day,
            audience=p.audience,
            recipients=p.recipients,
            completed=completed,
            completed_written=completed_written,
            now_unknown=result_unknown,
            open_batches=[b.batch_id for b in open_before] if dry_run else [],
        )
        if composer is not None:
            result.rows = _plan_rows(p, every=dry_run)
            if not dry_run:
                _record_and_write(ws, store, journey, composer, p, stamp, result, progress)
        if dry_run:  # written even when nothing is due: the last preview must not linger
            result.folder, result.written = _write_dry_run(ws, journey, composer, p, progress)
        if deliver:
            result.delivered = _deliver(ws, store, journey, env=env, now=now, progress=progress)
        result.unknown = unknown_outcomes(store, journey.name)
        result.broken = [str(b) for b in definitions.broken]
    problems = (result.counts.invalid + result.now_unknown) if not dry_run else 0
    if result.delivered is not None:
        problems += result.delivered.problems
    if problems:
        raise PartialFailure(
            f"{problems:,} of the journey's messages were not sent: see the reasons above",
            result=result,
            hint="fix the recipients' data and run again (invalid ones are planned again)"
            + (
                "; decide on the unknown outcomes: " + "; ".join(resolve_commands(result.unknown))
                if result.unknown
                else ""
            ),
        )
    return result


def _refuse_broken(ws: Workspace, templates: EmailTemplates, journey: Journey) -> None:
    """Refuse a journey that ``journey validate`` fails (nothing has been written yet)."""
    from cstool.journeys.overview import journey_problems

    problems = journey_problems(ws.resolved.config, templates, journey)
    if problems:
        raise InputError(
            f"journey {journey.name} cannot be sent: {len(problems)} problem(s)",
            problems=problems,
            hint=f"fix them (`cstool journey validate {journey.name}` checks again); "
            "nothing was written",
        )


def _record_and_write(
    ws: Workspace,
    store: Store,
    journey: Journey,
    composer: Composer,
    p: Plan,
    stamp: str,
    result: SendResult,
    progress: Progress,
) -> None:
    domain = message_domain(ws.resolved.config)

    def new(item: Due) -> sends_db.NewSend:
        status = (
            sends_db.HELD_OUT
            if item.held_out
            else sends_db.INVALID
            if item.reason
            else sends_db.PLANNED
        )
        key = item.key
        return sends_db.NewSend(
            key,
            journey.name,
            item.step,
            item.user_id,
            item.cycle,
            item.account_id,
            p.as_of.isoformat(),
            item.variant,
            None if item.held_out else item.template,
            None,  # recipient, sender and subject: recorded once the message is written
            None,
            None if item.held_out else make_message_id(key, domain),
            None,
            status,
            item.reason,
        )

    # A row still invalid stays in its batch with today's reason: a batch is made only for
    # what is new to the ledger or written now, so a re-run that writes nothing makes none.
    before = {
        str(r["key"]): r
        for r in sends_db.rows(store.db, journey=journey.name, statuses=(sends_db.INVALID,))
    }
    still = [i for i in p.items if i.reason and i.key in before]
    fresh = [i for i in [*p.items, *p.held] if not (i.reason and i.key in before)]
    touched = {int(before[i.key]["batch_id"]) for i in p.items if i.key in before}
    to_write = len(p.items) - p.counts.invalid
    p.items.clear()  # the ledger holds them now; keep memory flat while writing
    with store.transaction():
        for i in still:
            sends_db.set_status(
                store.db, [before[i.key]["send_id"]], sends_db.INVALID, stamp, reason=i.reason
            )
        if fresh:
            batch_id = sends_db.next_batch_id(store.db)
            folder = f"{batch_id:04d}-{p.as_of.isoformat()}"
            sends_db.add_batch(
                store.db, batch_id, journey.name, p.as_of.isoformat(), stamp, folder, None
            )
            added = sends_db.add_sends(store.db, batch_id, (new(i) for i in fresh), stamp)
            if added != len(fresh):  # pragma: no cover - the plan takes absent or invalid keys
                raise RuntimeError(f"the ledger took {added} of {len(fresh)} planned rows")
    for old in sorted(touched):  # their manifests list the rows as they are now
        b = sends_db.batch(store.db, old)
        if b is not None and b.complete:
            _manifest(store, MaildirOutbox(outbox_dir(ws, journey.name) / b.folder), old)
    if not fresh:
        return
    batch = sends_db.batch(store.db, batch_id)
    assert batch is not None
    result.batch_id = batch_id
    result.folder = outbox_dir(ws, journey.name) / folder
    outbox = MaildirOutbox(result.folder)
    written, late_invalid = _write_rows(
        store,
        outbox,
        composer,
        _ledger_rows(store, batch_id, (sends_db.PLANNED,)),
        to_write,
        stamp,
        progress,
    )
    result.written = written
    result.counts.invalid += late_invalid
    _manifest(store, outbox, batch_id)
    with store.transaction():
        sends_db.complete_batch(store.db, batch_id)


def _write_dry_run(
    ws: Workspace, journey: Journey, composer: Composer | None, p: Plan, progress: Progress
) -> tuple[Path, int]:
    """Write the plan's messages to ``outbox/dry-run/JOURNEY/``, replacing the last preview
    whole: the new one is written beside it and swapped in by renames, so the folder holds
    one preview or the other, never a mix (and an empty one when nothing is due)."""
    folder = ws.outbox / DRY_RUN / check_name(journey.name)
    # Journey names start with a letter or digit: these dot names cannot be a journey's.
    staging, retired = (
        folder.with_name(f".{journey.name}.new"),
        folder.with_name(f".{journey.name}.old"),
    )
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    written = _write_preview(staging, composer, p, progress)
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    if retired.exists():
        shutil.rmtree(retired)
    return folder, written


def _write_preview(folder: Path, composer: Composer | None, p: Plan, progress: Progress) -> int:
    outbox = MaildirOutbox(folder)
    written = 0
    total = len(p.items)
    lines: list[list[Any]] = []
    domain = message_domain(p.contexts.config) if p.contexts is not None else ""
    for i, item in enumerate(p.items, 1):
        if item.reason is None and composer is not None:
            try:
                data = composer.build(item).data
            except Rejected as e:  # pragma: no cover - the first pass built the same message
                item.reason = str(e)
            else:
                outbox.write(item.key, data)
                written += 1
        lines.append(
            [
                item.key,
                "" if item.reason else f"new/{item.key}",
                make_message_id(item.key, domain),
                item.step,
                item.variant or "",
                item.template,
                item.account_id,
                item.user_id,
                item.recipient or "",
                item.subject or "",
                "invalid" if item.reason else "to_send",
                item.reason or "",
            ]
        )
        if i % 256 == 0:
            progress("writing", i, total)
    for item in p.held:
        lines.append(
            [item.key, "", "", item.step, item.variant or "", "", item.account_id]
            + [item.user_id, "", "", "held_out", ""]
        )
    outbox.write_manifest(list(MANIFEST_COLUMNS), lines)
    return written


# -- delivery ------------------------------------------------------------------------------


def _deliver(
    ws: Workspace,
    store: Store,
    journey: Journey,
    *,
    env: Mapping[str, str] | None,
    now: datetime,
    progress: Progress,
    rows: list[dict[str, Any]] | None = None,
) -> Delivered:
    """Send the journey's written messages over SMTP, one recipient each, recording outcomes."""
    from cstool.mail import SmtpSender

    config = ws.resolved.config
    stamp = now.isoformat(timespec="seconds")
    result = Delivered()
    pending = (
        rows
        if rows is not None
        else sends_db.rows(store.db, journey=journey.name, statuses=sends_db.TO_DELIVER)
    )
    cap = config.sending.daily_cap
    if cap:
        room = max(0, cap - sends_db.sent_on(store.db, now.date().isoformat()))
        if len(pending) > room:
            result.left = len(pending) - room
            pending = pending[:room]
    if not pending:
        return result
    folders = {b.batch_id: b.folder for b in sends_db.batches(store.db, journey.name)}
    base = outbox_dir(ws, journey.name)
    outcome_status = {
        Delivery.DELIVERED: sends_db.SENT,
        Delivery.REJECTED: sends_db.FAILED,
        Delivery.DEFERRED: sends_db.DEFERRED,
        Delivery.UNKNOWN: sends_db.UNKNOWN,
    }
    with SmtpSender.from_config(config.sending, env) as smtp:
        for n, row in enumerate(pending, 1):
            path = _message_file(base / folders[row["batch_id"]], row["key"])
            if path is None or not row["sender"] or not row["recipient"]:
                result.missing += 1
                result.failures.append({**row, "why": "the message file is gone from the outbox"})
                continue
            data = path.read_bytes()
            with store.transaction():
                sends_db.set_status(store.db, [row["send_id"]], sends_db.SENDING, stamp)
            try:
                outcome = smtp.send(row["sender"], row["recipient"], data)
            except EnvironmentProblem:
                # The server could not be reached or dropped the connection before the whole
                # message was sent: it cannot have arrived, so it stays to deliver. (Any
                # other interruption leaves it `sending`, held as unknown by the next run.)
                with store.transaction():
                    sends_db.set_status(store.db, [row["send_id"]], row["status"], stamp)
                raise
            status = outcome_status[outcome.status]
            reply = f"{outcome.stage}: {outcome.text}" if outcome.text else outcome.stage
            with store.transaction():
                sends_db.record_outcome(
                    store.db, row["send_id"], status, outcome.code, reply, stamp
                )
            result.attempted += 1
            result.outcomes[status] += 1
            if status != sends_db.SENT:
                result.failures.append({**row, "status": status, "why": reply})
            progress("delivering", n, len(pending))
    return result


@dataclass
class Resolved:
    """What ``journey resolve`` did with a batch's unknown outcomes."""

    batch_id: int
    journey: str
    held: int
    skipped: int = 0
    delivered: Delivered | None = None


def resolve(
    ws: Workspace,
    batch_id: int,
    *,
    resend: bool,
    now: datetime,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Resolved:
    """Decide on a batch's messages whose SMTP outcome is unknown: resend them, or skip them."""
    progress = progress or _quiet
    stamp = now.isoformat(timespec="seconds")
    with ws.open_store(write=True) as store:
        batch = sends_db.batch(store.db, batch_id)
        if batch is None:
            raise NotFoundError(
                f"no batch {batch_id}", hint="`cstool journey stats NAME` lists a journey's batches"
            )
        definitions = journey_definitions(ws, store)
        journey = find(definitions, batch.journey).model
        _hold_interrupted(store, journey.name, stamp)
        held = sends_db.rows(store.db, batch_id=batch_id, statuses=(sends_db.UNKNOWN,))
        result = Resolved(batch_id, journey.name, len(held))
        if not held:
            return result
        ids = [r["send_id"] for r in held]
        if not resend:
            with store.transaction():
                sends_db.set_status(
                    store.db, ids, sends_db.SKIPPED, stamp, reason="skipped by journey resolve"
                )
            result.skipped = len(ids)
            return result
        with store.transaction():
            sends_db.set_status(store.db, ids, sends_db.WRITTEN, stamp)
        again = [{**r, "status": sends_db.WRITTEN} for r in held]
        result.delivered = _deliver(
            ws, store, journey, env=env, now=now, progress=progress, rows=again
        )
    if result.delivered.problems:
        raise PartialFailure(
            f"{result.delivered.problems:,} of the resent messages were not delivered",
            result=result,
            hint="see the reasons above",
        )
    return result
