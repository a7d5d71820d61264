"""Email messages, the Maildir outbox, and SMTP delivery.

Three pieces the journeys engine calls once it has planned and rendered a batch:

* :func:`build_message` turns one recipient's rendered subject, HTML and text into the bytes of
  an RFC 5322 message (``multipart/alternative``, text first). It is deterministic: the
  Message-ID and Date come from the caller (the send ledger), and the MIME boundary is derived
  from the Message-ID, so a re-render is byte-identical. Data that cannot be sent safely (a
  line break or other control character in a header, an invalid address) raises
  :class:`Rejected`, which names the field and the reason, so the caller records that one
  recipient and carries on with the batch.
* :class:`MaildirOutbox` writes messages into a Maildir (``tmp/``, ``new/``, ``cur/``): to
  ``tmp/KEY``, then renamed into ``new/KEY``. ``KEY`` is the ledger's key, never data.
* :class:`SmtpSender` delivers one message per recipient over SMTP and returns a
  :class:`SendOutcome` per message: delivered, rejected, deferred or unknown.

Every message is 7-bit ASCII, so it needs nothing of the server (no SMTPUTF8 or 8BITMIME):
non-ASCII display names and subjects become RFC 2047 encoded words, international domain names
their IDNA (``xn--``) form, and the bodies quoted-printable or base64 with CRLF line ends.
Addresses with non-ASCII characters before the ``@`` are rejected: they would need SMTPUTF8 all
along the way, which many servers and mailbox providers still do not offer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from cstool.errors import EnvironmentProblem, InputError

if TYPE_CHECKING:
    import smtplib
    import ssl

    from cstool.config import SendingConfig

PASSWORD_ENV: Final = "CSTOOL_SMTP_PASSWORD"
"""The only place the SMTP password is read from."""

# RFC 5322: lines SHOULD be at most 78 characters and MUST be at most 998.
_FOLD: Final = 78
_HARD_LIMIT: Final = 998

# Control characters (C0, DEL, C1), line and paragraph separators, and lone surrogates: none
# of them has a place in a header, and CR or LF would let data inject headers.
_BAD_HEADER_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Printable ASCII not starting with a space (a parser drops leading spaces).
_PLAIN_TEXT = re.compile(r"[!-~][ -~]*")
# A display name that needs no quotes: atoms separated by single spaces.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PRINTABLE = re.compile(r"[ -~]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+>")
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_URL = re.compile(r"[!-+\--;=?-~]+")  # printable ASCII but space , < >
# An unsubscribe URL fits one header line of 998 characters with room to spare.
_MAX_URL: Final = 900

# Headers build_message writes itself; extra headers may not repeat or override them.
_OWN_HEADERS: Final = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "return-path",
    }
)

# The longest encoded-word payload that keeps "Reply-To: =?utf-8?b?...?=" within 78 characters:
# 42 bytes make 56 base64 characters, 68 with the "=?utf-8?b?" and "?=" around them.
_EW_BYTES: Final = 42
# A display name's encoded word must fit a line of 998 characters.
_MAX_NAME_BYTES: Final = 600


class Rejected(InputError):
    """One recipient's message cannot be built safely; the batch can go on without it.

    ``field`` names what was wrong (``address``, ``display name``, ``Subject``, another
    header's name, ``text body`` or ``html body``) and ``reason`` why, in words fit for a ledger
    row or a report. The reason never repeats the whole value: it may be personal data or an
    injection attempt.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"{field}: {reason}",
            hint="fix the recipient's data or the template; the rest of the batch is unaffected",
        )
        self.field = field
        self.reason = reason


def _check_header_text(label: str, value: str) -> None:
    bad = _BAD_HEADER_CHAR.search(value)
    if bad is not None:
        ch = bad.group()
        kind = "control character" if ch < "\xa0" else "character"
        what = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)"}.get(
            ch, f"the {kind} U+{ord(ch):04X}"
        )
        raise Rejected(label, f"contains {what}, which is not allowed in a header")


# -- addresses ----------------------------------------------------------------------------
def _validate_email(address: str) -> tuple[str, str]:
    """email-validator's ASCII and Unicode domain of ``address``; ValueError with the reason."""
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise ValueError(str(e)) from None
    if valid.ascii_email is None:  # pragma: no cover - allow_smtputf8=False guarantees it
        raise ValueError("the address cannot be written in ASCII")
    return valid.ascii_email, valid.domain


@lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, int]:
    """A valid domain's ASCII form and the longest of its forms in UTF-8 bytes."""
    ascii_email, unicode_domain = _validate_email("a@" + domain)
    ascii_domain = ascii_email[2:]
    return ascii_domain, max(len(domain.encode()), len(unicode_domain.encode()), len(ascii_domain))


# What email-validator accepts before the @ without quotes (RFC 5322 dot-atom), in ASCII.
_LOCAL_PART = re.compile(r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+(?:\.[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+)*")


@lru_cache(maxsize=8192)
def _ascii_address(address: str) -> str:
    """The address validated by email-validator, in ASCII (IDNA domain); ValueError if not.

    email-validator spends about 40 µs on an address, nearly all of it on the domain, which
    most recipients of a batch share. So a plain ASCII local part is checked here with
    email-validator's own rule, and the domain is validated by email-validator once and
    cached; anything else (a quoted or international local part, a role name it lowercases,
    an address near the length limit, any error) is left to email-validator whole. A
    property test holds the two paths to the same results.
    """
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    local, _, domain = address.rpartition("@")
    if _LOCAL_PART.fullmatch(local) and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
        try:
            ascii_domain, longest = _domain(domain)
        except ValueError:
            pass  # email-validator names the problem below
        else:
            if len(local) <= 64 and len(local) + 1 + longest <= 254:
                return f"{local}@{ascii_domain}"
    return _validate_email(address)[0]


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 'B' encoded words for ``text``, each whole characters and at most 68 long."""
    data = text.encode("utf-8")
    words = []
    start, end = 0, len(data)
    while start < end:
        stop = min(start + _EW_BYTES, end)
        # Never split a character: back off continuation bytes (10xxxxxx).
        while stop < end and data[stop] & 0xC0 == 0x80:
            stop -= 1
        chunk = binascii.b2a_base64(data[start:stop], newline=False).decode()
        words.append(f"=?utf-8?b?{chunk}?=")
        start = stop
    return words


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + binascii.b2a_base64(text.encode(), newline=False).decode() + "?="


def _phrase(name: str) -> list[str]:
    """The tokens of a display name (normalised: single spaces, none at the ends).

    Atoms go as they are and other printable ASCII is quoted; both may fold at spaces. A name
    with other characters keeps its atoms plain and writes each run of the other words as ONE
    encoded word, even beyond RFC 2047's 75 characters: Python's parser (3.11 to 3.13) keeps
    the space between two encoded words of a display name where RFC 2047 readers drop it, so
    no split pleases both. Mail clients read long encoded words.
    """
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise Rejected("display name", f"is longer than {_MAX_NAME_BYTES} bytes in UTF-8")
    if "=?" not in name:
        if _ATOMS.fullmatch(name):
            return name.split(" ")
        if _PRINTABLE.fullmatch(name):
            return ('"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"').split(" ")
    tokens: list[str] = []
    run: list[str] = []
    for word in name.split(" "):
        if _ATOMS.fullmatch(word) and "=?" not in word:
            if run:
                tokens.append(_encoded_word(" ".join(run)))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens.append(_encoded_word(" ".join(run)))
    return tokens


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A display name and a validated address, ready for From, To or Reply-To.

    Creating one validates it (raising :class:`Rejected`): the address with email-validator
    (no DNS look-ups), and the name for control characters. Both are normalised: ``name``
    with runs of whitespace made one space and none at either end, ``address`` to ASCII with
    the domain lowercased and, if international, in IDNA (``xn--``) form.
    """

    name: str
    address: str
    tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_header_text("display name", self.name)
        # Readers collapse runs of whitespace in an encoded display name: keep names in that
        # form from the start, so that what is recorded is what a reader sees.
        object.__setattr__(self, "name", " ".join(self.name.split()))
        try:
            address = _ascii_address(self.address)
        except ValueError as e:
            raise Rejected("address", str(e)) from None
        object.__setattr__(self, "address", address)
        phrase = _phrase(self.name) if self.name else []
        object.__setattr__(self, "tokens", (*phrase, f"<{address}>") if phrase else (address,))


def _fold(prefix: str, tokens: Sequence[str]) -> str:
    """``prefix`` and the tokens joined by spaces, folded before a token to fit 78 columns.

    A fold is CRLF before the space between two tokens, so unfolding restores the value
    exactly. A token is never split, and the first stays on the header's line.
    """
    line = prefix + " ".join(tokens)
    if len(line) <= _FOLD:
        return line + "\r\n"
    lines = [prefix + tokens[0]]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) <= _FOLD:
            lines[-1] += " " + token
        else:
            lines.append(" " + token)
    return "\r\n".join(lines) + "\r\n"


def _address_header(name: str, mailbox: Mailbox) -> str:
    return _fold(name + ": ", mailbox.tokens)


# A run of spaces then a run of other characters; a trailing run of spaces joins the last.
_WORDS = re.compile(r" *[^ ]+ *\Z| *[^ ]+")


def _unstructured(name: str, value: str, label: str) -> str:
    """An unstructured header (Subject, X-...): as it is when plain ASCII, else encoded words."""
    _check_header_text(label, value)
    prefix = name + ": "
    if not value:
        return prefix + "\r\n"
    # "=?" could be read back as the start of an encoded word, and a leading space is dropped
    # by parsers: both go through encoded words, which keep any text exactly.
    if _PLAIN_TEXT.fullmatch(value) and "=?" not in value:
        if len(prefix) + len(value) <= _FOLD:
            return prefix + value + "\r\n"
        # Fold before the spaces that precede a word: unfolding removes only the CRLF.
        words = _WORDS.findall(value)
        lines = [prefix + words[0]]
        for word in words[1:]:
            if len(lines[-1]) + len(word) <= _FOLD:
                lines[-1] += word
            else:
                lines.append(word)
        if max(map(len, lines)) <= _HARD_LIMIT:
            return "\r\n".join(lines) + "\r\n"
    return _fold(prefix, _encoded_words(value))


# -- bodies -------------------------------------------------------------------------------
_NON_ASCII = bytes(range(128, 256))


def _body(text: str, label: str) -> tuple[str, bytes]:
    """A body's Content-Transfer-Encoding and its encoded bytes, lines ending in CRLF.

    Line breaks (CRLF, CR or LF) become CRLF, the canonical form of text in MIME. Mostly
    ASCII text goes quoted-printable (readable, and small), the rest base64.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(label, "contains a lone surrogate, which is not valid Unicode") from None
    data = data.replace(b"\n", b"\r\n")
    non_ascii = 0 if text.isascii() else len(data) - len(data.translate(None, _NON_ASCII))
    # Quoted-printable spends 3 bytes per non-ASCII byte, base64 4 per 3 of every byte.
    if non_ascii * 6 <= len(data):
        encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        if b"\r\n" not in data:
            # b2a_qp ends its soft line breaks the way the data ends its first line: LF when
            # the data has no line break at all.
            encoded = encoded.replace(b"\n", b"\r\n")
        return "quoted-printable", encoded
    return "base64", base64.encodebytes(data).rstrip(b"\n").replace(b"\n", b"\r\n")


def _date_header(date: datetime) -> str:
    # Equal instants in other offsets are equal datetimes: the offset is part of the key.
    return _format_date(date, date.utcoffset())


@lru_cache(maxsize=64)
def _format_date(date: datetime, offset: timedelta | None) -> str:
    # A batch shares a handful of dates; formatting one costs as much as a header.
    return format_datetime(date)


def message_id(key: str, domain: str) -> str:
    """A Message-ID for a ledger key: ``<KEY@DOMAIN>``."""
    mid = f"<{key}@{domain}>"
    if not _MESSAGE_ID.fullmatch(mid):
        raise ValueError(f"cannot make a Message-ID from key {key!r} and domain {domain!r}")
    return mid


def list_unsubscribe(url: str, *, mailto: str | None = None) -> list[tuple[str, str]]:
    """The ``List-Unsubscribe`` and one-click ``List-Unsubscribe-Post`` headers (RFC 8058).

    ``url`` must be an https URL, and ``mailto`` (optional, e.g.
    ``mailto:unsubscribe@example.com?subject=unsubscribe``) a mailto URL, both in printable
    ASCII with spaces, commas and angle brackets percent-encoded; otherwise :class:`Rejected`.
    """
    uris = [("https://", url)] + ([("mailto:", mailto)] if mailto is not None else [])
    for scheme, uri in uris:
        _check_header_text("List-Unsubscribe", uri)
        if not (_URL.fullmatch(uri) and uri.startswith(scheme) and len(uri) <= _MAX_URL):
            raise Rejected(
                "List-Unsubscribe",
                f"must be a {scheme.rstrip(':/')} URL of printable ASCII, at most {_MAX_URL} "
                "long, with spaces, commas and angle brackets percent-encoded",
            )
    return [
        ("List-Unsubscribe", ", ".join(f"<{uri}>" for _, uri in uris)),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]


def build_message(
    *,
    sender: Mailbox,
    to: Mailbox,
    subject: str,
    message_id: str,
    date: datetime,
    text: str,
    html: str | None,
    reply_to: Mailbox | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """One RFC 5322 message: a ``multipart/alternative`` of ``text`` then ``html``.

    Without ``html`` (None), the message is ``text/plain`` alone, and its text ends with a
    line break (one is added if missing). Bodies read back with their line breaks as CRLF,
    MIME's canonical form.

    ``message_id`` (``<left@right>``, see :func:`message_id`) and ``date`` (timezone-aware;
    written to the second) come from the send ledger, and the MIME boundary is derived from
    the Message-ID, so the same arguments always give the same bytes. ``headers`` are extra
    unstructured headers, such as :func:`list_unsubscribe`'s or ``X-Cstool-Journey``;
    non-ASCII values become encoded words.

    Raises :class:`Rejected` when data makes the message unsafe (a control character in the
    subject or a header value, a lone surrogate in a body), and ValueError for a caller's
    mistake (a malformed Message-ID, a naive date, a bad or duplicated header name).
    """
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"malformed Message-ID {message_id!r}: expected <left@right>")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date of a message must be timezone-aware")
    out = [_address_header("From", sender), _address_header("To", to)]
    if reply_to is not None:
        out.append(_address_header("Reply-To", reply_to))
    out.append(_unstructured("Subject", subject, "Subject"))
    out.append(f"Date: {_date_header(date)}\r\nMessage-ID: {message_id}\r\n")
    seen: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if not _HEADER_NAME.fullmatch(name) or lower in _OWN_HEADERS or lower in seen:
            raise ValueError(f"header {name!r} cannot be added to a message")
        seen.add(lower)
        out.append(_unstructured(name, value, name))
    if html is None:
        # The message ends with its body, and a message ends with a line break.
        if not text.endswith(("\n", "\r")):
            text += "\n"
        text_cte, text_body = _body(text, "text body")
        out.append(
            f'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {text_cte}\r\n\r\n"
        )
        # Quoted-printable ends with the text's line break; base64 needs one after it.
        end = b"" if text_body.endswith(b"\r\n") else b"\r\n"
        return "".join(out).encode("ascii") + text_body + end
    text_cte, text_body = _body(text, "text body")
    html_cte, html_body = _body(html, "html body")
    # "=_" never occurs in quoted-printable (where "=" is "=3D") or base64 output, so the
    # boundary cannot collide with a body line whatever the body says.
    boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    out.append(
        f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\n"
        f'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {text_cte}\r\n\r\n"
    )
    head = "".join(out).encode("ascii")
    middle = (
        f"\r\n--{boundary}\r\n"
        f'Content-Type: text/html; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {html_cte}\r\n\r\n"
    ).encode("ascii")
    return b"".join((head, text_body, middle, html_body, f"\r\n--{boundary}--\r\n".encode()))


# -- the Maildir outbox -------------------------------------------------------------------
def check_key(key: str) -> str:
    """``key`` if it can name a message file: ``[A-Za-z0-9._-]``, 1-200 long, no leading dot.

    Keys come from the send ledger, never from data; anything else is a bug (ValueError).
    """
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} cannot name a message: use 1-200 of A-Z a-z 0-9 . _ -")
    return key


class MaildirOutbox:
    """A Maildir (``tmp/``, ``new/``, ``cur/``) that a batch of messages is written into.

    A message is written to ``tmp/KEY`` and renamed into ``new/KEY``, so a reader (Python's
    ``mailbox.Maildir``, mutt) never sees half a message. Writing can be split in two, so a
    whole batch can be staged in ``tmp/`` before any of it is published: :meth:`stage` then
    :meth:`publish`, or :meth:`discard` to drop a staged message.

    Crash semantics: without ``fsync`` (the default), a killed process loses nothing that was
    published (the kernel holds the data), but a power loss may leave a published file empty or
    missing. The send ledger is the source of truth, and a message re-renders byte-identical,
    so a re-run rewrites whatever :meth:`published` lacks. ``fsync=True`` syncs every file
    before its rename; it costs about 4.5 ms a message on this kind of machine (220/s), which
    is why it is off; :meth:`sync` makes the renames so far durable with two directory syncs.
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        # Plain strings, not Paths: a batch joins hundreds of thousands of them.
        self._tmp = os.path.join(path, "tmp", "")
        self._new = os.path.join(path, "new", "")
        try:
            for sub in ("tmp", "new", "cur"):
                (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise _write_problem(path, e) from None

    def stage(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``tmp/KEY`` (replacing a leftover of an earlier run)."""
        path = self._tmp + check_key(key)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise _write_problem(Path(path), e) from None

    def publish(self, key: str) -> None:
        """Move a staged ``tmp/KEY`` into ``new/KEY`` (atomic; replaces an older copy)."""
        target = self._new + check_key(key)
        try:
            os.rename(self._tmp + key, target)
        except OSError as e:
            raise _write_problem(Path(target), e) from None

    def write(self, key: str, data: bytes) -> Path:
        """Stage and publish one message; return its path in ``new/``."""
        self.stage(key, data)
        self.publish(key)
        return self.path / "new" / key

    def discard(self, key: str) -> None:
        """Remove a staged ``tmp/KEY`` if it is there."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp + check_key(key))

    def published(self) -> set[str]:
        """The keys of the messages in ``new/``, and in ``cur/`` once a reader has seen them."""
        keys = set(os.listdir(self.path / "new"))
        # A reader moves a seen message to cur/KEY:2,FLAGS.
        keys.update(name.partition(":")[0] for name in os.listdir(self.path / "cur"))
        return keys

    def staged(self) -> set[str]:
        """The keys of the messages in ``tmp/`` (written, not yet published)."""
        return set(os.listdir(self.path / "tmp"))

    def sync(self) -> None:
        """Make the renames so far durable: fsync ``tmp/`` and ``new/``."""
        for directory in (self.path / "tmp", self.path / "new"):
            try:
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as e:
                raise _write_problem(directory, e) from None

    def write_manifest(self, header: list[str], rows: Iterable[Iterable[Any]]) -> Path:
        """Write the batch's ``manifest.csv`` beside ``new/`` atomically (temp file + rename)."""
        from cstool.csvfile import write_csv_atomic

        path = self.path / "manifest.csv"
        try:
            write_csv_atomic(path, header, rows)
        except OSError as e:
            raise _write_problem(path, e) from None
        return path


def _write_problem(path: Path, e: OSError) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"cannot write {path}: {e.strerror or e}",
        hint="check the free space and the permissions of the outbox folder; "
        "a re-run completes the batch",
    )


# -- SMTP delivery ------------------------------------------------------------------------
class Delivery(StrEnum):
    """What became of one message handed to an SMTP server."""

    DELIVERED = "delivered"  # the server took responsibility for it (2xx after the data)
    REJECTED = "rejected"  # a permanent refusal (5xx): do not retry
    DEFERRED = "deferred"  # a temporary refusal (4xx), or an odd reply before the data: retry
    UNKNOWN = "unknown"  # no clear answer after the data was sent: it may have arrived


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """The outcome of one message: status, the server's reply code and text, and the stage."""

    status: Delivery
    code: int | None
    text: str
    stage: str  # "MAIL FROM", "RCPT TO", "DATA" or "end of data"


class _Dropped(Exception):
    """The connection failed before the whole message was sent: it cannot have arrived."""


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpSender:
    """An SMTP connection that sends one message per recipient and reports each outcome.

    Use it as a context manager: entering connects (EHLO, STARTTLS and login as configured)
    and raises :class:`EnvironmentProblem` when that fails, before anything is sent. Then
    :meth:`send` returns a :class:`SendOutcome` per message. A connection that drops is
    reopened for the next message; a message whose connection dropped before its data was
    complete is sent again on the new connection (it cannot have arrived), but one whose
    connection dropped after the data was sent comes back ``unknown`` and is never resent
    here: the caller holds it for a decision.

    The password is only held in memory: it is not in ``repr``, messages or errors. It is never
    sent over an unencrypted connection to a server other than this machine.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.starttls = starttls
        self.timeout = timeout
        self._password = password
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        if user is not None and password is None:
            raise EnvironmentProblem(
                f"sending.smtp_user is set but {PASSWORD_ENV} is not",
                hint=f"set {PASSWORD_ENV} in the environment that runs cstool",
            )
        if user is not None and not starttls and not _is_loopback(host):
            raise EnvironmentProblem(
                f"refusing to send the SMTP password unencrypted to {self.where}",
                hint="set sending.starttls: true in cstool.yaml",
            )

    @classmethod
    def from_config(
        cls, sending: SendingConfig, env: Mapping[str, str] | None = None, **options: Any
    ) -> SmtpSender:
        """A sender for ``cstool.yaml``'s ``sending:``; the password from CSTOOL_SMTP_PASSWORD."""
        env = os.environ if env is None else env
        return cls(
            sending.smtp_host,
            sending.smtp_port,
            user=sending.smtp_user,
            password=env.get(PASSWORD_ENV) if sending.smtp_user is not None else None,
            starttls=sending.starttls,
            **options,
        )

    @property
    def where(self) -> str:
        """``host:port`` of the server."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SmtpSender({self.where}, user={self.user!r}, starttls={self.starttls})"

    def __enter__(self) -> Self:
        self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and close the connection (quietly if it is already gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:
                smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        import smtplib
        import ssl

        try:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
            )
        except (OSError, smtplib.SMTPException) as e:
            raise EnvironmentProblem(
                f"cannot connect to the SMTP server {self.where}: {e}",
                hint="check sending.smtp_host and sending.smtp_port in cstool.yaml, "
                "and that the server is running and reachable",
            ) from None
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise EnvironmentProblem(
                        f"the SMTP server {self.where} does not offer STARTTLS",
                        hint="use a server that offers it, or set sending.starttls: false "
                        "for a server on this machine",
                    )
                smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                smtp.ehlo()
            if self.user is not None and self._password is not None:
                smtp.login(self.user, self._password)
        except smtplib.SMTPAuthenticationError as e:
            smtp.close()
            raise EnvironmentProblem(
                f"the SMTP server {self.where} refused the login of {self.user!r}: "
                f"{e.smtp_code} {_reply_text(e.smtp_error)}",
                hint=f"check sending.smtp_user in cstool.yaml and {PASSWORD_ENV}",
            ) from None
        except EnvironmentProblem:
            smtp.close()
            raise
        except (OSError, smtplib.SMTPException) as e:
            smtp.close()
            raise EnvironmentProblem(
                f"the SMTP server {self.where} failed the session set-up: {e}",
                hint="check sending.starttls and sending.smtp_user in cstool.yaml",
            ) from None
        self._smtp = smtp
        return smtp

    def send(self, mail_from: str, rcpt_to: str, message: bytes) -> SendOutcome:
        """Send ``message`` from envelope sender ``mail_from`` to the one ``rcpt_to``.

        Addresses are :attr:`Mailbox.address` values; ``message`` is :func:`build_message`'s
        bytes. Raises :class:`EnvironmentProblem` only when the server cannot be reached or
        drops the connection twice before the message was complete: the message has then
        certainly not been delivered.
        """
        try:
            return self._transaction(self._smtp or self._connect(), mail_from, rcpt_to, message)
        except _Dropped:
            self._drop()
        try:
            return self._transaction(self._connect(), mail_from, rcpt_to, message)
        except _Dropped as e:
            self._drop()
            raise EnvironmentProblem(
                f"the SMTP server {self.where} keeps closing the connection "
                f"before a message is sent: {e}",
                hint="check the server's logs; the outcomes so far are recorded, "
                "and a re-run sends the rest",
            ) from None

    def _transaction(
        self, smtp: smtplib.SMTP, mail_from: str, rcpt_to: str, message: bytes
    ) -> SendOutcome:
        import smtplib

        try:
            steps: tuple[tuple[str, Callable[[str], tuple[int, bytes]], str, int], ...] = (
                ("MAIL FROM", smtp.mail, mail_from, 2),
                ("RCPT TO", smtp.rcpt, rcpt_to, 2),
                ("DATA", smtp.docmd, "DATA", 3),
            )
            for stage, command, argument, expected in steps:
                code, reply = command(argument)
                if code == 421:
                    # The server is closing the connection: a new one may well take it.
                    raise _Dropped(f"{stage}: {code} {_reply_text(reply)}")
                if code // 100 != expected:
                    return self._refused(smtp, stage, code, reply)
            data = re.sub(rb"(?m)^\.", b"..", message)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            smtp.send(data + b".\r\n")
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            # Without the final ".", the server cannot have accepted the message.
            raise _Dropped(str(e) or type(e).__name__) from None
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self._drop()
            return SendOutcome(
                Delivery.UNKNOWN,
                None,
                f"connection lost after the data was sent: {e}",
                "end of data",
            )
        if code == 421:
            self._drop()
        status = {2: Delivery.DELIVERED, 4: Delivery.DEFERRED, 5: Delivery.REJECTED}.get(
            code // 100, Delivery.UNKNOWN
        )
        return SendOutcome(status, code, _reply_text(reply), "end of data")

    def _refused(self, smtp: smtplib.SMTP, stage: str, code: int, reply: bytes) -> SendOutcome:
        """A refusal before the data: end the transaction, so the next message starts clean."""
        try:
            smtp.rset()
        except Exception:
            self._drop()
        status = Delivery.REJECTED if code // 100 == 5 else Delivery.DEFERRED
        return SendOutcome(status, code, _reply_text(reply), stage)
