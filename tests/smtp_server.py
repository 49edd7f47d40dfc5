"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives and can be told to fail.

STARTTLS with a throwaway CA from trustme and AUTH LOGIN/PLAIN, as a real submission server would
have them; or implicit TLS; or plain. `data_replies` scripts what DATA answers (a 4xx, or "drop" to
cut the connection), `refuse` makes RCPT TO answer 550 for an address.
"""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "digest-bot", "s3cret pass"


class _Controller(Controller):
    # aiosmtpd 1.4.6 cannot start on port 0 (upstream issue 388): learn the port the OS chose
    # before the controller connects to its own server to see that it is up.
    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Received:
    message: EmailMessage
    raw: bytes
    mail_from: str
    rcpt_tos: list[str]
    session: int  # which connection carried it
    tls: bool
    authenticated: bool


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # the Message-ID of every DATA, accepted or not
    data_replies: list[str] = field(default_factory=list)  # popped one per DATA; "drop" cuts the line
    refuse: dict[str, str] = field(default_factory=dict)  # address → RCPT reply
    delay: float = 0.0  # seconds DATA takes before it answers, as a busy server's would
    sessions: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.attempts.append(message["Message-ID"])
            if id(session) not in self.sessions:
                self.sessions.append(id(session))
            reply = self.data_replies.pop(0) if self.data_replies else None
        if reply == "drop":
            server.transport.close()
            return "250 never seen"
        if reply:
            return reply
        self.received.append(
            Received(
                message=message,
                raw=envelope.original_content,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                session=self.sessions.index(id(session)),
                # session.ssl is set by STARTTLS; with implicit TLS the transport itself is TLS.
                tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd then answers 535 itself (with the default it would answer nothing).
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler
    ca_file: Path | None
    security: str


@contextmanager
def smtp_server(
    tmp_path: Path, *, security: str = "starttls", auth: bool = True, port: int = 0
) -> Iterator[SmtpServer]:
    handler = Handler()
    kwargs: dict = {}
    ca_file = None
    if security in ("starttls", "ssl"):
        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
        ca_file = tmp_path / "test-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        if security == "starttls":
            kwargs.update(tls_context=server_ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=server_ctx)
    if auth:
        kwargs.update(authenticator=_authenticate, auth_required=True, auth_require_tls=security == "starttls")
    controller = _Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler, ca_file, security)
    finally:
        controller.stop()
