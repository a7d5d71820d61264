"""SMTP delivery against a real server on loopback: outcomes, reconnects, login, STARTTLS."""

from __future__ import annotations

import email
import email.policy
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smtp_server import SmtpServer, free_port, self_signed_cert

from cstool.config import SendingConfig
from cstool.errors import EnvironmentProblem
from cstool.mail import PASSWORD_ENV, Delivery, Mailbox, SmtpSender, build_message

SENDER = Mailbox("Customer Success", "success@example.com")


def message(n: int, to: str, body: str = "Hello") -> bytes:
    """Message number ``n`` to ``to``, with a line that needs dot-stuffing."""
    return build_message(
        sender=SENDER,
        to=Mailbox(f"Person {n}", to),
        subject=f"Update {n} für dich",
        message_id=f"<b1.k{n}@cstool.example>",
        date=datetime(2024, 5, 6, 9, 0, tzinfo=UTC),
        text=f"{body} {n}\n.\n..and a dotted line\n",
        html=f"<p>{body} {n}</p>",
    )


def sender_for(server: SmtpServer, **options: object) -> SmtpSender:
    """A sender for the test server."""
    return SmtpSender(server.host, server.port, timeout=10, **options)  # type: ignore[arg-type]


def test_delivered_messages_arrive_byte_identical(smtp_server: SmtpServer) -> None:
    """Each message arrives once, to its one recipient, exactly as built (dots unstuffed)."""
    sent = [message(n, f"user{n}@example.com") for n in range(3)]
    with sender_for(smtp_server) as smtp:
        outcomes = [
            smtp.send(SENDER.address, f"user{n}@example.com", data) for n, data in enumerate(sent)
        ]
    assert [o.status for o in outcomes] == [Delivery.DELIVERED] * 3
    assert all(o.code == 250 and o.stage == "end of data" for o in outcomes)
    got = smtp_server.received
    assert [r.rcpt_tos for r in got] == [[f"user{n}@example.com"] for n in range(3)]
    assert all(r.mail_from == "success@example.com" for r in got)
    assert [r.content for r in got] == sent
    parsed = email.message_from_bytes(got[1].content, policy=email.policy.default)
    assert parsed["Subject"] == "Update 1 für dich"
    assert parsed.get_body(("plain",)).get_content() == (  # type: ignore[union-attr]
        "Hello 1\r\n.\r\n..and a dotted line\r\n"
    )
    # One connection for the whole batch.
    assert len({r.peer_port for r in got}) == 1


def test_refused_recipient_is_rejected_and_the_others_delivered(smtp_server: SmtpServer) -> None:
    """A 550 for one recipient rejects that message only; the connection goes on."""
    smtp_server.behaviour.refuse_rcpt["bad@example.com"] = "550 5.1.1 No such user here"
    rcpts = ["a@example.com", "bad@example.com", "c@example.com"]
    with sender_for(smtp_server) as smtp:
        outcomes = [smtp.send(SENDER.address, r, message(n, r)) for n, r in enumerate(rcpts)]
    assert [o.status for o in outcomes] == ["delivered", "rejected", "delivered"]
    rejected = outcomes[1]
    assert (rejected.code, rejected.text, rejected.stage) == (
        550,
        "5.1.1 No such user here",
        "RCPT TO",
    )
    assert [r.rcpt_tos for r in smtp_server.received] == [["a@example.com"], ["c@example.com"]]
    assert len({r.peer_port for r in smtp_server.received}) == 1


def test_temporary_refusals_are_deferred(smtp_server: SmtpServer) -> None:
    """A 4xx, at RCPT or at the end of the data, defers the message."""
    smtp_server.behaviour.refuse_rcpt["busy@example.com"] = "450 4.2.1 Mailbox busy"
    smtp_server.behaviour.refuse_data[b"Greylist me"] = "451 4.7.1 Try again later"
    with sender_for(smtp_server) as smtp:
        busy = smtp.send(SENDER.address, "busy@example.com", message(1, "busy@example.com"))
        grey_message = message(2, "g@example.com", "Greylist me")
        grey = smtp.send(SENDER.address, "g@example.com", grey_message)
        fine = smtp.send(SENDER.address, "f@example.com", message(3, "f@example.com"))
    assert (busy.status, busy.code, busy.stage) == (Delivery.DEFERRED, 450, "RCPT TO")
    assert (grey.status, grey.code, grey.stage) == (Delivery.DEFERRED, 451, "end of data")
    assert fine.status is Delivery.DELIVERED
    assert [r.rcpt_tos for r in smtp_server.received] == [["f@example.com"]]


def test_refusal_at_the_end_of_data_is_rejected(smtp_server: SmtpServer) -> None:
    """A 5xx after the data (e.g. a content filter) is a permanent rejection."""
    smtp_server.behaviour.refuse_data[b"Spammy"] = "554 5.7.1 Message refused"
    with sender_for(smtp_server) as smtp:
        out = smtp.send(SENDER.address, "a@example.com", message(1, "a@example.com", "Spammy"))
    assert (out.status, out.code, out.text) == (Delivery.REJECTED, 554, "5.7.1 Message refused")
    assert smtp_server.received == []


def test_drop_after_data_is_unknown_and_not_resent(smtp_server: SmtpServer) -> None:
    """A connection lost after the data gives 'unknown'; the next message reconnects."""
    smtp_server.behaviour.drop_after_data.add("lost@example.com")
    with sender_for(smtp_server) as smtp:
        lost = smtp.send(SENDER.address, "lost@example.com", message(1, "lost@example.com"))
        after = smtp.send(SENDER.address, "next@example.com", message(2, "next@example.com"))
    assert lost.status is Delivery.UNKNOWN
    assert (lost.code, lost.stage) == (None, "end of data")
    assert "after the data was sent" in lost.text
    assert smtp_server.dropped == 1  # sent once, never again
    assert after.status is Delivery.DELIVERED
    assert [r.rcpt_tos for r in smtp_server.received] == [["next@example.com"]]


def test_reconnects_when_the_server_closes_between_messages(smtp_server: SmtpServer) -> None:
    """A connection closed by the server is reopened, and no message is lost or doubled."""
    smtp_server.behaviour.close_after_message = True
    rcpts = [f"u{n}@example.com" for n in range(4)]
    with sender_for(smtp_server) as smtp:
        outcomes = [smtp.send(SENDER.address, r, message(n, r)) for n, r in enumerate(rcpts)]
    assert [o.status for o in outcomes] == [Delivery.DELIVERED] * 4
    assert [r.rcpt_tos[0] for r in smtp_server.received] == rcpts
    assert len({r.peer_port for r in smtp_server.received}) == 4


def test_no_server_is_an_environment_problem() -> None:
    """Connecting to a port nobody listens on fails before anything is sent, with exit 3."""
    port = free_port()
    with pytest.raises(EnvironmentProblem) as e, SmtpSender("127.0.0.1", port, timeout=5):
        pass
    assert e.value.exit_code == 3
    assert f"127.0.0.1:{port}" in str(e.value)
    assert e.value.hint is not None and "sending.smtp_host" in e.value.hint


def test_login_with_the_password_from_the_environment(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """from_config takes the password from CSTOOL_SMTP_PASSWORD and logs in with it."""
    smtp_server.behaviour.password = "s3cret-Pa55"
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-Pa55")
    config = SendingConfig(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_user="cs")
    with SmtpSender.from_config(config, timeout=10) as smtp:
        out = smtp.send(SENDER.address, "a@example.com", message(1, "a@example.com"))
    assert out.status is Delivery.DELIVERED
    assert smtp_server.logins == [("cs", True)]
    assert smtp_server.received[0].login == "cs"


def test_wrong_password_is_an_environment_problem_that_hides_it(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused login stops before sending; neither the error nor repr shows the password."""
    smtp_server.behaviour.password = "right"
    monkeypatch.setenv(PASSWORD_ENV, "wrong-Pa55")
    config = SendingConfig(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_user="cs")
    sender = SmtpSender.from_config(config, timeout=10)
    assert "wrong-Pa55" not in repr(sender)
    with pytest.raises(EnvironmentProblem) as e, sender:
        pass
    assert "refused the login of 'cs'" in str(e.value)
    assert PASSWORD_ENV in (e.value.hint or "")
    assert "wrong-Pa55" not in str(e.value) + (e.value.hint or "")
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN): all were refused.
    assert smtp_server.logins and set(smtp_server.logins) == {("cs", False)}
    assert smtp_server.received == []


def test_user_without_password_is_an_environment_problem() -> None:
    """A configured user with no CSTOOL_SMTP_PASSWORD says which variable to set."""
    config = SendingConfig(smtp_host="127.0.0.1", smtp_port=2525, smtp_user="cs")
    with pytest.raises(EnvironmentProblem, match=PASSWORD_ENV):
        SmtpSender.from_config(config, env={})


def test_password_is_never_sent_in_clear_to_another_machine() -> None:
    """Without STARTTLS, a login is only allowed to a server on this machine."""
    config = SendingConfig(smtp_host="smtp.example.com", smtp_port=587, smtp_user="cs")
    with pytest.raises(EnvironmentProblem, match="unencrypted") as e:
        SmtpSender.from_config(config, env={PASSWORD_ENV: "x"})
    assert "starttls: true" in (e.value.hint or "")


def test_starttls_then_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With starttls, the session is encrypted before the login, which the server requires."""
    cert, key = self_signed_cert(tmp_path)
    with SmtpServer(tls_cert=(cert, key)) as server:
        server.behaviour.password = "pw"
        monkeypatch.setenv(PASSWORD_ENV, "pw")
        config = SendingConfig(
            smtp_host="127.0.0.1", smtp_port=server.port, smtp_user="cs", starttls=True
        )
        context = ssl.create_default_context(cafile=str(cert))
        with SmtpSender.from_config(config, timeout=10, ssl_context=context) as smtp:
            out = smtp.send(SENDER.address, "a@example.com", message(1, "a@example.com"))
    assert out.status is Delivery.DELIVERED
    assert server.logins == [("cs", True)]


def test_starttls_with_an_untrusted_certificate_fails_before_sending(tmp_path: Path) -> None:
    """The server's certificate is verified: an unknown one is an environment problem."""
    with SmtpServer(tls_cert=self_signed_cert(tmp_path)) as server:
        untrusted = SmtpSender(server.host, server.port, starttls=True, timeout=10)
        with pytest.raises(EnvironmentProblem, match="session set-up"), untrusted:
            pass
        assert server.received == []


def test_starttls_required_but_not_offered(smtp_server: SmtpServer) -> None:
    """A server without STARTTLS is refused when the configuration asks for it."""
    sender = sender_for(smtp_server, starttls=True)
    with pytest.raises(EnvironmentProblem, match="does not offer STARTTLS"), sender:
        pass


def test_server_gone_mid_batch_stops_with_an_environment_problem() -> None:
    """When the server goes away, send raises before the message; earlier outcomes stand."""
    server = SmtpServer()
    with server:
        smtp = sender_for(server)
        smtp.__enter__()
        first = smtp.send(SENDER.address, "a@example.com", message(1, "a@example.com"))
    with pytest.raises(EnvironmentProblem, match=f"127.0.0.1:{server.port}"):
        smtp.send(SENDER.address, "b@example.com", message(2, "b@example.com"))
    smtp.close()
    assert first.status is Delivery.DELIVERED
    assert [r.rcpt_tos for r in server.received] == [["a@example.com"]]


def test_a_server_that_keeps_closing_stops_the_batch(smtp_server: SmtpServer) -> None:
    """A 421 before the data is retried once on a new connection, then reported."""
    smtp_server.behaviour.refuse_rcpt["a@example.com"] = "421 4.3.2 Shutting down"
    with sender_for(smtp_server) as smtp, pytest.raises(EnvironmentProblem, match="keeps closing"):
        smtp.send(SENDER.address, "a@example.com", message(1, "a@example.com"))
    assert smtp_server.received == []
