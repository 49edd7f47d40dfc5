"""Every SQL statement the bot runs, gathered in one class; other rooms hand in and get back
dataclasses from `bot.models`. The statements live in one module per concern:

- `listings.py`: papers, merged across sources
- `profiles.py`: profiles and feedback
- `deliveries.py`: digests, leases, retries and what was sent
- `sources.py`: CLI-added sources and fetch state
- `textmodels.py`: the fitted text model every worker ranks with, and the lock to refit it
"""

from __future__ import annotations

from bot.store.deliveries import DeliveryStatements, DigestSummary
from bot.store.listings import ListingStatements, UpsertCounts
from bot.store.profiles import ProfileStatements
from bot.store.sources import SourceState, SourceStatements, StoredSource
from bot.store.textmodels import TextModelStatements


class Store(ListingStatements, ProfileStatements, DeliveryStatements, SourceStatements, TextModelStatements):
    """The database: listings, profiles, digests, what was sent, each source's last fetch, the text model."""


__all__ = ["DigestSummary", "SourceState", "Store", "StoredSource", "UpsertCounts"]
