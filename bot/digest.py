"""Choosing, per profile and period, the listings to send: the best ones it has not been sent yet.

Takes profiles and listings from the store, ranks them, and records each digest with its items in
one transaction; delivering it is `bot.deliver`'s job, and formatting it `bot.render`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from pathlib import Path

from bot.models import Listing, Profile
from bot.schedule import Occurrence, current_period, latest_due
from bot.store import Store


@dataclass(frozen=True)
class ComposedDigest:
    profile: Profile
    period: str
    items: tuple[tuple[Listing, float, tuple[str, ...]], ...]
    # "created", "would send" (dry run), "already composed" (this period has its digest), "nothing new",
    # "empty" (nothing new, recorded so the period counts as handled), "skipped" (too late), or
    # "unsubscribed" (its only address unsubscribed, so it has nowhere to go)
    status: str
    digest_ids: tuple[int, ...] = ()


def period_for(profile: Profile, now: datetime) -> str:
    """The profile's current period in its own time zone: a local date, or an ISO week for weekly digests."""
    return current_period(profile, now)


@dataclass(frozen=True)
class DuePeriods:
    due: dict[str, Occurrence]  # profile name → the period to compose now
    late: dict[str, tuple[Occurrence, str]]  # profile name → a period missed beyond catch-up, and why


def due_periods(store: Store, profiles: Sequence[Profile], *, now: datetime, catch_up: timedelta) -> DuePeriods:
    """For each profile, the latest period whose send time has passed and that has no digest yet.

    A period missed by more than `catch_up` (the bot was down) is not sent late but reported, so the
    caller records it as skipped. Periods due before the profile existed are not owed.
    """
    due: dict[str, Occurrence] = {}
    late: dict[str, tuple[Occurrence, str]] = {}
    for profile in profiles:
        occurrence = latest_due(profile, now)
        if profile.created_at is not None and occurrence.due_at < profile.created_at:
            continue
        if set(profile.channels) <= store.existing_channels(_id(profile), occurrence.period):
            continue
        delay = now - occurrence.due_at
        if delay > catch_up:
            hours = delay.total_seconds() / 3600
            reason = (
                f"missed its send time {occurrence.due_at:%Y-%m-%d %H:%M} UTC by {hours:.1f} h "
                f"(catch-up limit {catch_up.total_seconds() / 3600:g} h)"
            )
            late[profile.name] = (occurrence, reason)
        else:
            due[profile.name] = occurrence
    return DuePeriods(due, late)


def compose_digests(
    store: Store,
    profiles: Sequence[Profile],
    *,
    now: datetime,
    max_age_days: int,
    message_domain: str = "localhost",
    dry_run: bool = False,
    periods: Mapping[str, Occurrence] | None = None,
    ignore_composed: bool = False,
    model_path: Path | None = None,
    window: int = 50_000,
    refresh: timedelta = timedelta(days=7),
) -> list[ComposedDigest]:
    """Create a digest for each profile that has none yet for its period (a dry run creates nothing).

    `periods` gives each profile's scheduled period (from `due_periods`); without it, each profile's
    current period is used, as for a digest made by hand. A scheduled period with nothing new is
    recorded as "empty" (or sent as an empty digest when the profile asks for that), so the next
    tick does not rank it again; a digest made by hand with nothing new records nothing.
    `ignore_composed` (a preview) ranks a profile even when this period's digest exists already.
    With `model_path`, listings are vectorized by the saved text model (fitted again on the newest
    `window` listings when it is missing or older than `refresh`); without it, on the candidates.
    """
    if periods is not None:
        profiles = [p for p in profiles if p.name in periods]
    occurrence = {p.name: periods[p.name] if periods is not None else None for p in profiles}
    period = {
        p.name: o.period if o else current_period(p, now) for p, o in zip(profiles, occurrence.values(), strict=True)
    }
    gone = [ComposedDigest(p, period[p.name], (), "unsubscribed") for p in profiles if not p.channels]
    profiles = [p for p in profiles if p.channels]
    due = [
        p for p in profiles if ignore_composed or not set(p.channels) <= store.existing_channels(_id(p), period[p.name])
    ]
    done = gone + [ComposedDigest(p, period[p.name], (), "already composed") for p in profiles if p not in due]
    if not due:
        return done

    due = [with_feedback(p, store.feedback_votes(p)) for p in due]
    candidates = store.listings(since=now - timedelta(days=max_age_days))
    known = {item.id for item in candidates}
    # Example papers may be older than the window: they shape the profile but are never candidates.
    examples = {i for p in due for i in p.likes + p.dislikes if i not in known}
    corpus = candidates + store.listings(ids=examples)
    skip = {p.name: store.sent_listing_ids(_id(p)) | examples for p in due}
    by_id = {item.id: item for item in corpus}

    from bot.rank import rank  # imports scikit-learn: only when there is something to rank
    from bot.rank.model import current_model

    model = None
    if model_path is not None:
        model = current_model(model_path, lambda n: store.listings(limit=n), window=window, max_age=refresh, now=now)
    composed = []
    ranked = rank(
        corpus,
        due,
        top={p.name: p.top for p in due},
        min_score={p.name: p.min_score for p in due},
        skip=skip,
        model=model,
    )
    for profile, results in ranked:
        key = period[profile.name]
        scheduled = occurrence[profile.name]
        chosen = tuple((by_id[r.listing_id], r.score, r.why) for r in results)
        if dry_run:
            composed.append(ComposedDigest(profile, key, chosen, "would send" if chosen else "nothing new"))
            continue
        if not chosen and scheduled is None:
            composed.append(ComposedDigest(profile, key, (), "nothing new"))
            continue
        ids = store.create_digests(
            profile,
            key,
            [(item.id, score, why) for item, score, why in chosen],
            message_id=make_msgid(domain=message_domain),
            now=now,
            due_at=scheduled.due_at if scheduled else None,
            # A scheduled period with nothing left is still recorded: as an empty digest to send, or as handled.
            if_empty=("send" if profile.send_empty else "record") if scheduled else "drop",
        )
        kept = store.digest_listing_ids(ids[0]) if ids else []
        items = tuple(c for c in chosen if c[0].id in kept)
        if not ids:
            status = "nothing new"
        elif items or profile.send_empty:
            status = "created"
        else:
            status = "empty"
        composed.append(ComposedDigest(profile, key, items, status, tuple(ids)))
    return done + composed


def split_votes(votes: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """The listings voted 👍 and those voted 👎, from net votes (`Store.feedback_votes`)."""
    return [i for i, v in votes.items() if v > 0], [i for i, v in votes.items() if v < 0]


def with_feedback(profile: Profile, votes: dict[str, int]) -> Profile:
    """The profile with its 👍 papers added to its examples and its 👎 papers to its counter-examples."""
    up, down = split_votes(votes)
    likes = [i for i in dict.fromkeys(profile.likes + up) if votes.get(i, 0) >= 0]
    dislikes = [i for i in dict.fromkeys(profile.dislikes + down) if votes.get(i, 0) <= 0 and i not in likes]
    return replace(profile, likes=likes, dislikes=dislikes)


def _id(profile: Profile) -> int:
    if profile.id is None:
        raise ValueError(f"profile {profile.name!r} is not stored")
    return profile.id
