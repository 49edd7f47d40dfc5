"""Delivering the digests that wait in the store: render each for its channel, hand it to the
notifier for that channel, and record the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import DeliveryError
from bot.models import Digest
from bot.notify import Delivery, Notifier
from bot.render import build_message, render_email, render_slack
from bot.store import Store


@dataclass(frozen=True)
class DeliveryOutcome:
    digest: Digest
    receipt: str | None = None
    error: str | None = None


def prepare(digest: Digest, *, sender: str, abstract_chars: int, now: datetime) -> Delivery:
    """Render the digest into what its channel carries: an email, Slack payloads, or both (outbox)."""
    email = slack = None
    if digest.channel in ("email", "outbox"):
        rendered = render_email(digest, abstract_chars=abstract_chars)
        to = digest.profile.email if digest.channel == "email" else None
        email = build_message(
            rendered, sender=sender, to=to, message_id=digest.message_id, date=digest.created_at or now
        )
    if digest.channel in ("slack", "outbox"):
        channel = digest.profile.slack_channel
        slack = tuple({"channel": channel, **payload} if channel else payload for payload in render_slack(digest))
    return Delivery(
        digest_id=digest.id,
        channel=digest.channel,
        profile=digest.profile.name,
        period=digest.period,
        email=email,
        slack=slack or (),
    )


def deliver_pending(
    store: Store,
    notifiers: Mapping[str, Notifier],
    *,
    sender: str,
    abstract_chars: int = 400,
    profile: str | None = None,
    now: datetime | None = None,
) -> list[DeliveryOutcome]:
    now = now or datetime.now(UTC)
    outcomes = []
    for digest in store.pending_digests(profile=profile):
        notifier = notifiers.get(digest.channel)
        if notifier is None:
            error = f"no notifier for channel {digest.channel!r}"
            store.record_failure(digest.id, error, temporary=True)
            outcomes.append(DeliveryOutcome(digest, error=error))
            continue
        try:
            receipt = notifier.send(prepare(digest, sender=sender, abstract_chars=abstract_chars, now=now))
        except DeliveryError as exc:
            store.record_failure(digest.id, str(exc), temporary=exc.temporary)
            outcomes.append(DeliveryOutcome(digest, error=str(exc)))
            continue
        store.mark_sent(digest.id, receipt, now=now)
        outcomes.append(DeliveryOutcome(digest, receipt=receipt))
    return outcomes
