"""Building messages: round trips through the email package, header safety, determinism."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cstool.errors import InputError
from cstool.mail import Mailbox, Rejected, build_message, list_unsubscribe, message_id

DATE = datetime(2024, 5, 6, 9, 30, 15, tzinfo=timezone(timedelta(hours=2)))
SENDER = Mailbox("Customer Success", "success@example.com")
TO = Mailbox("Ann O'Neil", "ann@example.com")
HTML = "<p>Hello Ann,</p>\n<p>Your update.</p>\n"
TEXT = "Hello Ann,\n\nYour update.\n"


def parse(data: bytes) -> EmailMessage:
    """Parse a message the way any reader of the outbox would."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def crlf(text: str) -> str:
    """Text with its line breaks in MIME's canonical form, as a body reads back."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def build(**overrides: Any) -> bytes:
    """A message with sensible defaults, any argument overridden."""
    args: dict[str, Any] = {
        "sender": SENDER,
        "to": TO,
        "subject": "Your update",
        "message_id": "<b1.k1@cstool.example>",
        "date": DATE,
        "text": TEXT,
        "html": HTML,
    }
    return build_message(**(args | overrides))


# Any character a header may hold, with the ones that need quoting or encoding made common.
HEADER_CHAR = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    st.sampled_from(list(" \"\\()<>,;:@.[]'=?_\u00a0é東🚀") + ["=?", "?=", "=?utf-8?b?QQ==?="]),
)
HEADER_TEXT = st.lists(HEADER_CHAR, max_size=120).map("".join)
BODY = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\r\n", "\n", "\r", " \n", "\t", "=", ".", "--=_", "From ", "é"]),
    ),
    max_size=400,
).map("".join)
ATOM = st.text("abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=10)
LOCAL = st.lists(ATOM, min_size=1, max_size=3).map(".".join)
DOMAIN = st.sampled_from(
    ["example.com", "Mail.Example.org", "bücher.example", "exämple.com", "xn--bcher-kva.example"]
)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)


@settings(max_examples=300, deadline=None)
@given(
    from_name=HEADER_TEXT,
    to_name=HEADER_TEXT,
    to_address=ADDRESS,
    subject=HEADER_TEXT,
    text=BODY,
    html=BODY,
    tag=HEADER_TEXT,
)
def test_any_message_round_trips(
    from_name: str, to_name: str, to_address: str, subject: str, text: str, html: str, tag: str
) -> None:
    """Names, addresses, subject, header values and bodies read back exactly."""
    sender = Mailbox(from_name, "success@example.com")
    to = Mailbox(to_name, to_address)
    data = build(
        sender=sender,
        to=to,
        reply_to=sender,
        subject=subject,
        text=text,
        html=html,
        headers=[("X-Cstool-Step", tag)],
    )
    msg = parse(data)
    assert not msg.defects
    assert to.name == " ".join(to_name.split())
    assert msg["Subject"] == subject
    assert msg["X-Cstool-Step"] == tag
    for header, box in (("From", sender), ("To", to), ("Reply-To", sender)):
        (parsed,) = msg[header].addresses
        assert (parsed.display_name, parsed.addr_spec) == (box.name, box.address)
    assert msg["Date"].datetime == DATE
    assert msg["Message-ID"] == "<b1.k1@cstool.example>"
    plain, rich = msg.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert rich.get_content_type() == "text/html"
    assert plain.get_content() == crlf(text)
    assert rich.get_content() == crlf(html)


@settings(max_examples=150, deadline=None)
@given(subject=HEADER_TEXT, name=HEADER_TEXT, text=BODY, html=BODY)
def test_any_message_is_ascii_with_crlf_lines_within_limits(
    subject: str, name: str, text: str, html: str
) -> None:
    """A message is 7-bit, every line ends in CRLF, fits 998 octets, and headers fit 78."""
    data = build(to=Mailbox(name, "ann@example.com"), subject=subject, text=text, html=html)
    assert data.isascii()
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines)
    assert max(map(len, lines)) <= 998
    # Header lines fit 78 columns unless one token (a long display name) cannot be split.
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert all(len(line) <= 78 or b" " not in line.strip().partition(b" ")[2] for line in head)


@settings(max_examples=150, deadline=None)
@given(text=BODY)
def test_text_only_message_round_trips(text: str) -> None:
    """Without HTML the message is text/plain alone; its text ends with a line break."""
    data = build(text=text, html=None)
    assert data.endswith(b"\r\n")
    msg = parse(data)
    assert not msg.defects
    assert msg.get_content_type() == "text/plain"
    ended = text if text.endswith(("\n", "\r")) else text + "\n"
    assert msg.get_content() == crlf(ended)


def test_message_layout_is_as_documented() -> None:
    """Headers come in a fixed order, the text part first, with the boundary from the id."""
    data = build(headers=list_unsubscribe("https://cs.example/u?t=abc"))
    head, _, _ = data.partition(b"\r\n\r\n")
    names = [line.split(b":")[0].decode() for line in head.split(b"\r\n") if line[:1] != b" "]
    assert names == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
        "Content-Type",
    ]
    msg = parse(data)
    assert msg["List-Unsubscribe"] == "<https://cs.example/u?t=abc>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content() == crlf(TEXT)  # type: ignore[union-attr]
    assert msg.get_body(("html",)).get_content() == crlf(HTML)  # type: ignore[union-attr]


def test_same_arguments_give_the_same_bytes() -> None:
    """A re-render is byte-identical; another Message-ID gives another boundary."""
    first = build()
    assert build() == first
    other = build(message_id="<b1.k2@cstool.example>")
    boundary = re.compile(rb'boundary="([^"]+)"')
    assert boundary.search(first) != boundary.search(other)


def test_ascii_names_stay_readable() -> None:
    """Plain names go as they are or quoted; only non-ASCII needs encoded words."""
    data = build(
        sender=Mailbox("Acme, Customer Success", "cs@example.com"),
        to=Mailbox("Ann O'Neil", "ann@example.com"),
    )
    assert b'From: "Acme, Customer Success" <cs@example.com>\r\n' in data
    assert b"To: Ann O'Neil <ann@example.com>\r\n" in data
    data = build(to=Mailbox("Zoë", "zoe@example.com"), subject="Héllo")
    assert b"To: =?utf-8?b?Wm/Dqw==?= <zoe@example.com>\r\n" in data
    assert b"Subject: =?utf-8?b?SMOpbGxv?=\r\n" in data


def test_long_ascii_subject_is_folded_at_spaces() -> None:
    """A long plain subject folds before a space and reads back whole."""
    subject = "Your quarterly adoption review is ready " * 4
    data = build(subject=subject.strip())
    head = data.split(b"\r\n\r\n", 1)[0]
    first = b"Subject: Your quarterly adoption review is ready Your quarterly adoption\r\n"
    assert first + b" review is ready" in head
    assert parse(data)["Subject"] == subject.strip()


def test_long_word_subject_goes_to_encoded_words() -> None:
    """A subject word too long for any line is encoded, which folds, and reads back."""
    subject = "x" * 1200
    data = build(subject=subject)
    assert b"Subject: =?utf-8?b?" in data
    assert parse(data)["Subject"] == subject


def test_addresses_are_normalised_to_ascii() -> None:
    """The domain is lowercased and an international one is written in IDNA form."""
    assert Mailbox("", "Ann@Example.COM").address == "Ann@example.com"
    assert Mailbox("", "ann@bücher.example").address == "ann@xn--bcher-kva.example"
    data = build(to=Mailbox("", "ann@bücher.example"))
    assert b"To: ann@xn--bcher-kva.example\r\n" in data


def test_bodies_pick_their_encoding() -> None:
    """Mostly ASCII bodies go quoted-printable, mostly non-ASCII ones base64."""
    data = build(text="plain text = fine", html="東京 東京 東京 東京")
    assert data.count(b"Content-Transfer-Encoding: quoted-printable") == 1
    assert data.count(b"Content-Transfer-Encoding: base64") == 1
    assert b"plain text =3D fine" in data


def test_empty_bodies_and_subject_read_back() -> None:
    """Empty subject, name, text and HTML are all allowed and read back empty."""
    msg = parse(build(subject="", text="", html="", to=Mailbox("", "ann@example.com")))
    assert msg["Subject"] == ""
    assert msg["To"].addresses[0].display_name == ""
    assert [p.get_content() for p in msg.iter_parts()] == ["", ""]


INJECTIONS = [
    "Hi\r\nBcc: everyone@example.com",
    "Hi\nBcc: everyone@example.com",
    "Hi\rBcc: everyone@example.com",
    "Hi\x00",
    "Hi\tthere",
    "Hi\x85there",
    "Hi\u2028there",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_subject_with_control_characters_is_rejected(value: str) -> None:
    """A control character in the subject rejects the recipient, naming the field."""
    with pytest.raises(Rejected) as e:
        build(subject=value)
    assert e.value.field == "Subject"
    assert "not allowed in a header" in e.value.reason
    assert "Bcc" not in str(e.value)


@pytest.mark.parametrize("value", INJECTIONS)
def test_names_and_header_values_with_control_characters_are_rejected(value: str) -> None:
    """Display names and extra header values are held to the same rule."""
    with pytest.raises(Rejected) as e:
        Mailbox(value, "ann@example.com")
    assert e.value.field == "display name"
    with pytest.raises(Rejected) as e:
        build(headers=[("X-Cstool-Variant", value)])
    assert e.value.field == "X-Cstool-Variant"


def test_line_breaks_are_named_in_the_reason() -> None:
    """The reason says which character was found, so a report can explain it."""
    with pytest.raises(Rejected, match=r"carriage return \(CR\)"):
        build(subject="a\rb")
    with pytest.raises(Rejected, match=r"line feed \(LF\)"):
        build(subject="a\nb")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("ann@example.com\r\nBcc: x@example.com", "invalid characters"),
        ("ann@example", "should have a period"),
        ("jörg@example.com", "Internationalized characters before the @-sign"),
        ("ann", "must have an @-sign"),
        ('"ann smith"@example.com', "Quoting"),
        ("ann@[192.0.2.1]", "bracketed IP address"),
        ("", "must have an @-sign"),
    ],
)
def test_invalid_addresses_are_rejected(address: str, reason: str) -> None:
    """Addresses are validated with email-validator, and the reason is kept."""
    with pytest.raises(Rejected) as e:
        Mailbox("Ann", address)
    assert e.value.field == "address"
    assert reason in e.value.reason
    assert isinstance(e.value, InputError)


def test_lone_surrogate_in_a_body_is_rejected() -> None:
    """A body that is not valid Unicode rejects the recipient rather than the batch."""
    with pytest.raises(Rejected) as e:
        build(html="<p>\ud800</p>")
    assert e.value.field == "html body"


@pytest.mark.parametrize(
    ("url", "mailto"),
    [
        ("javascript:alert(1)", None),
        ("http://x.example/u", None),
        ("https://x.example/a b", None),
        ("https://x.example/a,b", None),
        ("https://x.example/é", None),
        ("https://x>.example", None),
        ("https://x.example/" + "a" * 900, None),
        ("https://x.example/u", "https://x.example/u"),
        ("https://x.example/u", "mailto:<x@example.com>"),
    ],
)
def test_list_unsubscribe_needs_plain_urls(url: str, mailto: str | None) -> None:
    """Only an https URL (and a mailto URL) in printable ASCII make the header."""
    with pytest.raises(Rejected) as e:
        list_unsubscribe(url, mailto=mailto)
    assert e.value.field == "List-Unsubscribe"


def test_list_unsubscribe_with_mailto() -> None:
    """A mailto URL joins the https one; long values fold and read back."""
    url = "https://cs.example/unsubscribe?token=" + "t" * 60
    headers = list_unsubscribe(url, mailto="mailto:unsub@cs.example?subject=unsubscribe")
    assert headers[0] == (
        "List-Unsubscribe",
        f"<{url}>, <mailto:unsub@cs.example?subject=unsubscribe>",
    )
    data = build(headers=headers)
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:".encode() in data
    assert parse(data)["List-Unsubscribe"] == headers[0][1]


def test_list_unsubscribe_with_a_line_break_names_it() -> None:
    """An injected line break in the URL is reported as such."""
    with pytest.raises(Rejected, match="line feed"):
        list_unsubscribe("https://x.example/\nBcc: x@example.com")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"message_id": "k1@cstool.example"}, "malformed Message-ID"),
        ({"message_id": "<k 1@cstool.example>"}, "malformed Message-ID"),
        ({"date": datetime(2024, 5, 6, 9, 30)}, "timezone-aware"),
        ({"headers": [("Subject", "x")]}, "cannot be added"),
        ({"headers": [("Bcc", "x@example.com")]}, "cannot be added"),
        ({"headers": [("X-A", "1"), ("x-a", "2")]}, "cannot be added"),
        ({"headers": [("X-A:", "1")]}, "cannot be added"),
    ],
)
def test_callers_mistakes_are_value_errors(overrides: dict[str, Any], match: str) -> None:
    """A malformed id, a naive date or a bad header name is a bug, not a recipient's data."""
    with pytest.raises(ValueError, match=match):
        build(**overrides)


def test_message_id_helper() -> None:
    """message_id makes <key@domain> and refuses what would not be one."""
    assert message_id("b1.k1", "cstool.example") == "<b1.k1@cstool.example>"
    with pytest.raises(ValueError):
        message_id("a b", "cstool.example")


def test_date_is_written_in_its_own_offset() -> None:
    """The Date header keeps the ledger's offset, to the second, even for equal instants."""
    data = build(date=datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=UTC))
    assert b"Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n" in data
    same_instant = datetime(2024, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert b"Date: Tue, 02 Jan 2024 04:04:05 +0100\r\n" in build(date=same_instant)


LOCAL_CHARS = st.sampled_from(
    list("aZ09._-+=!#$%&'*/?^`{|}~\"(),:;<>@[\\] é東") + ["Info", "ABUSE"]
)
DOMAINS = st.one_of(
    DOMAIN,
    st.sampled_from(
        ["x.test", "localhost", "a..b.com", "-a.com", "example", "EXAMPLE.COM", "[192.0.2.1]"]
        + ["xn--zz.example", "ex_ample.com", "bücher.例え.jp", "a" * 63 + ".com", "b" * 64 + ".com"]
        + [".".join(["abcdefghij" * 6] * 4)]  # long enough to hit the length limits
    ),
    st.text(st.sampled_from(list("ab.-é_1")), max_size=12),
)


@settings(max_examples=600, deadline=None)
@given(local=st.lists(LOCAL_CHARS, max_size=70).map("".join), domain=DOMAINS)
def test_address_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    """Mailbox accepts exactly what email-validator accepts, normalised the same way."""
    from email_validator import EmailNotValidError, validate_email

    address = f"{local}@{domain}"
    try:
        want = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        with pytest.raises(Rejected) as got:
            Mailbox("", address)
        assert got.value.reason == str(e)
        return
    assert Mailbox("", address).address == want.ascii_email
