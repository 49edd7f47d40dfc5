"""Source kinds, registered in one visible place: a new kind is one module and one entry here.

Each kind is named by the path of its class and imported on first use, so a command that never
fetches (`bot --help`, `bot profile list`) does not pay for httpx, feedparser and BeautifulSoup.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from bot.errors import SourceError
from bot.sources.base import NotModified, Source

SOURCE_KINDS: dict[str, str] = {
    "seed_page": "bot.sources.seed_page:SeedPageSource",
    "hf_daily": "bot.sources.hf_daily:HfDailySource",
    "arxiv_api": "bot.sources.arxiv_api:ArxivApiSource",
    "arxiv_rss": "bot.sources.arxiv_rss:ArxivRssSource",
    "feed": "bot.sources.feed:FeedSource",
    "html": "bot.sources.html:HtmlSource",
}


def source_class(kind: str) -> type[Source]:
    """The class of a registered kind; KeyError for an unknown one."""
    module, _, name = SOURCE_KINDS[kind].partition(":")
    cls: type[Source] = getattr(importlib.import_module(module), name)
    return cls


def make_source(name: str, kind: str, options: Mapping[str, Any]) -> Source:
    if kind not in SOURCE_KINDS:
        raise SourceError(f"source {name!r}: unknown kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})")
    return source_class(kind)(name, options)


__all__ = ["SOURCE_KINDS", "NotModified", "Source", "make_source", "source_class"]
