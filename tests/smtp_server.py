"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

Tests steer it through plain attributes: refuse some recipients, refuse a message at the end
of its data, drop the connection after the data, close the connection after each message,
require a login, offer STARTTLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One message the server accepted: envelope, content and the client's port."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer_port: int
    login: str | None


@dataclass
class Behaviour:
    """How the server answers; tests change it between messages."""

    # Recipient address -> the reply to its RCPT TO, e.g. "550 5.1.1 no such user".
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    # Reply at the end of the data when the message contains this bytes string.
    refuse_data: dict[bytes, str] = field(default_factory=dict)
    # Drop the connection, without a reply, after the data of a message to these recipients.
    drop_after_data: set[str] = field(default_factory=set)
    # Close the connection right after accepting each message (the client must reconnect).
    close_after_message: bool = False
    # The password that logins must give (any user), when logins are checked.
    password: str | None = None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.server.behaviour.refuse_rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        behaviour = self.server.behaviour
        content = envelope.content
        assert isinstance(content, bytes)
        if behaviour.drop_after_data & set(envelope.rcpt_tos):
            self.server.dropped += 1
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"  # never reaches the client: the connection is gone
        for needle, reply in behaviour.refuse_data.items():
            if needle in content:
                return reply
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.server.received.append(
            Received(
                str(envelope.mail_from), list(envelope.rcpt_tos), content, session.peer[1], login
            )
        )
        if behaviour.close_after_message:
            # Called once this handler has returned and its reply has been written.
            assert server.transport is not None
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread; ``received`` lists the accepted messages."""

    def __init__(self, *, tls_cert: tuple[Path, Path] | None = None) -> None:
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.logins: list[tuple[str, bool]] = []
        self.dropped = 0
        self.host = "127.0.0.1"
        self.port = free_port()
        tls_context = None
        if tls_cert is not None:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(*map(str, tls_cert))
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=tls_cert is not None,
            tls_context=tls_context,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.behaviour.password is not None
            and data.password.decode() == self.behaviour.password
        )
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "", ok))
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=data)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
