"""The reference workflow's emails, rendered into the outbox for people to review and send.

Each request has its own Maildir, ``outbox/refs/REQ-0001/`` (``new/`` holds the messages):

* ``REQ-0001.alert.N``: the request alert (``ref-request-alert``) to the N-th recipient of
  ``refs.notify``: the CSM manager, customer marketing, and the CSMs who opted in;
* ``REQ-0001.ask-draft``: when the request is opened, the ask (``ref-ask``) for the best
  candidate ``refs find`` found, from its CSM to its best contact: what a CSM can send once
  the candidate is agreed;
* ``REQ-0001.ask``: the CSM's ask to the contact of the account chosen at ``refs contact``;
* ``REQ-0001.follow-up.YYYY-Www``: the weekly reminder (``ref-follow-up``) to the account
  executive, one per ISO week, so running the follow-up twice in a week rewrites the same one.
  Its ``request`` also has ``step`` and ``step_name`` (where the request stands) and
  ``waiting_for`` (what the reminder waits for, "the reference call to take place").

File names come from the request id, which cstool makes, never from data. A message is
byte-identical when rendered again from the same inputs: its Message-ID comes from its key, and
its Date from what is stored, never the clock: the time its step was recorded (the alert and
the ask draft: the request; the ask: the contact), and for a follow-up the ``--as-of`` day at
midnight, in the time zone the request was recorded in. A message that would be written with
the bytes already in the outbox is left alone and reported unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.mail import Mailbox, MaildirOutbox, build_message, check_key, message_id

if TYPE_CHECKING:
    from cstool.config import Config
    from cstool.templating import EmailTemplates

OUTBOX = "refs"
ALERT = "ref-request-alert"
ASK = "ref-ask"
FOLLOW_UP = "ref-follow-up"


@dataclass(frozen=True)
class Built:
    """One message, built and not yet written."""

    key: str
    to: str  # the address
    subject: str
    data: bytes


@dataclass(frozen=True)
class Written:
    """One message written to the outbox."""

    key: str
    to: str
    subject: str
    path: Path
    unchanged: bool = False  # the outbox already held these bytes: nothing was written


def folder(outbox: Path, request_id: str) -> Path:
    """``outbox/refs/REQ-0001``: the request's Maildir."""
    return outbox / OUTBOX / request_id


def prospect_of(opportunity: Mapping[str, Any]) -> str | None:
    """The prospect's name: the opportunity's ``prospect`` column when the export has one,
    else its name up to " – " (``Alder Health – Enterprise Rollout``), else its name."""
    attributes = opportunity.get("attributes") or {}
    if attributes.get("prospect"):
        return str(attributes["prospect"])
    name = str(opportunity.get("name") or "").strip()
    for dash in (" – ", " — ", " - "):
        if dash in name:
            return name.split(dash, 1)[0].strip() or None
    return name or None


def request_context(
    request: Mapping[str, Any], opportunity: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``request``: the documented context of the reference emails."""
    opp = opportunity or {}
    return {
        "request_id": request["request_id"],
        "opportunity": request["opportunity_id"],
        "prospect": prospect_of(opp) if opp else None,
        "prospect_industry": request.get("industry") or opp.get("prospect_industry"),
        "level": request["level"],
        "count": int(request["count"]),
        "topics": request.get("topics"),
        "needed_by": request["needed_by"],
        "ae": request.get("ae"),
        "characteristics": request.get("characteristics"),
    }


def week_of(day: date) -> str:
    """The ISO week of ``day`` as ``2026-W49``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def stamp_date(at: str) -> datetime:
    """The Date of a message for the step recorded at ``at`` (its stored ISO timestamp)."""
    return datetime.fromisoformat(at)


def day_date(day: date, recorded_at: str) -> datetime:
    """The Date of a message for ``day`` (a follow-up's ``--as-of``): midnight that day, in the
    time zone of ``recorded_at``, the request's stored timestamp."""
    return datetime.combine(day, time(), tzinfo=datetime.fromisoformat(recorded_at).tzinfo)


class Composer:
    """Renders and builds the reference emails of one workspace, dated ``date`` (a stored
    step time, or a follow-up's day: see :func:`stamp_date` and :func:`day_date`)."""

    def __init__(self, templates: EmailTemplates, config: Config, date: datetime) -> None:
        self.templates = templates
        self.config = config
        self.date = date
        self.domain = config.sender.email.rpartition("@")[2].lower() or "localhost"

    def company(self) -> dict[str, Any]:
        from cstool.context import company_context

        return company_context(self.config)

    def _build(
        self,
        key: str,
        template: str,
        context: Mapping[str, Any],
        sender: Mailbox,
        to: Mailbox,
        recipient: str,
    ) -> Built:
        rendered = self.templates.get(template).render(context, recipient=recipient)
        data = build_message(
            sender=sender,
            to=to,
            subject=rendered.subject,
            message_id=message_id(key, self.domain),
            date=self.date,
            text=rendered.text,
            html=rendered.html or "",
            headers=[("X-Cstool-Reference", key.split(".", 1)[0])],
        )
        return Built(key, to.address, rendered.subject, data)

    def _team(self) -> Mailbox:
        s = self.config.sender
        return Mailbox(s.name, s.email)

    def alert_recipients(self) -> list[Mailbox]:
        """``refs.notify``'s people, each once (by address), in the order they are listed.

        An opted-in CSM needs an email under ``csms:`` (the configuration is checked for it).
        """
        n = self.config.refs.notify
        people: list[tuple[str, str]] = []
        if n.csm_manager is not None:
            people.append((n.csm_manager.name, n.csm_manager.email))
        people += [(p.name, p.email) for p in n.customer_marketing]
        for name in n.csms:
            listed = self.config.csm(name)
            if listed is not None and listed.email:
                people.append((listed.name, listed.email))
        seen: set[str] = set()
        out = []
        for name, email in people:
            box = Mailbox(name, email)
            if box.address.lower() not in seen:
                seen.add(box.address.lower())
                out.append(box)
        return out

    def alerts(self, request: Mapping[str, Any]) -> list[Built]:
        """The request alert to every recipient of ``refs.notify``."""
        context = {"company": self.company(), "request": request}
        return [
            self._build(
                f"{request['request_id']}.alert.{i}", ALERT, context, self._team(), to, to.address
            )
            for i, to in enumerate(self.alert_recipients(), start=1)
        ]

    def ask(
        self,
        key: str,
        request: Mapping[str, Any],
        account: Mapping[str, Any],
        adoption: Mapping[str, Any],
        csm: Mapping[str, Any],
        user: Mapping[str, Any],
    ) -> Built:
        """The CSM's ask to a contact: from the CSM when listed with an email under
        ``csms:``, else from the sender of ``cstool.yaml`` in the CSM's name."""
        from cstool.mail import Rejected

        if not user.get("email"):
            raise Rejected("address", f"{user['user_id']} has no email in the users export")
        context = {
            "company": self.company(),
            "account": account,
            "adoption": adoption,
            "csm": csm,
            "user": user,
            "request": request,
        }
        name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
        sender = (
            Mailbox(csm["name"], csm["email"])
            if csm.get("email")
            else Mailbox(csm.get("name") or self.config.sender.name, self.config.sender.email)
        )
        return self._build(
            key, ASK, context, sender, Mailbox(name, user["email"]), str(user["user_id"])
        )

    def follow_up(self, request: Mapping[str, Any], to: Mailbox, day: date) -> Built:
        """The weekly reminder to the account executive of the week of ``day``."""
        context = {"company": self.company(), "request": request}
        key = f"{request['request_id']}.follow-up.{week_of(day)}"
        return self._build(key, FOLLOW_UP, context, self._team(), to, to.address)


def write(outbox: Path, request_id: str, messages: Iterable[Built]) -> list[Written]:
    """Write ``messages`` into the request's Maildir (each replaces an older copy); a message
    whose bytes ``new/`` already holds is not written again, and comes back ``unchanged``."""
    messages = list(messages)
    if not messages:
        return []
    box = MaildirOutbox(folder(outbox, request_id))
    out = []
    for m in messages:
        path = box.path / "new" / check_key(m.key)
        try:
            same = path.read_bytes() == m.data
        except OSError:  # missing, or unreadable: writing says why if it cannot
            same = False
        if same:
            out.append(Written(m.key, m.to, m.subject, path, unchanged=True))
        else:
            out.append(Written(m.key, m.to, m.subject, box.write(m.key, m.data)))
    return out
