"""The store: one SQLite file by default (any SQLAlchemy URL, PostgreSQL included), migrated on open."""

from bot.store.store import DigestSummary, SourceState, Store, StoredSource, UpsertCounts

__all__ = ["DigestSummary", "SourceState", "Store", "StoredSource", "UpsertCounts"]
