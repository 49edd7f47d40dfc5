"""Profiles, and the 👍 / 👎 feedback that shapes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.errors import ProfileError
from bot.models import Profile
from bot.store.base import StoreBase, dialect_insert, utc_now
from bot.store.schema import feedback, profiles


class ProfileStatements(StoreBase):
    def add_profile(self, profile: Profile) -> Profile:
        now = utc_now()
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    profiles.insert().values(**_profile_values(profile), created_at=now, updated_at=now)
                )
        except sa.exc.IntegrityError as exc:
            raise ProfileError(f"profile {profile.name!r} already exists; change it with `bot profile edit`") from exc
        return replace(profile, id=result.inserted_primary_key[0])

    def save_profile(self, profile: Profile) -> Profile:
        """Insert or replace the profile with this name."""
        now = utc_now()
        values = _profile_values(profile) | {"updated_at": now}
        with self.engine.begin() as conn:
            stmt = dialect_insert(conn, profiles).values(**values, created_at=now)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
        return self.profile(profile.name)

    def profile(self, name: str) -> Profile:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(profiles).where(profiles.c.name == name)).first()
        if row is None:
            raise ProfileError(f"no profile named {name!r} (see `bot profile list`)")
        return profile_from_row(row)

    def profile_by_id(self, profile_id: int) -> Profile | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(profiles).where(profiles.c.id == profile_id)).first()
        return profile_from_row(row) if row is not None else None

    def unsubscribe_email(self, profile_id: int, address: str, *, now: datetime | None = None) -> bool:
        """Stop email to `address` for the profile; False when it already had (or the address changed since)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                profiles.update()
                .where(
                    profiles.c.id == profile_id,
                    profiles.c.email == address,
                    profiles.c.email_unsubscribed_at.is_(None),
                )
                .values(email_unsubscribed_at=now or utc_now(), updated_at=now or utc_now())
            )
        return result.rowcount == 1

    def profiles(self) -> list[Profile]:
        with self.engine.connect() as conn:
            return [profile_from_row(row) for row in conn.execute(sa.select(profiles).order_by(profiles.c.name))]

    def remove_profile(self, name: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(profiles.delete().where(profiles.c.name == name)).rowcount == 0:
                raise ProfileError(f"no profile named {name!r} (see `bot profile list`)")

    def record_feedback(
        self, profile: Profile, listing_id: str, vote: int, *, voter: str, via: str, now: datetime | None = None
    ) -> None:
        """Record one voter's 👍 (+1) or 👎 (-1); voting again replaces that voter's earlier vote."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        assert profile.id is not None
        if self.missing_listing_ids([listing_id]):
            raise ProfileError(f"unknown listing id {listing_id!r}: see `bot listings` for the ids")
        values = {"vote": vote, "via": via, "created_at": now or utc_now()}
        with self.engine.begin() as conn:
            stmt = dialect_insert(conn, feedback).values(
                profile_id=profile.id, listing_id=listing_id, voter=voter, **values
            )
            conn.execute(stmt.on_conflict_do_update(index_elements=["profile_id", "listing_id", "voter"], set_=values))

    def vote_of(self, profile: Profile, listing_id: str, voter: str) -> int | None:
        """The voter's own vote on the listing for the profile (+1 or -1), or None before any."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(feedback.c.vote).where(
                    feedback.c.profile_id == profile.id,
                    feedback.c.listing_id == listing_id,
                    feedback.c.voter == voter,
                )
            ).scalar_one_or_none()

    def feedback_votes(self, profile: Profile) -> dict[str, int]:
        """Net vote per listing for the profile: above 0 liked, below 0 disliked."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(feedback.c.listing_id, sa.func.sum(feedback.c.vote))
                .where(feedback.c.profile_id == profile.id)
                .group_by(feedback.c.listing_id)
            ).all()
        return {listing_id: int(total) for listing_id, total in rows}


_PROFILE_FIELDS = (
    "name",
    "title",
    "keywords",
    "exclude",
    "likes",
    "dislikes",
    "authors",
    "email",
    "slack_channel",
    "email_unsubscribed_at",
    "top",
    "min_score",
    "schedule",
    "send_at",
    "tz",
    "weekday",
    "skip_weekends",
    "send_empty",
    "trend",
)


def _profile_values(profile: Profile) -> dict[str, Any]:
    return {f: getattr(profile, f) for f in _PROFILE_FIELDS}


def profile_from_row(row: Any) -> Profile:
    values = {f: getattr(row, f) for f in _PROFILE_FIELDS}
    for f in ("keywords", "exclude", "likes", "dislikes", "authors"):
        values[f] = list(values[f])
    return Profile(**values, id=row.id, created_at=row.created_at)
