"""Which notifier serves each channel, and whether emails carry signed links, decided from the
configuration and the environment.

Called when the pipeline is built from the config (`Pipeline.from_config`); the rooms below never
read it. A channel whose settings or credentials are missing falls back to the local outbox, and
the notes say so in one line each; so do links that are off for want of BOT_SECRET or [web] base_url.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr

from bot.config import Config
from bot.errors import ConfigError
from bot.links import Links
from bot.notify import Notifier, OutboxNotifier

SECRET_ENV = "BOT_SECRET"
# HMAC keys shorter than the 32 bytes of a token_urlsafe(32) can be guessed offline from one link.
MIN_SECRET_BYTES = 32
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
SMTP_PASSWORD_ENV = "SMTP_PASSWORD"


@dataclass(frozen=True)
class Channels:
    notifiers: Mapping[str, Notifier]
    notes: tuple[str, ...] = ()  # one line per channel that fell back to the outbox, and why
    links: Links | None = None  # signs unsubscribe and 👍/👎 links; None: emails carry none
    unsubscribe_mailto: str | None = None


def read_secret() -> str:
    """BOT_SECRET, or "" when it is not set; ConfigError when it is too short to sign links safely.

    Whitespace does not count towards its length, so 40 spaces are no secret.
    """
    secret = os.environ.get(SECRET_ENV, "")
    if secret and len("".join(secret.split()).encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{SECRET_ENV} is too short: it needs {MIN_SECRET_BYTES} bytes or more that are not spaces; "
            f"make one with: {MAKE_SECRET}"
        )
    return secret


def make_links(config: Config) -> tuple[Links | None, str | None]:
    """The link signer, or None and the one-line reason links are off; ConfigError for a weak BOT_SECRET."""
    secret = read_secret()
    if not config.web.base_url and not secret:
        return None, f"emails carry no unsubscribe or 👍/👎 links: set [web] base_url and {SECRET_ENV}"
    if not config.web.base_url:
        return None, "emails carry no unsubscribe or 👍/👎 links: set [web] base_url (the address of `bot serve`)"
    if not secret:
        return None, f"emails carry no unsubscribe or 👍/👎 links: {SECRET_ENV} is not set"
    return Links(secret, config.web.base_url, feedback_max_age=config.web.feedback_days * 86_400), None


def make_channels(config: Config) -> Channels:
    outbox = OutboxNotifier(config.outbox.dir)
    notifiers: dict[str, Notifier] = dict.fromkeys(outbox.channels, outbox)
    notes = []
    smtp = config.smtp
    password = os.environ.get(SMTP_PASSWORD_ENV, "")
    email_off = None
    if not smtp.host:
        email_off = "email is not configured"
    elif smtp.username and not password:
        email_off = f"{SMTP_PASSWORD_ENV} is not set for [smtp] username {smtp.username!r}"
    else:
        from bot.notify import SmtpNotifier, tls_context

        try:
            context = tls_context(smtp.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"[smtp] ca_file {smtp.ca_file!r}: cannot read CA certificates: {exc}") from exc
        notifiers["email"] = SmtpNotifier(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=password,
            context=context,
            timeout=smtp.timeout,
            attempts=smtp.attempts,
        )
    slack_off = None
    if token := os.environ.get("SLACK_BOT_TOKEN", "").strip():
        from bot.notify.slack import SlackNotifier, make_client  # slack_sdk only when Slack is on

        notifiers["slack"] = SlackNotifier(make_client(token, config.slack.api_url))
    else:
        slack_off = "SLACK_BOT_TOKEN is not set"
    if email_off == "email is not configured" and slack_off:
        notes.append(f"email and Slack are not configured: digests go to the local outbox {config.outbox.dir}/")
    else:
        if email_off:
            notes.append(f"{email_off}: email digests go to the local outbox {config.outbox.dir}/")
        if slack_off:
            notes.append(f"{slack_off}: Slack digests go to the local outbox {config.outbox.dir}/")
    links, why_not = make_links(config)
    if why_not and notifiers["email"] is not outbox:  # only worth a note when real mail goes out without them
        notes.append(why_not)
    mailto = smtp.unsubscribe_mailto or parseaddr(smtp.sender)[1] or None
    return Channels(notifiers=notifiers, notes=tuple(notes), links=links, unsubscribe_mailto=mailto)
