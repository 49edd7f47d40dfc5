"""Source kinds, registered in one visible place: a new kind is one module and one entry here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import SourceError
from bot.sources.arxiv_api import ArxivApiSource
from bot.sources.arxiv_rss import ArxivRssSource
from bot.sources.base import NotModified, Source
from bot.sources.feed import FeedSource
from bot.sources.hf_daily import HfDailySource
from bot.sources.html import HtmlSource
from bot.sources.http import HttpClient, SourceHttp, Validators
from bot.sources.seed_page import SeedPageSource

SOURCE_KINDS: dict[str, type[Source]] = {
    SeedPageSource.kind: SeedPageSource,
    HfDailySource.kind: HfDailySource,
    ArxivApiSource.kind: ArxivApiSource,
    ArxivRssSource.kind: ArxivRssSource,
    FeedSource.kind: FeedSource,
    HtmlSource.kind: HtmlSource,
}


def make_source(name: str, kind: str, options: Mapping[str, Any]) -> Source:
    try:
        cls = SOURCE_KINDS[kind]
    except KeyError:
        raise SourceError(
            f"source {name!r}: unknown kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})"
        ) from None
    return cls(name, options)


__all__ = ["SOURCE_KINDS", "HttpClient", "NotModified", "Source", "SourceHttp", "Validators", "make_source"]
