"""Reading every configured source into the store. A broken source is reported and skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import SourceConfig
from bot.errors import SourceError
from bot.sources import make_source
from bot.store import Store


@dataclass(frozen=True)
class FetchResult:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None


def fetch_sources(store: Store, sources: Sequence[SourceConfig]) -> list[FetchResult]:
    """Fetch each source in turn; one failing never stops the others, and stores nothing of its own."""
    results = []
    for config in sources:
        try:
            listings = make_source(config.name, config.kind, config.options).fetch()
        except SourceError as exc:
            store.record_fetch(config.name, outcome="failed", error=str(exc))
            results.append(FetchResult(config.name, error=str(exc)))
            continue
        counts = store.upsert_listings(listings)
        store.record_fetch(config.name, outcome="ok", new=counts.new)
        results.append(FetchResult(config.name, new=counts.new, updated=counts.updated, unchanged=counts.unchanged))
    return results
