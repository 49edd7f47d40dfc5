"""Listings: one row per paper, found again by id, DOI or title, and enriched rather than repeated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.keys import normalise_title, title_hash
from bot.models import Listing
from bot.store.base import StoreBase, dialect_insert, utc_now
from bot.store.schema import listings


@dataclass(frozen=True)
class UpsertCounts:
    new: int
    updated: int
    unchanged: int


class ListingStatements(StoreBase):
    def upsert_listings(self, items: Iterable[Listing], *, now: datetime | None = None) -> UpsertCounts:
        """Store new listings and enrich known ones, keeping the richest value of each field."""
        now = now or utc_now()
        incoming: dict[str, Listing] = {}
        for item in items:  # the same paper twice in one batch is merged first
            incoming[item.id] = _merge(incoming[item.id], item) if item.id in incoming else item
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self.engine.begin() as conn:
            existing = {
                row.id: listing_from_row(row) for row in self._select_in(conn, listings, listings.c.id, incoming)
            }
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
                stmt = dialect_insert(conn, listings).values(**values, first_seen=now)
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
            by_doi.setdefault(row.doi, listing_from_row(row))
        for row in self._select_in(conn, listings, listings.c.title_key, titles):
            by_title.setdefault(row.title_key, []).append(listing_from_row(row))
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
        """Stored listings, newest first; `since` filters on when the bot first saw them, `limit` keeps the newest.

        One fetch stores a whole page at one `first_seen`: within it the newest publication comes
        first, and an arXiv id, numbered in order of submission, breaks the remaining ties."""
        with self.engine.connect() as conn:
            if ids is not None:
                rows = self._select_in(conn, listings, listings.c.id, list(ids))
            else:
                query = sa.select(listings).order_by(
                    listings.c.first_seen.desc(), listings.c.published.desc().nulls_last(), listings.c.id.desc()
                )
                if since is not None:
                    query = query.where(listings.c.first_seen >= since)
                if limit is not None:
                    query = query.limit(limit)
                rows = conn.execute(query).all()
        return [listing_from_row(row) for row in rows]

    def missing_listing_ids(self, ids: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(ids))
        with self.engine.connect() as conn:
            found = {row.id for row in self._select_in(conn, listings, listings.c.id, wanted, columns=[listings.c.id])}
        return [i for i in wanted if i not in found]


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


def listing_from_row(row: Any) -> Listing:
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
