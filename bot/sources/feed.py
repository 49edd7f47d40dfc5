"""`feed`: any RSS or Atom feed (a journal's table of contents, a lab blog, a preprint server).

Takes the bytes the shared client fetched, checks them with `parse_xml` (no entities, no HTML
error page), and lets feedparser read them; feedparser is never given a URL, so it never fetches
by itself. Hands on one listing per entry, keyed by the arXiv id or DOI it names, else its title.
"""

from __future__ import annotations

import re
from calendar import timegm
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import feedparser
from bs4 import BeautifulSoup

from bot.errors import SourceError
from bot.keys import arxiv_id, listing_key, normalise_doi
from bot.models import Listing
from bot.sources.base import NotModified, Source
from bot.sources.common import parse_xml
from bot.sources.http import SourceHttp
from bot.strings import one_line

_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
_ARXIV_HOSTS = ("arxiv.org", "www.arxiv.org", "export.arxiv.org", "huggingface.co")


def parse_feed(body: bytes, *, source: str = "feed") -> list[Listing]:
    """The entries of an RSS 0.9x/1.0/2.0 or Atom feed; [] for a feed with none."""
    root = parse_xml(body, "an RSS or Atom feed")
    if root.tag.rpartition("}")[2] not in ("rss", "feed", "RDF"):
        raise SourceError(f"expected an RSS or Atom feed, got <{root.tag.rpartition('}')[2]}>")
    feed = feedparser.parse(body)
    out = []
    for entry in feed.entries:
        title = one_line(entry.get("title"))
        if not title:
            continue
        link = entry.get("link") or ""
        doi = _doi(entry)
        out.append(
            Listing(
                id=listing_key(title=title, arxiv=_arxiv(entry), doi=doi),
                doi=normalise_doi(doi) if doi else None,
                title=title,
                abstract=_plain(entry.get("summary", "")),
                authors=tuple(n for a in entry.get("authors", []) if (n := one_line(a.get("name")))),
                categories=tuple(dict.fromkeys(t["term"] for t in entry.get("tags", []) if t.get("term"))),
                url=link if urlsplit(link).scheme in ("http", "https") else None,
                source=source,
                published=_when(entry),
            )
        )
    return out


def _arxiv(entry: Any) -> str | None:
    """An arXiv id only where the entry points at arXiv (or the HF paper page), not any digits."""
    for value in (entry.get("id", ""), entry.get("link", "")):
        points_at_arxiv = value.startswith("oai:arXiv.org:") or urlsplit(value).hostname in _ARXIV_HOSTS
        if points_at_arxiv and (found := arxiv_id(value)):
            return found
    return None


def _doi(entry: Any) -> str | None:
    for value in (entry.get("prism_doi"), entry.get("dc_identifier"), entry.get("id"), entry.get("link")):
        if not isinstance(value, str):
            continue
        names_doi = value.lower().startswith("doi:") or "doi.org/" in value or value.startswith("10.")
        if names_doi and (match := _DOI.search(value)):
            return match.group(1)
    return None


def _plain(html: str) -> str:
    """feedparser has sanitised the summary's HTML; a digest wants its text."""
    if "<" not in html:
        return one_line(html)
    return one_line(BeautifulSoup(html, "html.parser").get_text(" "))


def _when(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(timegm(parsed), UTC) if parsed else None


class FeedSource(Source):
    kind = "feed"
    options: ClassVar[Mapping[str, bool]] = {"url": True}

    def fetch(self, http: SourceHttp) -> list[Listing]:
        response = http.get(
            self.config["url"],
            conditional=True,
            accept="application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5",
        )
        if response.not_modified:
            raise NotModified
        try:
            return parse_feed(response.body, source=self.name)
        except SourceError as exc:
            raise SourceError(f"{response.url}: {exc}") from None
