"""Source kinds, registered in one visible place: a new kind is one module and one entry here.

Each kind is named by the path of its class and imported on first use, so a command that never
fetches (`bot --help`, `bot profile list`) does not pay for httpx, feedparser and BeautifulSoup.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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


# What a reader sees for a source of each kind when its config gives no `display_title`.
KIND_TITLES = {
    "seed_page": "Hugging Face Daily Papers",
    "hf_daily": "Hugging Face Daily Papers",
    "arxiv_api": "arXiv",
    "arxiv_rss": "arXiv",
    "feed": "a feed",
    "html": "a web page",
}


def source_title(kind: str, options: Mapping[str, Any], title: str | None = None) -> str:
    """The name readers see: the given title, else one made from the kind ("arXiv cs.LG, cs.CL",
    "Hugging Face Daily Papers") or, for a feed or page, its site ("example.org")."""
    if title:
        return title
    if options.get("preset") == "hf_papers":
        return KIND_TITLES["hf_daily"]
    categories = options.get("categories") or []
    if isinstance(categories, str):
        categories = categories.replace(",", " ").split()
    if kind.startswith("arxiv") and categories:
        return f"arXiv {', '.join(str(c) for c in categories[:3])}"
    if kind in ("feed", "html") and isinstance(options.get("url"), str):
        return urlsplit(options["url"]).hostname or KIND_TITLES[kind]
    return KIND_TITLES.get(kind, "a source")


def make_source(name: str, kind: str, options: Mapping[str, Any]) -> Source:
    if kind not in SOURCE_KINDS:
        raise SourceError(f"source {name!r}: unknown kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})")
    return source_class(kind)(name, options)


__all__ = ["SOURCE_KINDS", "NotModified", "Source", "make_source", "source_class", "source_title"]
