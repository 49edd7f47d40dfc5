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
from bot.keys import title_hash


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
    # A paper keyed by its arXiv id is found again by its DOI or its normalised title (bot.keys.title_hash)
    # when another source knows only those.
    sa.Column("doi", sa.String(200), index=True),
    sa.Column("title_key", sa.String(16), index=True),
    sa.Column("comments", sa.Integer),
    sa.Column("ai_summary", sa.Text),
    sa.Column("github_repo", sa.Text),
    sa.Column("project_page", sa.Text),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_listings_first_seen", "first_seen"),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    # What readers see instead of the name; NULL: made from the keywords (Profile.display_title).
    sa.Column("title", sa.String(200)),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("exclude", sa.JSON, nullable=False),
    sa.Column("likes", sa.JSON, nullable=False),
    sa.Column("dislikes", sa.JSON, nullable=False),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("slack_channel", sa.Text),
    # When the address followed an unsubscribe link; it then gets no email until it is set again.
    sa.Column("email_unsubscribed_at", UTCDateTime),
    sa.Column("top", sa.Integer, nullable=False),
    sa.Column("min_score", sa.Float, nullable=False),
    sa.Column("schedule", sa.String(16), nullable=False),
    sa.Column("send_at", sa.String(5), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("weekday", sa.String(3), nullable=False, server_default="mon"),  # weekly digests go out on this day
    sa.Column("skip_weekends", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("send_empty", sa.Boolean, nullable=False, server_default=sa.false()),
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
    # pending → sent | failed; skipped (its send time passed too long ago) and empty (nothing to send)
    # are recorded so the period counts as handled.
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("due_at", UTCDateTime),  # the scheduled send time; null for a digest made by hand
    sa.Column("next_attempt_at", UTCDateTime),  # after a temporary failure: not before this
    # A claim: the process sending it and until when. An expired lease (the process died) lets
    # another process claim the delivery again.
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
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
    # {url: {"etag": ..., "last_modified": ...}} from the last good fetch, for conditional GETs.
    sa.Column("validators", sa.JSON),
)

# Sources added with `bot source add`; config/bot.toml's [[sources]] are not copied here, and win
# when a name is in both.
sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("every", sa.Integer),  # seconds between fetches; NULL means the kind's default
    sa.Column("title", sa.String(200)),  # what readers see; NULL: made from the kind and its options
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The fitted text model the whole fleet ranks with: the newest version is the one in use, older ones are
# deleted when a new one is stored. A worker's `[rank] model_path` caches the version it last loaded.
text_models = sa.Table(
    "text_models",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fitted_at", UTCDateTime, nullable=False),
    sa.Column("documents", sa.Integer, nullable=False),
    sa.Column("model", sa.LargeBinary, nullable=False),  # joblib's bytes of the TextModel (bytea / BLOB)
)

Migration = Callable[[Connection], None]


def _v2_schedules_and_leases(conn: Connection) -> None:
    """Weekly weekday, weekend skipping and empty digests per profile; due times, retries and leases."""
    for statement in (
        "ALTER TABLE profiles ADD COLUMN weekday VARCHAR(3) NOT NULL DEFAULT 'mon'",
        "ALTER TABLE profiles ADD COLUMN skip_weekends BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE profiles ADD COLUMN send_empty BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE digests ADD COLUMN due_at TIMESTAMP",
        "ALTER TABLE digests ADD COLUMN next_attempt_at TIMESTAMP",
        "ALTER TABLE digests ADD COLUMN lease_owner VARCHAR(100)",
        "ALTER TABLE digests ADD COLUMN lease_until TIMESTAMP",
    ):
        conn.execute(sa.text(statement))


def _v3_email_unsubscribed_at(conn: Connection) -> None:
    """One-click unsubscribe from email digests."""
    column_type = UTCDateTime().compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE profiles ADD COLUMN email_unsubscribed_at {column_type}"))


def _add_columns(conn: Connection, table: sa.Table, *names: str) -> None:
    """ALTER TABLE ... ADD COLUMN for columns already declared above, typed for the connection's dialect."""
    for name in names:
        column = table.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def _v4_sources(conn: Connection) -> None:
    """Real sources: richer listings (Hugging Face), conditional GET validators, CLI-added sources."""
    _add_columns(conn, listings, "doi", "title_key", "comments", "ai_summary", "github_repo", "project_page")
    for index in listings.indexes:
        if index.name in ("ix_listings_doi", "ix_listings_title_key"):
            index.create(conn)
    for row in conn.execute(sa.select(listings.c.id, listings.c.title)).all():
        conn.execute(listings.update().where(listings.c.id == row.id).values(title_key=title_hash(row.title)))
    _add_columns(conn, source_state, "validators")
    sources.create(conn)


def _v5_profile_trend(conn: Connection) -> None:
    """profiles.trend, how much upvotes weigh in a profile's ranking (0 for every existing profile)."""
    conn.execute(sa.text("ALTER TABLE profiles ADD COLUMN trend FLOAT NOT NULL DEFAULT 0"))


def _v6_text_models(conn: Connection) -> None:
    """The text model is stored in the database, so every worker ranks with the same one."""
    text_models.create(conn)


# The key of the PostgreSQL advisory lock held while migrating (any constant of the bot's own: "bot-mig").
MIGRATION_LOCK = 0x626F742D6D6967


def _v7_display_titles(conn: Connection) -> None:
    """Profiles and CLI-added sources get a title for readers (NULL: made from keywords or kind)."""
    _add_columns(conn, profiles, "title")
    # A database that was version 3 or older got `sources` from step 4, which makes today's table.
    if "title" not in {c["name"] for c in sa.inspect(conn).get_columns("sources")}:
        _add_columns(conn, sources, "title")


# version → the step that upgrades version-1 to version. Version 1 is the first schema.
MIGRATIONS: Mapping[int, Migration] = {
    2: _v2_schedules_and_leases,
    3: _v3_email_unsubscribed_at,
    4: _v4_sources,
    5: _v5_profile_trend,
    6: _v6_text_models,
    7: _v7_display_titles,
}
LATEST = 7


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
