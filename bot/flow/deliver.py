"""Delivering the digests that wait in the store: claim a batch with a lease, render each for its
channel, hand it to the notifier for that channel outside any transaction, record the outcome.

A delivery is claimed before it is sent and marked after, so a process that dies mid-batch loses
nothing: its lease runs out and another run claims what it had not finished. The cost is at most
one duplicate, when the process dies inside the send call itself, after the channel accepted the
message but before the store heard of it; the notifiers narrow even that (a reused email
Message-ID, a Slack history check).

Each notifier opens one batch (one SMTP connection, say) per claimed batch, and only when it
has a first digest to send in it. A failure is recorded on its digest; the rest go on, except
behind a channel that cannot be reached: those wait, untried, for the next run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.errors import ChannelDown, DeliveryError
from bot.flow.channels import Channels
from bot.flow.settings import RetryPolicy, Settings
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
    will_retry: bool = False
    channel_down: bool = False  # the channel could not be reached: its other deliveries were left untried


def process_owner() -> str:
    """A name for this process's leases, unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def email_links(digest: Digest, links: Links | None, *, unsubscribe_mailto: str | None = None) -> EmailLinks | None:
    """Signed unsubscribe, 👍/👎 and web-view links for an email to the profile's address; None when
    links are off."""
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
        view=links.digest_url(pid, digest.id),
    )


def prepare(
    digest: Digest,
    *,
    sender: str,
    abstract_chars: int,
    now: datetime,
    links: Links | None = None,
    unsubscribe_mailto: str | None = None,
    source_titles: Mapping[str, str] | None = None,
) -> Delivery:
    """Render the digest into what its channel carries: an email, Slack payloads, or both (outbox)."""
    email = slack = None
    if digest.channel in ("email", "outbox"):
        rendered = render_email(
            digest,
            abstract_chars=abstract_chars,
            links=email_links(digest, links, unsubscribe_mailto=unsubscribe_mailto),
            source_titles=source_titles,
        )
        to = digest.profile.email if digest.channel == "email" else None
        # The Message-ID and Date come from the store, so every retry sends the very same message.
        email = build_message(
            rendered, sender=sender, to=to, message_id=digest.message_id, date=digest.created_at or now
        )
    if digest.channel in ("slack", "outbox"):
        channel = digest.profile.slack_channel
        slack = tuple(
            {"channel": channel, **payload} if channel else payload
            for payload in render_slack(digest, source_titles=source_titles)
        )
    return Delivery(
        digest_id=digest.id,
        channel=digest.channel,
        profile=digest.profile.name,
        period=digest.period,
        email=email,
        slack=slack or (),
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Pass:
    """What one call of `deliver_pending` shares between its batches."""

    store: Store
    notifiers: Mapping[str, Notifier]
    owner: str
    lease: timedelta
    retry: RetryPolicy
    render: dict[str, Any]
    should_stop: Callable[[], bool]
    down: set[str] = field(default_factory=set)  # channels found unreachable: left untried from then on


def deliver_pending(
    store: Store,
    channels: Channels,
    settings: Settings,
    *,
    profile: str | None = None,
    owner: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    include_waiting: bool = False,
    source_titles: Mapping[str, str] | None = None,
) -> list[DeliveryOutcome]:
    """Deliver every ready delivery once, batch by batch, until none is left or `should_stop()` says so.

    `include_waiting` also takes deliveries still waiting out a retry delay (someone asked by hand).
    On stop, the message being sent is finished and the rest of the batch is released unattempted.
    A channel that cannot be reached (`ChannelDown`) costs one delivery's attempt: the rest of its
    deliveries are released unattempted and left for the next run, the other channels go on.
    Every lease, claim and record reads the real clock when it happens: a lease renewed from a
    moment fixed at the start would not move, and a slow batch would lose the message it is sending
    to another process.
    """
    render = {
        "sender": settings.sender,
        "abstract_chars": settings.abstract_chars,
        "links": channels.links,
        "unsubscribe_mailto": channels.unsubscribe_mailto,
        "source_titles": source_titles,
    }
    owner = owner or process_owner()
    run = _Pass(store, channels.notifiers, owner, settings.lease, settings.retry, render, should_stop)
    outcomes: list[DeliveryOutcome] = []
    cursor = 0
    while not should_stop():
        claimed = store.claim_deliveries(
            run.owner,
            now=_utcnow(),
            lease=settings.lease,
            limit=settings.batch,
            after_id=cursor,
            profile=profile,
            include_waiting=include_waiting,
            skip_channels=run.down,
        )
        if not claimed:
            break
        cursor = claimed[-1].id
        outcomes += _deliver_batch(run, claimed)
    return outcomes


def _deliver_batch(run: _Pass, claimed: list[Digest]) -> list[DeliveryOutcome]:
    outcomes = []
    with contextlib.ExitStack() as batches:
        opened: set[int] = set()
        for position, digest in enumerate(claimed):
            if run.should_stop():
                run.store.release([d.id for d in claimed[position:]], run.owner)
                break
            if digest.channel in run.down:
                continue  # released when its channel went down
            # A slow batch can outlive its lease; renew it before each send, and leave a delivery
            # alone if another process has taken it over meanwhile (it is sending it).
            if not run.store.renew_lease(digest.id, run.owner, now=_utcnow(), lease=run.lease):
                continue
            notifier = run.notifiers.get(digest.channel)
            if notifier is not None and id(notifier) not in opened:
                batches.enter_context(notifier.batch())
                opened.add(id(notifier))
            outcome = _deliver_one(run.store, notifier, digest, run.render, run.retry)
            outcomes.append(outcome)
            if outcome.channel_down:
                run.down.add(digest.channel)
                rest = [d.id for d in claimed[position + 1 :] if d.channel == digest.channel]
                run.store.release(rest, run.owner)
    return outcomes


def _deliver_one(
    store: Store,
    notifier: Notifier | None,
    digest: Digest,
    render: dict[str, Any],
    retry: RetryPolicy,
) -> DeliveryOutcome:
    try:
        if digest.channel == "email" and digest.profile.email_unsubscribed:
            raise DeliveryError(f"{digest.profile.email} unsubscribed before this digest went out", temporary=False)
        if notifier is None:
            raise DeliveryError(f"no notifier for channel {digest.channel!r}", temporary=True)
        receipt = notifier.send(prepare(digest, now=_utcnow(), **render))
    except ChannelDown as exc:
        return replace(_failed(store, digest, str(exc), True, _utcnow(), retry), channel_down=True)
    except DeliveryError as exc:
        return _failed(store, digest, str(exc), exc.temporary, _utcnow(), retry)
    except Exception as exc:  # a bug in one delivery must not stop the batch or lose the digest
        return _failed(store, digest, f"unexpected {type(exc).__name__}: {exc}", True, _utcnow(), retry)
    store.mark_sent(digest.id, receipt, now=_utcnow())
    return DeliveryOutcome(digest, receipt=receipt)


def _failed(
    store: Store, digest: Digest, error: str, temporary: bool, now: datetime, retry: RetryPolicy
) -> DeliveryOutcome:
    retry_at = retry.retry_at(digest.attempts, now) if temporary else None
    if temporary and retry_at is None:
        error = f"gave up after {digest.attempts} attempts: {error}"
    store.record_failure(digest.id, error, retry_at=retry_at)
    return DeliveryOutcome(digest, error=error, will_retry=retry_at is not None)
