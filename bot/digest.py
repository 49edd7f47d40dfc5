"""Choosing, per profile and period, the listings to send: the best ones it has not been sent yet.

Takes profiles and listings from the store, ranks them, and records each digest with its items in
one transaction; delivering it is `bot.deliver`'s job, and formatting it `bot.render`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.models import Listing, Profile
from bot.store import Store


@dataclass(frozen=True)
class ComposedDigest:
    profile: Profile
    period: str
    items: tuple[tuple[Listing, float, tuple[str, ...]], ...]
    # "created", "would send" (dry run), "already composed" (this period has its digest) or "nothing new"
    status: str
    digest_ids: tuple[int, ...] = ()


def period_for(profile: Profile, now: datetime) -> str:
    """The profile's current period in its own time zone: a local date, or an ISO week for weekly digests."""
    local = now.astimezone(ZoneInfo(profile.tz))
    if profile.schedule == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.date().isoformat()


def compose_digests(
    store: Store,
    profiles: Sequence[Profile],
    *,
    now: datetime,
    max_age_days: int,
    message_domain: str = "localhost",
    dry_run: bool = False,
    model_path: Path | None = None,
    window: int = 50_000,
    refresh: timedelta = timedelta(days=7),
) -> list[ComposedDigest]:
    """Create this period's digest for each profile that has none yet (a dry run creates nothing).

    With `model_path`, listings are vectorized by the saved text model (fitted again on the newest
    `window` listings when it is missing or older than `refresh`); without it, on the candidates.
    """
    periods = {p.name: period_for(p, now) for p in profiles}
    due = [p for p in profiles if not set(p.channels) <= store.existing_channels(_id(p), periods[p.name])]
    done = [ComposedDigest(p, periods[p.name], (), "already composed") for p in profiles if p not in due]
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
        period = periods[profile.name]
        chosen = tuple((by_id[r.listing_id], r.score, r.why) for r in results)
        if not chosen:
            composed.append(ComposedDigest(profile, period, (), "nothing new"))
        elif dry_run:
            composed.append(ComposedDigest(profile, period, chosen, "would send"))
        else:
            ids = store.create_digests(
                profile,
                period,
                [(item.id, score, why) for item, score, why in chosen],
                message_id=make_msgid(domain=message_domain),
                now=now,
            )
            status = "created" if ids else "nothing new"
            composed.append(ComposedDigest(profile, period, chosen if ids else (), status, tuple(ids)))
    return done + composed


def with_feedback(profile: Profile, votes: dict[str, int]) -> Profile:
    """The profile with its 👍 papers added to its examples and its 👎 papers to its counter-examples."""
    up = [i for i, v in votes.items() if v > 0]
    down = [i for i, v in votes.items() if v < 0]
    likes = [i for i in dict.fromkeys(profile.likes + up) if votes.get(i, 0) >= 0]
    dislikes = [i for i in dict.fromkeys(profile.dislikes + down) if votes.get(i, 0) <= 0 and i not in likes]
    return replace(profile, likes=likes, dislikes=dislikes)


def _id(profile: Profile) -> int:
    if profile.id is None:
        raise ValueError(f"profile {profile.name!r} is not stored")
    return profile.id
