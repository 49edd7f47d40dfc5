"""The schema, as SQLAlchemy Core tables, and the migrations that bring an older file up to it.

A new database gets `metadata.create_all` and is stamped with `LATEST`; an existing one runs the
steps in `MIGRATIONS` from its version up. Each step upgrades version N-1 to N, so when a table
changes here, add the step that makes the same change to an existing file. Types are chosen so
the same DDL and statements work on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.errors import StoreError


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) too."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

listings = sa.Table(
    "listings",
    metadata,
    # arxiv:2403.09612, doi:10.1000/x or title:<hash>; see bot.keys.
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False, server_default=""),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("source", sa.String(100)),
    sa.Column("published", UTCDateTime),
    sa.Column("upvotes", sa.Integer),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_listings_first_seen", "first_seen"),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("exclude", sa.JSON, nullable=False),
    sa.Column("likes", sa.JSON, nullable=False),
    sa.Column("dislikes", sa.JSON, nullable=False),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("slack_channel", sa.Text),
    sa.Column("top", sa.Integer, nullable=False),
    sa.Column("min_score", sa.Float, nullable=False),
    sa.Column("schedule", sa.String(16), nullable=False),
    sa.Column("send_at", sa.String(5), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("trend", sa.Float, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    # The profile's local date (2026-11-27) or ISO week (2026-W48): one digest per channel and period.
    sa.Column("period", sa.String(16), nullable=False),
    # pending → sent | failed
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    # Created before the first attempt and reused on every retry, so a resent email is recognisably the same.
    sa.Column("message_id", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("receipt", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("profile_id", "channel", "period", name="uq_digests_profile_channel_period"),
    sa.Index("ix_digests_state", "state"),
)

digest_items = sa.Table(
    "digest_items",
    metadata,
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("listing_id", sa.String(200), sa.ForeignKey("listings.id"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("why", sa.JSON, nullable=False),
)

# What each profile has been given, whatever the channel or period: the guard against repeats.
sent_items = sa.Table(
    "sent_items",
    metadata,
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("listing_id", sa.String(200), sa.ForeignKey("listings.id"), primary_key=True),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
)

# 👍 / 👎 on a listing for a profile, one row per voter: a Slack user, an email reader, the CLI.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("listing_id", sa.String(200), sa.ForeignKey("listings.id"), primary_key=True),
    # Who voted: "cli", "email:<address>", "slack:<user id>"; a voter's later vote replaces the earlier one.
    sa.Column("voter", sa.String(200), primary_key=True),
    sa.Column("vote", sa.SmallInteger, nullable=False),  # +1 or -1
    sa.Column("via", sa.String(16), nullable=False),  # cli | email | slack
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("vote IN (-1, 1)", name="ck_feedback_vote"),
)

source_state = sa.Table(
    "source_state",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("last_fetch_at", UTCDateTime),
    sa.Column("last_outcome", sa.String(16)),
    sa.Column("last_error", sa.Text),
    sa.Column("last_new", sa.Integer),
)

Migration = Callable[[Connection], None]


def _add_profile_trend(conn: Connection) -> None:
    """2: profiles.trend, how much upvotes weigh in a profile's ranking (0 for every existing profile)."""
    conn.execute(sa.text("ALTER TABLE profiles ADD COLUMN trend FLOAT NOT NULL DEFAULT 0"))


# version → the step that upgrades version-1 to version. Version 1 is the first schema: nothing to add.
MIGRATIONS: Mapping[int, Migration] = {2: _add_profile_trend}
LATEST = 2


def migrate(conn: Connection, migrations: Mapping[int, Migration] = MIGRATIONS, latest: int = LATEST) -> int:
    """Create or upgrade the schema inside the caller's transaction; returns the version reached."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("schema_version"):
        if inspector.get_table_names():
            raise StoreError("the database has tables but no schema_version: it is not a bot database")
        metadata.create_all(conn)
        conn.execute(schema_version.insert().values(version=latest))
        return latest
    current = conn.execute(sa.select(schema_version.c.version)).scalar_one()
    if current > latest:
        raise StoreError(
            f"the database schema is version {current}, newer than this bot knows ({latest}); upgrade the bot"
        )
    for version in range(current + 1, latest + 1):
        migrations[version](conn)
        conn.execute(schema_version.update().values(version=version))
    return max(current, latest)
