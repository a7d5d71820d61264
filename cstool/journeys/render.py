"""What a journey email is made of: the template context of each recipient, and the message.

:class:`Contexts` holds the values of one date: the account variables of the book, the
recipient variables of the users, the adoption facts. It builds the documented template
context (``company``, ``account``, ``adoption``, ``csm``, ``user``, ``journey``, ``step``,
``unsubscribe_url``, ``survey_url``), sharing the parts of one account between its users.

:class:`Composer` renders a ledger entry's template with that context and builds the RFC 5322
message with :func:`cstool.mail.build_message`: From is the journey's address (or the
account's CSM, with Reply-To the CSM), To the user, Message-ID from the ledger key, Date the
batch's. Non-transactional mail carries ``List-Unsubscribe`` and one-click
``List-Unsubscribe-Post``. A value that makes the message unsafe (a line break in a header, an
invalid address, a CSM without an address) raises :class:`cstool.mail.Rejected` for that
recipient alone; a template error (a missing variable) is an InputError for the whole batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from cstool.mail import Mailbox, Rejected, build_message, list_unsubscribe, message_id

if TYPE_CHECKING:
    from cstool.config import Config, ResolvedConfig
    from cstool.context import Book
    from cstool.journeys.definitions import Journey
    from cstool.store import Store
    from cstool.templating import EmailTemplates


def unit(*parts: str) -> float:
    """A number in [0, 1) from a stable hash of ``parts``: the same on every run and machine."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def ledger_key(journey: str, step: str, user_id: str, cycle: int) -> str:
    """The ledger key of (journey, step, recipient, cycle): a file name and Message-ID part.

    Journey names and step ids are validated names; the user id, which is data, enters only
    as a hash, so no value from a file reaches a path.
    """
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:16]
    return f"{journey}.{step}.{digest}.{cycle}"


def unsubscribe_fields(url: str) -> tuple[str, ...]:
    """The {fields} an unsubscribe URL names (validated by the configuration)."""
    import string

    return tuple(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(url) if f))


def message_domain(config: Config) -> str:
    """The right-hand side of Message-IDs: ``journeys.message_id_domain``, else the sender's."""
    return config.journeys.message_id_domain or config.sender.email.rpartition("@")[2].lower()


class Entry(Protocol):
    """What a message is made from: a planned item or a ledger row."""

    @property
    def step(self) -> str: ...
    @property
    def variant(self) -> str | None: ...
    @property
    def template(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def key(self) -> str: ...


class Contexts:
    """The variables and template contexts of the accounts and users of one date."""

    def __init__(
        self,
        config: Config,
        book: Book,
        users: Mapping[str, dict[str, Any]],
        facts: Mapping[str, dict[str, Any]],
    ) -> None:
        from cstool.context import company_context

        self.config = config
        self.book = book
        self.as_of: date = book.as_of
        self.users = users
        self.facts = facts
        self.company = company_context(config)
        self._accounts: dict[str, dict[str, Any]] = {}
        self._unsubscribe = config.journeys.unsubscribe_url
        self._fields = unsubscribe_fields(self._unsubscribe)

    @classmethod
    def build(
        cls,
        store: Store,
        resolved: ResolvedConfig,
        as_of: date,
        account_ids: Collection[str] | None = None,
        *,
        book: Book | None = None,
    ) -> Contexts:
        """The values of ``as_of`` for ``account_ids`` (every active account when None)."""
        from cstool import context

        config = resolved.config
        book = book or context.book(store, resolved, as_of)
        wanted = set(account_ids) if account_ids is not None else None
        users = {u["user_id"]: u for u in context.users(store, config, as_of, wanted)}
        facts = context.adoption_facts(store, config, as_of, wanted)
        return cls(config, book, users, facts)

    def variables(self, account_id: str, user_id: str) -> dict[str, Any] | None:
        """The account's and the user's variables together (step rules see both)."""
        account = self.book.get(account_id)
        user = self.users.get(user_id)
        if account is None or user is None:
            return None
        return {**account, **user}

    def _account_parts(self, account_id: str) -> dict[str, Any]:
        # Entries come account by account: the last account's parts are all that is kept, so
        # memory does not grow with the batch.
        parts = self._accounts.get(account_id)
        if parts is None:
            self._accounts.clear()
            from cstool.context import account_context, adoption_context, csm_context

            variables = self.book.get(account_id) or {}
            parts = {
                "company": self.company,
                "account": account_context(variables, self.book.attributes.get(account_id, {})),
                "adoption": adoption_context(variables, self.facts.get(account_id), self.as_of),
                "csm": csm_context(self.config, variables.get("csm")),
            }
            self._accounts[account_id] = parts
        return parts

    def template_context(self, journey: Journey, entry: Entry) -> dict[str, Any]:
        """The documented template context of one recipient of one step."""
        from cstool.context import user_context

        user = self.users.get(entry.user_id)
        if user is None:
            raise Rejected("recipient", "the user is no longer in the users export")
        values = {
            "user_id": entry.user_id,
            "account_id": entry.account_id,
            "category": journey.category,
            "journey": journey.name,
            "key": entry.key,
        }
        url = self._unsubscribe.format(**{k: quote(values[k], safe="") for k in self._fields})
        return {
            **self._account_parts(entry.account_id),
            "user": user_context(user),
            "journey": {
                "name": journey.name,
                "description": " ".join(journey.description.split()),
                "category": journey.category,
            },
            "step": {"id": entry.step, "variant": entry.variant},
            "unsubscribe_url": url,
            "survey_url": self.config.journeys.survey_url,
        }

    def account_csm(self, account_id: str) -> str | None:
        """The name of the account's CSM, as exported."""
        account = self.book.get(account_id)
        return None if account is None else account.get("csm")


@dataclass(frozen=True, slots=True)
class Built:
    """One built message: its subject, the recipient's address, the envelope sender, bytes."""

    subject: str
    recipient: str
    mail_from: str
    data: bytes


class Composer:
    """Builds the messages of one journey from ledger entries and a date's contexts."""

    def __init__(
        self,
        journey: Journey,
        templates: EmailTemplates,
        contexts: Contexts,
        date: datetime,
    ) -> None:
        config = contexts.config
        self.journey = journey
        self.templates = templates
        self.contexts = contexts
        self.date = date
        self.domain = message_domain(config)
        self._fixed: tuple[Mailbox, Mailbox | None] | None = None
        if not journey.from_csm:
            reply = config.sender.reply_to
            self._fixed = (
                Mailbox(config.sender.name, journey.sender),
                Mailbox("", reply) if reply else None,
            )
        self._csm_boxes: dict[str | None, tuple[Mailbox, Mailbox | None]] = {}

    def sender_for(self, account_id: str) -> tuple[Mailbox, Mailbox | None]:
        """(From, Reply-To) of an account's messages; Rejected when the CSM has no address."""
        if self._fixed is not None:
            return self._fixed
        name = self.contexts.account_csm(account_id)
        boxes = self._csm_boxes.get(name)
        if boxes is None:
            listed = self.contexts.config.csm(name)
            if listed is None or not listed.email:
                who = repr(name) if name else "no CSM"
                raise Rejected(
                    "From",
                    f"the journey is sent as the account's CSM, and the account has {who}"
                    " without an email under csms: in cstool.yaml"
                    if name
                    else "the journey is sent as the account's CSM, and the account has none",
                )
            box = Mailbox(listed.name, listed.email)
            boxes = self._csm_boxes[name] = (box, box)
        return boxes

    def build(self, entry: Entry, *, bodies: bool = True) -> Built:
        """Render and build one message. Rejected: this recipient only; InputError: the batch.

        ``bodies=False`` renders everything but builds the headers alone (the bodies of the
        message are left empty): the check of a first pass, whose bytes are thrown away.
        """
        from cstool.templating import SubjectLineBreak

        sender, reply_to = self.sender_for(entry.account_id)
        context = self.contexts.template_context(self.journey, entry)
        user = context["user"]
        if not user["email"]:
            raise Rejected("address", "the user has no email address in the users export")
        name = " ".join(p for p in (user["first_name"], user["last_name"]) if p)
        to = Mailbox(name, user["email"])
        template = self.templates.get(entry.template)
        try:
            rendered = template.render(context, recipient=entry.user_id)
        except SubjectLineBreak:
            raise Rejected("Subject", "contains a line break after rendering") from None
        headers = [
            ("X-Cstool-Journey", self.journey.name),
            ("X-Cstool-Step", entry.step + (f" {entry.variant}" if entry.variant else "")),
        ]
        if not self.journey.transactional:
            headers += list_unsubscribe(
                context["unsubscribe_url"], mailto=self.contexts.config.journeys.unsubscribe_mailto
            )
        data = build_message(
            sender=sender,
            to=to,
            reply_to=reply_to,
            subject=rendered.subject,
            message_id=message_id(entry.key, self.domain),
            date=self.date,
            text=rendered.text if bodies else "",
            html=(rendered.html or "") if bodies else "",
            headers=headers,
        )
        return Built(rendered.subject, to.address, sender.address, data)
