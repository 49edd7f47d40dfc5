"""Delivering the digests that wait in the store: render each for its channel, hand it to the
notifier for that channel, and record the outcome.

Each notifier opens one batch (one SMTP connection, say) for all its digests of the run, and only
when it has a first digest to send. A failure is recorded on its digest; the rest go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import DeliveryError
from bot.links import Links
from bot.models import Digest
from bot.notify import Delivery, Notifier
from bot.render import EmailLinks, build_message, render_email, render_slack
from bot.store import Store


@dataclass(frozen=True)
class DeliveryOutcome:
    digest: Digest
    receipt: str | None = None
    error: str | None = None


def email_links(digest: Digest, links: Links | None, *, unsubscribe_mailto: str | None = None) -> EmailLinks | None:
    """Signed unsubscribe and 👍/👎 links for an email to the profile's address; None when links are off."""
    address = digest.profile.email
    if links is None or digest.channel != "email" or not address or digest.profile.id is None:
        return None
    pid = digest.profile.id
    return EmailLinks(
        unsubscribe=links.unsubscribe_url(pid, address),
        unsubscribe_mailto=f"mailto:{unsubscribe_mailto}?subject=unsubscribe" if unsubscribe_mailto else None,
        votes={
            item.listing.id: (
                links.feedback_url(pid, address, item.listing.id, 1),
                links.feedback_url(pid, address, item.listing.id, -1),
            )
            for item in digest.items
        },
    )


def prepare(
    digest: Digest,
    *,
    sender: str,
    abstract_chars: int,
    now: datetime,
    links: Links | None = None,
    unsubscribe_mailto: str | None = None,
) -> Delivery:
    """Render the digest into what its channel carries: an email, Slack payloads, or both (outbox)."""
    email = slack = None
    if digest.channel in ("email", "outbox"):
        rendered = render_email(
            digest,
            abstract_chars=abstract_chars,
            links=email_links(digest, links, unsubscribe_mailto=unsubscribe_mailto),
        )
        to = digest.profile.email if digest.channel == "email" else None
        # The Message-ID and Date come from the store, so every retry sends the very same message.
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
    links: Links | None = None,
    unsubscribe_mailto: str | None = None,
) -> list[DeliveryOutcome]:
    now = now or datetime.now(UTC)
    outcomes = []
    with contextlib.ExitStack() as batches:
        opened: set[int] = set()
        for digest in store.pending_digests(profile=profile):
            notifier = notifiers.get(digest.channel)
            if digest.channel == "email" and digest.profile.email_unsubscribed:
                error = f"{digest.profile.email} unsubscribed before this digest went out"
                store.record_failure(digest.id, error, temporary=False)
                outcomes.append(DeliveryOutcome(digest, error=error))
                continue
            if notifier is None:
                error = f"no notifier for channel {digest.channel!r}"
                store.record_failure(digest.id, error, temporary=True)
                outcomes.append(DeliveryOutcome(digest, error=error))
                continue
            if id(notifier) not in opened:
                batches.enter_context(notifier.batch())
                opened.add(id(notifier))
            delivery = prepare(
                digest,
                sender=sender,
                abstract_chars=abstract_chars,
                now=now,
                links=links,
                unsubscribe_mailto=unsubscribe_mailto,
            )
            try:
                receipt = notifier.send(delivery)
            except DeliveryError as exc:
                store.record_failure(digest.id, str(exc), temporary=exc.temporary)
                outcomes.append(DeliveryOutcome(digest, error=str(exc)))
                continue
            store.mark_sent(digest.id, receipt, now=now)
            outcomes.append(DeliveryOutcome(digest, receipt=receipt))
    return outcomes
