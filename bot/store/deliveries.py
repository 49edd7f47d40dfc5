"""Digests and their deliveries: composed once per profile, channel and period; claimed with a
lease, sent, retried or failed; and what each profile has been sent, so nothing goes twice."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.errors import StoreError
from bot.models import Digest, DigestItem, Profile
from bot.store.base import IN_CHUNK, StoreBase, dialect_insert, utc_now
from bot.store.listings import listing_from_row
from bot.store.profiles import profile_from_row
from bot.store.schema import digest_items, digests, listings, profiles, sent_items


class _NothingLeft(Exception):
    """Raised inside a transaction to roll it back when every candidate was already sent."""


@dataclass(frozen=True)
class DigestSummary:
    id: int
    profile: str
    channel: str
    period: str
    state: str
    items: int
    attempts: int
    last_error: str | None
    receipt: str | None
    lease_until: datetime | None = None  # while a process holds it (or held it, if it died)
    next_attempt_at: datetime | None = None  # after a temporary failure: not tried again before this


def _insert_digests(
    conn: Connection,
    profile: Profile,
    period: str,
    *,
    message_id: Callable[[str], str | None] | None = None,
    **values: Any,
) -> list[int]:
    """One digest row per channel of the profile for this period, unless it exists; the ids created."""
    assert profile.id is not None
    created = []
    for channel in profile.channels:
        row = {"profile_id": profile.id, "channel": channel, "period": period, **values}
        if message_id is not None:
            row["message_id"] = message_id(channel)
        stmt = dialect_insert(conn, digests).values(**row)
        stmt = stmt.on_conflict_do_nothing(index_elements=["profile_id", "channel", "period"])
        if (digest_id := conn.execute(stmt.returning(digests.c.id)).scalar()) is not None:
            created.append(digest_id)
    return created


class DeliveryStatements(StoreBase):
    def sent_listing_ids(self, profile_id: int) -> set[str]:
        with self.engine.connect() as conn:
            query = sa.select(sent_items.c.listing_id).where(sent_items.c.profile_id == profile_id)
            return set(conn.execute(query).scalars())

    def existing_channels(self, profile_id: int, period: str) -> set[str]:
        with self.engine.connect() as conn:
            query = sa.select(digests.c.channel).where(digests.c.profile_id == profile_id, digests.c.period == period)
            return set(conn.execute(query).scalars())

    def create_digests(
        self,
        profile: Profile,
        period: str,
        items: Sequence[tuple[str, float, Sequence[str]]],
        *,
        message_id: str | None = None,
        now: datetime | None = None,
        due_at: datetime | None = None,
        if_empty: str = "drop",
    ) -> list[int]:
        """Create this period's digest on each of the profile's channels, all or nothing.

        The listings are claimed in `sent_items` first; one already claimed (by an earlier digest, or
        by another process a moment ago) is left out, so the database itself forbids a repeat.
        When nothing is left, `if_empty` decides: "drop" creates nothing, "record" stores the digests
        as state "empty" (the period is handled, nothing is sent), "send" stores them to be sent.
        Returns the ids of the digests created: none when they exist already or were dropped.
        """
        if if_empty not in ("drop", "record", "send"):
            raise ValueError(f"if_empty must be drop, record or send, not {if_empty!r}")
        now = now or utc_now()
        try:
            return self._create_digests(profile, period, items, message_id, now, due_at, if_empty)
        except _NothingLeft:
            return []

    def _create_digests(
        self,
        profile: Profile,
        period: str,
        items: Sequence[tuple[str, float, Sequence[str]]],
        message_id: str | None,
        now: datetime,
        due_at: datetime | None,
        if_empty: str,
    ) -> list[int]:
        with self.engine.begin() as conn:
            # Slack messages carry their digest id in metadata; a Message-ID is an email's.
            created = _insert_digests(
                conn,
                profile,
                period,
                state="pending",
                created_at=now,
                due_at=due_at,
                message_id=lambda channel: message_id if channel != "slack" else None,
            )
            if not created:
                return []
            claimed = set()
            for listing_id, _score, _why in items:
                stmt = dialect_insert(conn, sent_items).values(
                    profile_id=profile.id, listing_id=listing_id, period=period, sent_at=now
                )
                stmt = stmt.on_conflict_do_nothing(index_elements=["profile_id", "listing_id"])
                if conn.execute(stmt.returning(sent_items.c.listing_id)).scalar() is not None:
                    claimed.add(listing_id)
            kept = [item for item in items if item[0] in claimed]
            if not kept:
                if if_empty == "drop":
                    raise _NothingLeft  # roll the new digest rows back
                if if_empty == "record":
                    conn.execute(digests.update().where(digests.c.id.in_(created)).values(state="empty"))
                return created
            conn.execute(
                digest_items.insert(),
                [
                    {"digest_id": d, "position": pos, "listing_id": lid, "score": float(score), "why": list(why)}
                    for d in created
                    for pos, (lid, score, why) in enumerate(kept)
                ],
            )
        return created

    def digest_listing_ids(self, digest_id: int) -> list[str]:
        with self.engine.connect() as conn:
            query = (
                sa.select(digest_items.c.listing_id)
                .where(digest_items.c.digest_id == digest_id)
                .order_by(digest_items.c.position)
            )
            return list(conn.execute(query).scalars())

    def record_skipped(
        self, profile: Profile, period: str, reason: str, *, due_at: datetime, now: datetime
    ) -> list[int]:
        """Record that this period's digest was not sent, and why; the period then counts as handled."""
        with self.engine.begin() as conn:
            return _insert_digests(
                conn, profile, period, state="skipped", last_error=reason, created_at=now, due_at=due_at
            )

    def claim_deliveries(
        self,
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        after_id: int = 0,
        profile: str | None = None,
        include_waiting: bool = False,
        skip_channels: Collection[str] = (),
    ) -> list[Digest]:
        """Claim up to `limit` deliveries that are ready, for `lease`, in one atomic statement.

        Ready: pending, past any retry delay (unless `include_waiting`), and not leased, or leased by
        a process whose lease ran out (it died). Only ids above `after_id`, in id order, so one pass
        never claims a delivery twice; none through `skip_channels` (found unreachable). The claim
        counts as an attempt. Two processes never claim the same delivery: the conditions are
        checked again by the UPDATE itself, which the database serialises.
        """
        conditions = [
            digests.c.state == "pending",
            digests.c.id > after_id,
            sa.or_(digests.c.lease_until.is_(None), digests.c.lease_until < now),
        ]
        if not include_waiting:
            conditions.append(sa.or_(digests.c.next_attempt_at.is_(None), digests.c.next_attempt_at <= now))
        if skip_channels:
            conditions.append(digests.c.channel.not_in(list(skip_channels)))
        ready = sa.and_(*conditions)
        candidates = sa.select(digests.c.id).where(ready).order_by(digests.c.id).limit(limit)
        if profile is not None:
            candidates = candidates.join(profiles, profiles.c.id == digests.c.profile_id).where(
                profiles.c.name == profile
            )
        with self.engine.begin() as conn:
            claimed = (
                conn.execute(
                    digests.update()
                    .where(digests.c.id.in_(candidates.scalar_subquery()), ready)
                    .values(lease_owner=owner, lease_until=now + lease, attempts=digests.c.attempts + 1)
                    .returning(digests.c.id)
                )
                .scalars()
                .all()
            )
        return self._digests(sorted(claimed))

    def renew_lease(self, digest_id: int, owner: str, *, now: datetime, lease: timedelta) -> bool:
        """Extend this owner's claim on a pending delivery; False if the claim is no longer its own."""
        with self.engine.begin() as conn:
            result = conn.execute(
                digests.update()
                .where(digests.c.id == digest_id, digests.c.lease_owner == owner, digests.c.state == "pending")
                .values(lease_until=now + lease)
            )
        return result.rowcount == 1

    def release(self, digest_ids: Sequence[int], owner: str) -> None:
        """Give back claimed deliveries that were not attempted (the process is stopping)."""
        if not digest_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                digests.update()
                .where(digests.c.id.in_(list(digest_ids)), digests.c.lease_owner == owner, digests.c.state == "pending")
                .values(lease_owner=None, lease_until=None, attempts=digests.c.attempts - 1)
            )

    def requeue(self, digest_id: int) -> None:
        """Put a failed delivery back in the queue, ready at once, with a fresh count of attempts."""
        with self.engine.begin() as conn:
            state = conn.execute(sa.select(digests.c.state).where(digests.c.id == digest_id)).scalar()
            if state is None:
                raise StoreError(f"no delivery {digest_id} (see `bot status`)")
            if state != "failed":
                raise StoreError(f"delivery {digest_id} is {state}, not failed: nothing to retry")
            conn.execute(
                digests.update()
                .where(digests.c.id == digest_id)
                .values(state="pending", attempts=0, next_attempt_at=None, lease_owner=None, lease_until=None)
            )

    def pending_digests(self, *, profile: str | None = None) -> list[Digest]:
        """Digests created but not yet delivered, oldest first, with their items and listings."""
        query = (
            sa.select(digests.c.id)
            .join(profiles, profiles.c.id == digests.c.profile_id)
            .where(digests.c.state == "pending")
            .order_by(digests.c.id)
        )
        if profile is not None:
            query = query.where(profiles.c.name == profile)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return self._digests(ids)

    def sent_digest(self, digest_id: int) -> Digest | None:
        """The digest with this id as it was sent, or None when there is none or it was not sent."""
        with self.engine.connect() as conn:
            state = conn.execute(sa.select(digests.c.state).where(digests.c.id == digest_id)).scalar()
        return self._digests([digest_id])[0] if state == "sent" else None

    def _digests(self, ids: Sequence[int]) -> list[Digest]:
        """The digests with these ids, in this order, with their profiles, items and listings."""
        with self.engine.connect() as conn:
            by_id = {row.id: row for row in self._select_in(conn, digests, digests.c.id, ids)}
            rows = [by_id[i] for i in ids if i in by_id]
            out = []
            profile_cache: dict[int, Profile] = {}
            for row in rows:
                if row.profile_id not in profile_cache:
                    prow = conn.execute(sa.select(profiles).where(profiles.c.id == row.profile_id)).one()
                    profile_cache[row.profile_id] = profile_from_row(prow)
                item_rows = conn.execute(
                    sa.select(digest_items.c.score, digest_items.c.why, listings)
                    .join(listings, listings.c.id == digest_items.c.listing_id)
                    .where(digest_items.c.digest_id == row.id)
                    .order_by(digest_items.c.position)
                ).all()
                items = tuple(
                    DigestItem(listing=listing_from_row(r), score=r.score, why=tuple(r.why)) for r in item_rows
                )
                out.append(
                    Digest(
                        id=row.id,
                        profile=profile_cache[row.profile_id],
                        channel=row.channel,
                        period=row.period,
                        items=items,
                        message_id=row.message_id,
                        created_at=row.created_at,
                        attempts=row.attempts,
                    )
                )
        return out

    def mark_sent(self, digest_id: int, receipt: str, *, now: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                digests.update()
                .where(digests.c.id == digest_id)
                .values(
                    state="sent",
                    receipt=receipt,
                    sent_at=now or utc_now(),
                    last_error=None,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def record_failure(self, digest_id: int, error: str, *, retry_at: datetime | None) -> None:
        """A failed attempt: with `retry_at` the delivery waits until then, without it it has failed."""
        values: dict[str, Any] = {"last_error": error, "lease_owner": None, "lease_until": None}
        if retry_at is None:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as conn:
            conn.execute(digests.update().where(digests.c.id == digest_id).values(**values))

    def digest_summaries(self) -> list[DigestSummary]:
        return self._summaries(sa.true())

    def period_summaries(self, periods: Mapping[int, str]) -> list[DigestSummary]:
        """The digests of these profiles for these periods (profile id → period), on every channel."""
        pairs = list(periods.items())
        found: list[DigestSummary] = []
        for start in range(0, len(pairs), IN_CHUNK):
            chunk = pairs[start : start + IN_CHUNK]
            found += self._summaries(sa.tuple_(digests.c.profile_id, digests.c.period).in_(chunk))
        return found

    def _summaries(self, where: sa.ColumnElement[bool]) -> list[DigestSummary]:
        with self.engine.connect() as conn:
            count = (
                sa.select(sa.func.count()).select_from(digest_items).where(digest_items.c.digest_id == digests.c.id)
            ).scalar_subquery()
            rows = conn.execute(
                sa.select(digests, profiles.c.name.label("profile_name"), count.label("n_items"))
                .join(profiles, profiles.c.id == digests.c.profile_id)
                .where(where)
                .order_by(digests.c.id)
            ).all()
        return [
            DigestSummary(
                id=r.id,
                profile=r.profile_name,
                channel=r.channel,
                period=r.period,
                state=r.state,
                items=r.n_items,
                attempts=r.attempts,
                last_error=r.last_error,
                receipt=r.receipt,
                lease_until=r.lease_until,
                next_attempt_at=r.next_attempt_at,
            )
            for r in rows
        ]
