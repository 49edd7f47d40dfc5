"""Choosing, per profile and period, the listings to send: the best ones it has not been sent yet.

Takes profiles and listings from the store, ranks them, and records each digest with its items in
one transaction; delivering it is `bot.flow.deliver`'s job, and formatting it `bot.render`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from bot.feedback import with_feedback
from bot.flow.periods import Occurrence, current_period, latest_due
from bot.flow.settings import Settings
from bot.models import Listing, Profile
from bot.store import Store

if TYPE_CHECKING:
    from bot.rank.model import TextModel


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
    candidates: int = 0  # how many listings it was chosen from (a dry run says it)


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
    settings: Settings,
    *,
    now: datetime,
    periods: Mapping[str, Occurrence] | None = None,
    dry_run: bool = False,
    ignore_composed: bool = False,
) -> list[ComposedDigest]:
    """Create a digest for each profile that has none yet for its period (a dry run creates nothing).

    `periods` gives each profile's scheduled period (from `due_periods`); without it, each profile's
    current period is used, as for a digest made by hand. A scheduled period with nothing new is
    recorded as "empty" (or sent as an empty digest when the profile asks for that), so the next
    tick does not rank it again; a digest made by hand with nothing new records nothing.
    `ignore_composed` (a preview) ranks a profile even when this period's digest exists already.
    """
    wanted = _wanted(profiles, periods, now)
    due = [w.profile for w in wanted.values() if w.profile.channels and (ignore_composed or not _composed(store, w))]
    done = _not_due([w for w in wanted.values() if w.profile not in due])
    if not due:
        return done
    chosen, candidates = choose(store, due, settings, now=now)
    if dry_run:
        return done + [_unrecorded(wanted[p.name], items, candidates) for p, items in chosen]
    return done + [_record(store, wanted[p.name], items, settings, now) for p, items in chosen]


def _unrecorded(wanted: _Wanted, chosen: Chosen, candidates: int) -> ComposedDigest:
    status = "would send" if chosen else "nothing new"
    return ComposedDigest(wanted.profile, wanted.period, chosen, status, candidates=candidates)


def _not_due(left: list[_Wanted]) -> list[ComposedDigest]:
    """Those with nowhere to go (told first), then those whose digest for the period is made."""
    gone = [ComposedDigest(w.profile, w.period, (), "unsubscribed") for w in left if not w.profile.channels]
    made = [ComposedDigest(w.profile, w.period, (), "already composed") for w in left if w.profile.channels]
    return gone + made


@dataclass(frozen=True)
class _Wanted:
    """A profile and the period its digest is for: the scheduled one, else the current one (by hand)."""

    profile: Profile
    scheduled: Occurrence | None
    period: str


def _wanted(profiles: Sequence[Profile], periods: Mapping[str, Occurrence] | None, now: datetime) -> dict[str, _Wanted]:
    """By name, each profile to compose and its period: the scheduled one if `periods` has any, else the current one."""
    if periods is None:
        return {p.name: _Wanted(p, None, current_period(p, now)) for p in profiles}
    return {p.name: _Wanted(p, periods[p.name], periods[p.name].period) for p in profiles if p.name in periods}


def _composed(store: Store, wanted: _Wanted) -> bool:
    return set(wanted.profile.channels) <= store.existing_channels(_id(wanted.profile), wanted.period)


Chosen = tuple[tuple[Listing, float, tuple[str, ...]], ...]


def choose(
    store: Store, profiles: Sequence[Profile], settings: Settings, *, now: datetime
) -> tuple[list[tuple[Profile, Chosen]], int]:
    """Each profile's best listings it has not been sent yet, and how many candidates there were.

    The profiles' feedback counts as example papers; the saved text model vectorizes (see `text_model`).
    """
    profiles = [with_feedback(p, store.feedback_votes(p)) for p in profiles]
    candidates = store.listings(since=now - timedelta(days=settings.max_age_days))
    known = {item.id for item in candidates}
    # Example papers may be older than the window: they shape the profile but are never candidates.
    examples = {i for p in profiles for i in p.likes + p.dislikes if i not in known}
    corpus = candidates + store.listings(ids=examples)
    skip = {p.name: store.sent_listing_ids(_id(p)) | examples for p in profiles}
    by_id = {item.id: item for item in corpus}

    from bot.rank import rank  # imports scikit-learn: only when there is something to rank

    ranked = rank(
        corpus,
        profiles,
        top={p.name: p.top for p in profiles},
        min_score={p.name: p.min_score for p in profiles},
        skip=skip,
        model=text_model(store, settings, now=now),
    )
    chosen = [(p, tuple((by_id[r.listing_id], r.score, r.why) for r in results)) for p, results in ranked]
    return chosen, len(candidates)


def text_model(store: Store, settings: Settings, *, now: datetime, force: bool = False) -> TextModel | None:
    """The fleet's text model: the newest version in the store (read from `model_path` when that file
    holds it), fitted again on the newest `window` listings when there is none, it is older than
    `refresh`, it was fitted by an older analyzer, or `force`d; None without a model path (or with
    nothing to fit on)."""
    if settings.model_path is None:
        return None
    seen = store.text_model_version()
    model = _stored_model(store, settings.model_path, seen)
    if model is not None and not force and not model.is_stale(now, settings.refresh):
        return model
    with store.refit_lock():
        newest = store.text_model_version()
        if newest != seen:  # another worker refitted while this one waited: use its model
            return _stored_model(store, settings.model_path, newest) or model
        return _refit(store, settings, settings.model_path, now=now) or model


def _stored_model(store: Store, cache: Path, version: int | None) -> TextModel | None:
    """That version of the model, from the cache file if it holds it, else from the store (and cached)."""
    from bot.rank.model import load_model, model_from_bytes, save_model

    if version is None:
        return None
    cached = load_model(cache)
    if cached is not None and cached.version == version:
        return cached
    stored = store.text_model(version)
    model = model_from_bytes(stored.data, stored.version) if stored is not None else None
    if model is not None:
        save_model(model, cache)
    return model


def _refit(store: Store, settings: Settings, cache: Path, *, now: datetime) -> TextModel | None:
    """Fit on the newest listings and store the model as the fleet's newest version."""
    from bot.rank.model import fit_if_any, model_bytes, save_model

    model = fit_if_any(store.listings(limit=settings.window), now=now)
    if model is None:
        return None
    version = store.save_text_model(model.fitted_at, model.documents, model_bytes(model))
    model = dataclasses.replace(model, version=version)
    save_model(model, cache)
    return model


def _record(store: Store, wanted: _Wanted, chosen: Chosen, settings: Settings, now: datetime) -> ComposedDigest:
    """Store the digest with its items in one transaction, and say what became of it."""
    profile, scheduled = wanted.profile, wanted.scheduled
    if not chosen and scheduled is None:
        return ComposedDigest(profile, wanted.period, (), "nothing new")
    ids = store.create_digests(
        profile,
        wanted.period,
        [(item.id, score, why) for item, score, why in chosen],
        message_id=make_msgid(domain=settings.message_domain),
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
    return ComposedDigest(profile, wanted.period, items, status, tuple(ids))


def _id(profile: Profile) -> int:
    if profile.id is None:
        raise ValueError(f"profile {profile.name!r} is not stored")
    return profile.id
