"""Every SQL statement the bot runs. Other rooms hand in and get back dataclasses from `bot.models`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.errors import InputError, ProfileError, StoreError
from bot.keys import normalise_title, title_hash
from bot.models import Digest, DigestItem, Listing, Profile
from bot.store import schema
from bot.store.schema import digest_items, digests, feedback, listings, profiles, sent_items, source_state, sources

_CHUNK = 500  # ids per IN (...) clause, well under SQLite's variable limit


class _NothingLeft(Exception):
    """Raised inside a transaction to roll it back when every candidate was already sent."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UpsertCounts:
    new: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class SourceState:
    name: str
    last_fetch_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    last_new: int | None
    validators: dict[str, dict[str, str | None]] | None = None


@dataclass(frozen=True)
class StoredSource:
    """A source added with `bot source add`: its kind's options and how often to fetch it."""

    name: str
    kind: str
    options: dict[str, Any]
    every: int | None
    created_at: datetime


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


def _insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT that supports ON CONFLICT, in the dialect of the connection (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")  # a second process waits instead of failing
            cur.close()

    return engine


class Store:
    """The database: listings, profiles, digests, what was sent, and each source's last fetch."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        try:
            with self.engine.begin() as conn:
                self.version = schema.migrate(conn)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open database {url}: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise if the database does not answer (for health checks)."""
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # listings -------------------------------------------------------------------------------

    def upsert_listings(self, items: Iterable[Listing], *, now: datetime | None = None) -> UpsertCounts:
        """Store new listings and enrich known ones, keeping the richest value of each field."""
        now = now or _now()
        incoming: dict[str, Listing] = {}
        for item in items:  # the same paper twice in one batch is merged first
            incoming[item.id] = _merge(incoming[item.id], item) if item.id in incoming else item
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self.engine.begin() as conn:
            existing = {row.id: _listing(row) for row in self._select_in(conn, listings, listings.c.id, incoming)}
            aliases = self._aliases(conn, [item for key, item in incoming.items() if key not in existing])
            for key, item in incoming.items():
                old = existing.get(key)
                if old is None and key in aliases:
                    # The paper is stored under another key: enrich that row (as this batch left it).
                    old = existing.get(aliases[key].id, aliases[key])
                    item = replace(item, id=old.id)
                merged = _merge(old, item) if old else item
                if old is not None and merged == old:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if old else "new"] += 1
                values = _listing_values(merged) | {"updated_at": now}
                stmt = _insert(conn, listings).values(**values, first_seen=now)
                conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
                existing[merged.id] = merged
        return UpsertCounts(**counts)

    def _aliases(self, conn: Connection, items: Sequence[Listing]) -> dict[str, Listing]:
        """Stored listings that are these new-keyed items under another key: same DOI, or same title.

        A title joins only when one side has no better key (a `title:` listing), so two arXiv papers
        that happen to share a title stay two, and only titles long enough to be specific count.
        """
        dois = {item.doi for item in items if item.doi}
        titles = {title_hash(item.title) for item in items if _specific(item.title)}
        by_doi: dict[str, Listing] = {}
        by_title: dict[str, list[Listing]] = {}
        for row in self._select_in(conn, listings, listings.c.doi, dois):
            by_doi.setdefault(row.doi, _listing(row))
        for row in self._select_in(conn, listings, listings.c.title_key, titles):
            by_title.setdefault(row.title_key, []).append(_listing(row))
        out = {}
        for item in items:
            if item.doi and item.doi in by_doi:
                out[item.id] = by_doi[item.doi]
                continue
            for candidate in by_title.get(title_hash(item.title), []) if _specific(item.title) else []:
                if item.id.startswith("title:") or candidate.id.startswith("title:"):
                    out[item.id] = candidate
                    break
        return out

    def listings(
        self, *, since: datetime | None = None, ids: Iterable[str] | None = None, limit: int | None = None
    ) -> list[Listing]:
        """Stored listings, newest first; `since` filters on when the bot first saw them, `limit` keeps the newest."""
        with self.engine.connect() as conn:
            if ids is not None:
                rows = self._select_in(conn, listings, listings.c.id, list(ids))
            else:
                query = sa.select(listings).order_by(listings.c.first_seen.desc(), listings.c.id)
                if since is not None:
                    query = query.where(listings.c.first_seen >= since)
                if limit is not None:
                    query = query.limit(limit)
                rows = conn.execute(query).all()
        return [_listing(row) for row in rows]

    def missing_listing_ids(self, ids: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(ids))
        with self.engine.connect() as conn:
            found = {row.id for row in self._select_in(conn, listings, listings.c.id, wanted, columns=[listings.c.id])}
        return [i for i in wanted if i not in found]

    @staticmethod
    def _select_in(
        conn: Connection,
        table: sa.Table,
        column: sa.Column[Any],
        values: Iterable[str],
        columns: Sequence[Any] | None = None,
    ) -> list[Any]:
        values = list(values)
        rows: list[Any] = []
        for start in range(0, len(values), _CHUNK):
            query = sa.select(*(columns or [table])).where(column.in_(values[start : start + _CHUNK]))
            rows.extend(conn.execute(query).all())
        return rows

    # profiles -------------------------------------------------------------------------------

    def add_profile(self, profile: Profile) -> Profile:
        now = _now()
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
        now = _now()
        values = _profile_values(profile) | {"updated_at": now}
        with self.engine.begin() as conn:
            stmt = _insert(conn, profiles).values(**values, created_at=now)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
        return self.profile(profile.name)

    def profile(self, name: str) -> Profile:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(profiles).where(profiles.c.name == name)).first()
        if row is None:
            raise ProfileError(f"no profile named {name!r} (see `bot profile list`)")
        return _profile(row)

    def profile_by_id(self, profile_id: int) -> Profile | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(profiles).where(profiles.c.id == profile_id)).first()
        return _profile(row) if row is not None else None

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
                .values(email_unsubscribed_at=now or _now(), updated_at=now or _now())
            )
        return result.rowcount == 1

    def profiles(self) -> list[Profile]:
        with self.engine.connect() as conn:
            return [_profile(row) for row in conn.execute(sa.select(profiles).order_by(profiles.c.name))]

    def remove_profile(self, name: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(profiles.delete().where(profiles.c.name == name)).rowcount == 0:
                raise ProfileError(f"no profile named {name!r} (see `bot profile list`)")

    # digests --------------------------------------------------------------------------------

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
        now = now or _now()
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
        assert profile.id is not None
        with self.engine.begin() as conn:
            created = []
            for channel in profile.channels:
                stmt = _insert(conn, digests).values(
                    profile_id=profile.id,
                    channel=channel,
                    period=period,
                    state="pending",
                    message_id=message_id if channel != "slack" else None,
                    created_at=now,
                    due_at=due_at,
                )
                stmt = stmt.on_conflict_do_nothing(index_elements=["profile_id", "channel", "period"])
                digest_id = conn.execute(stmt.returning(digests.c.id)).scalar()
                if digest_id is not None:
                    created.append(digest_id)
            if not created:
                return []
            claimed = set()
            for listing_id, _score, _why in items:
                stmt = _insert(conn, sent_items).values(
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
        assert profile.id is not None
        created = []
        with self.engine.begin() as conn:
            for channel in profile.channels:
                stmt = _insert(conn, digests).values(
                    profile_id=profile.id,
                    channel=channel,
                    period=period,
                    state="skipped",
                    last_error=reason,
                    created_at=now,
                    due_at=due_at,
                )
                stmt = stmt.on_conflict_do_nothing(index_elements=["profile_id", "channel", "period"])
                if (digest_id := conn.execute(stmt.returning(digests.c.id)).scalar()) is not None:
                    created.append(digest_id)
        return created

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
    ) -> list[Digest]:
        """Claim up to `limit` deliveries that are ready, for `lease`, in one atomic statement.

        Ready: pending, past any retry delay (unless `include_waiting`), and not leased, or leased by
        a process whose lease ran out (it died). Only ids above `after_id`, in id order, so one pass
        never claims a delivery twice. The claim counts as an attempt. Two processes never claim the
        same delivery: the conditions are checked again by the UPDATE itself, which the database
        serialises.
        """
        conditions = [
            digests.c.state == "pending",
            digests.c.id > after_id,
            sa.or_(digests.c.lease_until.is_(None), digests.c.lease_until < now),
        ]
        if not include_waiting:
            conditions.append(sa.or_(digests.c.next_attempt_at.is_(None), digests.c.next_attempt_at <= now))
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

    def requeue(self, digest_id: int, *, now: datetime | None = None) -> None:
        """Put a failed delivery back in the queue with a fresh count of attempts."""
        with self.engine.begin() as conn:
            state = conn.execute(sa.select(digests.c.state).where(digests.c.id == digest_id)).scalar()
            if state is None:
                raise StoreError(f"no delivery {digest_id} (see `bot status`)")
            if state != "failed":
                raise StoreError(f"delivery {digest_id} is {state}, not failed: nothing to retry")
            conn.execute(
                digests.update()
                .where(digests.c.id == digest_id)
                .values(state="pending", attempts=0, next_attempt_at=now or _now(), lease_owner=None, lease_until=None)
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
                    profile_cache[row.profile_id] = _profile(prow)
                item_rows = conn.execute(
                    sa.select(digest_items.c.score, digest_items.c.why, listings)
                    .join(listings, listings.c.id == digest_items.c.listing_id)
                    .where(digest_items.c.digest_id == row.id)
                    .order_by(digest_items.c.position)
                ).all()
                items = tuple(DigestItem(listing=_listing(r), score=r.score, why=tuple(r.why)) for r in item_rows)
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
                    sent_at=now or _now(),
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
        with self.engine.connect() as conn:
            count = (
                sa.select(sa.func.count()).select_from(digest_items).where(digest_items.c.digest_id == digests.c.id)
            ).scalar_subquery()
            rows = conn.execute(
                sa.select(digests, profiles.c.name.label("profile_name"), count.label("n_items"))
                .join(profiles, profiles.c.id == digests.c.profile_id)
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
            )
            for r in rows
        ]

    # feedback -------------------------------------------------------------------------------

    def record_feedback(
        self, profile: Profile, listing_id: str, vote: int, *, voter: str, via: str, now: datetime | None = None
    ) -> None:
        """Record one voter's 👍 (+1) or 👎 (-1); voting again replaces that voter's earlier vote."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        assert profile.id is not None
        if self.missing_listing_ids([listing_id]):
            raise ProfileError(f"unknown listing id {listing_id!r}: see `bot listings` for the ids")
        values = {"vote": vote, "via": via, "created_at": now or _now()}
        with self.engine.begin() as conn:
            stmt = _insert(conn, feedback).values(profile_id=profile.id, listing_id=listing_id, voter=voter, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["profile_id", "listing_id", "voter"], set_=values))

    def feedback_votes(self, profile: Profile) -> dict[str, int]:
        """Net vote per listing for the profile: above 0 liked, below 0 disliked."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(feedback.c.listing_id, sa.func.sum(feedback.c.vote))
                .where(feedback.c.profile_id == profile.id)
                .group_by(feedback.c.listing_id)
            ).all()
        return {listing_id: int(total) for listing_id, total in rows}

    # sources --------------------------------------------------------------------------------

    def record_fetch(
        self,
        name: str,
        *,
        outcome: str,
        error: str | None = None,
        new: int = 0,
        validators: dict[str, dict[str, str | None]] | None = None,
        now: datetime | None = None,
    ) -> None:
        """One fetch's outcome (ok, unchanged, failed); validators, when given, replace the kept ones."""
        values: dict[str, Any] = {
            "last_fetch_at": now or _now(),
            "last_outcome": outcome,
            "last_error": error,
            "last_new": new,
        }
        if validators is not None:  # a failed fetch keeps what the last good one learnt
            values["validators"] = validators
        with self.engine.begin() as conn:
            stmt = _insert(conn, source_state).values(name=name, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            return {r.name: SourceState(**r._mapping) for r in conn.execute(sa.select(source_state))}

    def add_source(
        self, name: str, kind: str, options: dict[str, Any], *, every: int | None = None, now: datetime | None = None
    ) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sources.insert().values(
                        name=name, kind=kind, options=options, every=every, created_at=now or _now()
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError(f"a source named {name!r} exists already (see `bot source list`)") from exc

    def stored_sources(self) -> list[StoredSource]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources).order_by(sources.c.name)).all()
        return [StoredSource(**r._mapping) for r in rows]

    def remove_source(self, name: str) -> None:
        """Forget a CLI-added source and its fetch state; its listings stay."""
        with self.engine.begin() as conn:
            if conn.execute(sources.delete().where(sources.c.name == name)).rowcount == 0:
                raise InputError(f"no source named {name!r} was added with `bot source add` (see `bot source list`)")
            conn.execute(source_state.delete().where(source_state.c.name == name))


def _merge(old: Listing, new: Listing) -> Listing:
    """Keep the richest value of each field: the longer text, the non-empty list, the larger vote count."""

    def longer(a: str | None, b: str | None) -> str | None:
        return b if len(b or "") > len(a or "") else a

    def larger(a: int | None, b: int | None) -> int | None:
        return a if b is None else b if a is None else max(a, b)

    return replace(
        old,
        title=old.title or new.title,
        abstract=longer(old.abstract, new.abstract) or "",
        authors=old.authors or new.authors,
        categories=tuple(dict.fromkeys(old.categories + new.categories)),
        url=old.url or new.url,
        source=old.source or new.source,
        published=old.published or new.published,
        upvotes=larger(old.upvotes, new.upvotes),
        doi=old.doi or new.doi,
        comments=larger(old.comments, new.comments),
        ai_summary=longer(old.ai_summary, new.ai_summary),
        github_repo=old.github_repo or new.github_repo,
        project_page=old.project_page or new.project_page,
    )


_SPECIFIC_TITLE_WORDS = 4  # "Introduction" or "Attention" alone could be many papers


def _specific(title: str) -> bool:
    return len(normalise_title(title).split()) >= _SPECIFIC_TITLE_WORDS


def _listing_values(item: Listing) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "title_key": title_hash(item.title),
        "doi": item.doi,
        "abstract": item.abstract,
        "authors": list(item.authors),
        "categories": list(item.categories),
        "url": item.url,
        "source": item.source,
        "published": item.published,
        "upvotes": item.upvotes,
        "comments": item.comments,
        "ai_summary": item.ai_summary,
        "github_repo": item.github_repo,
        "project_page": item.project_page,
    }


def _listing(row: Any) -> Listing:
    return Listing(
        id=row.id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(row.authors),
        categories=tuple(row.categories),
        url=row.url,
        source=row.source,
        published=row.published,
        upvotes=row.upvotes,
        doi=row.doi,
        comments=row.comments,
        ai_summary=row.ai_summary,
        github_repo=row.github_repo,
        project_page=row.project_page,
    )


_PROFILE_FIELDS = (
    "name",
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


def _profile(row: Any) -> Profile:
    values = {f: getattr(row, f) for f in _PROFILE_FIELDS}
    for f in ("keywords", "exclude", "likes", "dislikes", "authors"):
        values[f] = list(values[f])
    return Profile(**values, id=row.id, created_at=row.created_at)
