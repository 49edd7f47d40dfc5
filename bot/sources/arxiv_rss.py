"""`arxiv_rss`: arXiv's daily announcements for one or more categories (rss.arxiv.org).

Takes the RSS 2.0 (or Atom) bytes arXiv publishes around midnight US Eastern and hands on the
day's new papers: `new` and `cross` announcements are news, `replace` and `replace-cross` are new
versions of papers announced before and are left out. A weekend or holiday feed has no items:
that is a quiet day, not an error. feedparser reads the bytes after `parse_xml` has checked them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import feedparser

from bot.errors import SourceError
from bot.keys import arxiv_id, listing_key
from bot.models import Listing
from bot.sources.base import NotModified, Source
from bot.sources.common import parse_when, parse_xml
from bot.sources.http import SourceHttp
from bot.strings import one_line

RSS_URL = "https://rss.arxiv.org/rss/{categories}"
ABS_URL = "https://arxiv.org/abs/{id}"
NEWS = ("new", "cross")
# "arXiv:2604.22002v1 Announce Type: new \nAbstract: ..." — the abstract is what follows "Abstract:".
_ABSTRACT = re.compile(r"^.*?\bAbstract:\s*", re.DOTALL)


def parse_arxiv_rss(body: bytes, *, source: str = "arxiv_rss", announce_types: tuple[str, ...] = NEWS) -> list[Listing]:
    """The day's announcements whose type is in `announce_types`; [] for an empty (weekend) feed."""
    root = parse_xml(body, "an arXiv RSS feed")
    if root.tag not in ("rss", "{http://www.w3.org/2005/Atom}feed"):
        raise SourceError(f"expected an arXiv RSS feed, got <{root.tag.rpartition('}')[2]}>")
    feed = feedparser.parse(body)
    out = []
    for entry in feed.entries:
        kind = one_line(entry.get("arxiv_announce_type")).lower()
        if kind and kind not in announce_types:
            continue
        found = arxiv_id(entry.get("id", "")) or arxiv_id(entry.get("link", ""))
        title = one_line(entry.get("title"))
        if not found or not title:
            continue
        out.append(
            Listing(
                id=listing_key(title=title, arxiv=found),
                title=title,
                abstract=one_line(_ABSTRACT.sub("", entry.get("summary", ""), count=1)),
                authors=_authors(entry),
                categories=tuple(dict.fromkeys(t["term"] for t in entry.get("tags", []) if t.get("term"))),
                url=ABS_URL.format(id=found),
                source=source,
                published=parse_when(entry.get("published")),
            )
        )
    return out


def _authors(entry: Any) -> tuple[str, ...]:
    """arXiv puts every author in one dc:creator, comma-separated; split it into names."""
    names: list[str] = []
    for author in entry.get("authors", []):
        names += [one_line(n) for n in (author.get("name") or "").split(",") if one_line(n)]
    return tuple(names)


class ArxivRssSource(Source):
    kind = "arxiv_rss"
    options: ClassVar[Mapping[str, bool]] = {"categories": False, "url": False, "announce_types": False}
    default_interval = 24 * 3600  # rebuilt once a day
    min_interval = 3.0

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        if not self.config.get("url") and not self._strings("categories"):
            raise SourceError(f"source {name!r} (arxiv_rss): give categories (e.g. cs.CL) or a url")

    def fetch(self, http: SourceHttp) -> list[Listing]:
        url = self.config.get("url") or RSS_URL.format(categories="+".join(self._strings("categories")))
        types = tuple(t.lower() for t in self._strings("announce_types")) or NEWS
        response = http.get(url, conditional=True)
        if response.not_modified:
            raise NotModified
        try:
            return parse_arxiv_rss(response.body, source=self.name, announce_types=types)
        except SourceError as exc:
            raise SourceError(f"{response.url}: {exc}") from None
