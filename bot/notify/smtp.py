"""Email digests through an SMTP server: STARTTLS, implicit TLS or plain, with an optional login.

Takes a `Delivery` whose `email` is a finished message (Message-ID, Date and all, made by
`bot.flow.deliver` from the store) and hands it to the server. Inside `batch()` one connection carries
every message; a dropped connection is reopened on the next try.

What the server says decides what happens: 4xx ("try again later") and a lost connection are tried
again with exponential backoff, up to `attempts` tries, then reported as temporary (the digest waits
for the next run); 5xx (e.g. an unknown recipient) is reported at once as permanent, with the
server's reply. A server that cannot be reached (refused, timed out, our login or its certificate
refused) is reported as `ChannelDown`, so the caller leaves the other messages for the next run.
A retry resends the very same message, so its Message-ID never changes and a mail system that saw
the first copy can recognise the second.
"""

from __future__ import annotations

import contextlib
import io
import smtplib
import ssl
from collections.abc import Iterator
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import parseaddr

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.errors import ChannelDown, DeliveryError
from bot.notify.base import Delivery, Notifier

SECURITY = ("starttls", "ssl", "none")


class _Temporary(Exception):
    """One failed try that another try may fix; carries the text for the final error."""


class _Unreachable(_Temporary):
    """A try that found no server to talk to: refused, timed out, or dropped before it said hello."""


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate and host name verified, always: smtplib's own default context verifies nothing."""
    return ssl.create_default_context(cafile=ca_file or None)


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"


class SmtpNotifier(Notifier):
    channels = ("email",)

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
    ) -> None:
        if security not in SECURITY:
            raise ValueError(f"security must be one of {SECURITY}, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username or None, password
        self.context = context or tls_context()
        self.timeout = timeout
        self.attempts = attempts
        # Backoff doubles from `backoff` seconds, capped at `max_backoff`; tests pass 0.
        self._wait = wait_exponential(multiplier=backoff, max=max_backoff) if backoff else None
        self._conn: smtplib.SMTP | None = None
        self._in_batch = False

    def __repr__(self) -> str:  # never the password
        return f"SmtpNotifier({self.security}://{self.username + '@' if self.username else ''}{self.host}:{self.port})"

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._in_batch = True
        try:
            yield
        finally:
            self._in_batch = False
            self._close()

    def send(self, delivery: Delivery) -> str:
        message = delivery.email
        if message is None:
            raise DeliveryError(f"digest {delivery.digest_id} has no email to send", temporary=False)
        recipient = message["To"]
        if not recipient:
            raise DeliveryError(f"digest {delivery.digest_id} has no recipient", temporary=False)
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            retry=retry_if_exception(lambda exc: isinstance(exc, _Temporary)),
            reraise=True,
            **({"wait": self._wait} if self._wait else {}),
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._send_once(message)
        except _Temporary as exc:
            self._close()
            text = f"{self.host} did not take the message for {recipient} after {self.attempts} tries: {exc}"
            if isinstance(exc, _Unreachable):
                raise ChannelDown(text) from exc
            raise DeliveryError(text, temporary=True) from exc
        finally:
            if not self._in_batch:
                self._close()
        return f"{self.host}:{self.port} accepted it for {recipient} as {message['Message-ID']}"

    def _send_once(self, message: EmailMessage) -> None:
        try:
            conn = self._connection()
            refused = _submit(conn, message)
        except smtplib.SMTPRecipientsRefused as exc:
            # One recipient per digest, so "refused" means all of them: 4xx is a mailbox busy, 5xx no such user.
            (address, (code, text)), *_ = exc.recipients.items()
            self._fail(code, _reply(code, text), what=address)
        except smtplib.SMTPAuthenticationError as exc:
            self._close()
            raise ChannelDown(
                f"{self.host} refused the login of {self.username!r}: {_reply(exc.smtp_code, exc.smtp_error)}; "
                "check [smtp] username and SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            self._close()
            raise DeliveryError(f"{self.host}: {exc}", temporary=True) from exc
        except smtplib.SMTPResponseException as exc:
            # MAIL FROM, DATA or the end of data refused; smtplib has already reset the transaction.
            self._fail(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
        except ssl.SSLCertVerificationError as exc:
            self._close()
            raise ChannelDown(
                f"{self.host}:{self.port} has a certificate this bot does not trust ({exc.verify_message}); "
                "set [smtp] ca_file for a private CA"
            ) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            # Connection refused, reset, timed out or lost in the middle: worth another try on a new
            # connection. Never connected, or timed out: the server is down or hanging for every message.
            unreachable = self._conn is None or _timed_out(exc)
            self._close()
            raise (_Unreachable if unreachable else _Temporary)(
                f"connection to {self.host}:{self.port} failed: {exc}"
            ) from exc
        else:
            if refused:  # only when some of several recipients were refused: never with one per digest
                address, (code, text) = next(iter(refused.items()))
                raise DeliveryError(f"{self.host} refused {address}: {_reply(code, text)}", temporary=400 <= code < 500)

    def _fail(self, code: int, reply: str, *, what: str = "the message") -> None:
        if code == 421:  # the server is closing the connection: the next try opens a new one
            self._close()
        if 400 <= code < 500:
            raise _Temporary(reply)
        raise DeliveryError(f"{self.host} refused {what}: {reply}", temporary=False)

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        conn: smtplib.SMTP
        if self.security == "ssl":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self._password or "")
        except BaseException:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.close()
            raise
        self._conn = conn
        return conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            with contextlib.suppress(OSError):
                conn.close()


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also where smtplib reports it as a lost connection (its cause kept as the context)."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _submit(conn: smtplib.SMTP, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send the message as its own policy writes it; smtplib's refusals as `sendmail` returns them.

    By hand rather than `SMTP.send_message`, which flattens with a compat32 generator: that writes a
    body line starting "From " as ">From " (mbox quoting), so a paper titled "From ..." would reach
    the reader mangled. The message's own policy leaves such lines alone.
    """
    sender = parseaddr(message["From"])[1]
    recipient = parseaddr(message["To"])[1]
    policy = message.policy.clone(linesep="\r\n", mangle_from_=False)
    options: tuple[str, ...] = ()
    if not (sender + recipient).isascii():  # as send_message does for an address beyond ASCII
        if not conn.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the server does not support SMTPUTF8, which this address needs")
        policy = policy.clone(utf8=True)
        options = ("SMTPUTF8", "BODY=8BITMIME")
    with io.BytesIO() as flat:
        BytesGenerator(flat, policy=policy).flatten(message)
        return conn.sendmail(sender, [recipient], flat.getvalue(), options)
