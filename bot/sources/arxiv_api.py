"""`arxiv_api`: the arXiv API (export.arxiv.org/api/query), a search query and/or categories.

Takes the Atom the API answers, in both serialisations seen on the wire (the pre-2025 one with
per-element namespace declarations and hard-wrapped summaries, and the current one), and hands on
one listing per entry keyed by the arXiv id without its version. Pages are fetched newest first,
at most one request every 3 seconds, as arXiv's terms of use ask, until a page brings no paper
not seen on an earlier one. The API reports errors (a bad
query, say) as a feed with one entry titled "Error": that becomes a SourceError with arXiv's reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

from bot.errors import SourceError
from bot.keys import arxiv_id, listing_key, normalise_doi
from bot.models import Listing
from bot.sources.base import NotModified, Source
from bot.sources.common import parse_when, parse_xml
from bot.sources.http import SourceHttp
from bot.strings import one_line

API_URL = "https://export.arxiv.org/api/query"
ABS_URL = "https://arxiv.org/abs/{id}"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# arXiv categories (cs.CL, hep-th, q-bio.NC); entries also carry MSC or ACM codes ("53C25, 53A30",
# "I.2.7") as <category>, which are not arXiv categories and would pollute a profile's matches.
_CATEGORY = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")


class ArxivApiError(SourceError):
    """arXiv answered with its own error entry (a malformed query or id)."""


@dataclass(frozen=True)
class ArxivPage:
    listings: list[Listing]
    total: int | None
    entries: int


def _text(element: Element | None) -> str:
    # itertext, not .text: markup inside an element must not cut its text short.
    return one_line("".join(element.itertext())) if element is not None else ""


def parse_arxiv_atom(body: bytes, *, source: str = "arxiv_api") -> ArxivPage:
    """One page of API results: its listings, the query's total, and how many entries it held."""
    root = parse_xml(body, "an arXiv API Atom feed")
    if root.tag != f"{ATOM}feed":
        raise SourceError(f"expected an arXiv API Atom feed, got <{root.tag.rpartition('}')[2]}>")
    total_text = _text(root.find(f"{OPENSEARCH}totalResults"))
    entries = root.findall(f"{ATOM}entry")
    out = []
    for entry in entries:
        raw_id = _text(entry.find(f"{ATOM}id"))
        if "/api/errors" in raw_id:
            raise ArxivApiError(f"the arXiv API refused the query: {_text(entry.find(f'{ATOM}summary')) or raw_id}")
        found = arxiv_id(raw_id)
        title = _text(entry.find(f"{ATOM}title"))
        if not found or not title:
            continue
        primary = entry.find(f"{ARXIV}primary_category")
        terms = [primary.get("term", "")] if primary is not None else []
        terms += [c.get("term", "") for c in entry.findall(f"{ATOM}category")]
        out.append(
            Listing(
                id=listing_key(title=title, arxiv=found),
                title=title,
                abstract=_text(entry.find(f"{ATOM}summary")),
                authors=tuple(n for a in entry.findall(f"{ATOM}author") if (n := _text(a.find(f"{ATOM}name")))),
                categories=tuple(dict.fromkeys(t for t in terms if _CATEGORY.match(t))),
                url=ABS_URL.format(id=found),
                source=source,
                published=parse_when(_text(entry.find(f"{ATOM}published"))),
                doi=normalise_doi(doi) if (doi := _text(entry.find(f"{ARXIV}doi"))) else None,
            )
        )
    return ArxivPage(out, int(total_text) if total_text.isdigit() else None, len(entries))


class ArxivApiSource(Source):
    kind = "arxiv_api"
    options: ClassVar[Mapping[str, bool]] = {
        "query": False,
        "categories": False,
        "max_results": False,
        "page_size": False,
        "url": False,
    }
    min_interval = 3.0  # arXiv: "no more than one request every three seconds"
    # The API answers at most 2000 entries a request and pages no deeper than 30000.
    numbers: ClassVar[Mapping[str, tuple[int, int, int]]] = {
        "max_results": (200, 1, 30_000),
        "page_size": (100, 1, 2000),
    }

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.search_query()  # refuse a source with neither query nor categories when it is added

    def search_query(self) -> str:
        query = str(self.config.get("query") or "").strip()
        cats = " OR ".join(f"cat:{c}" for c in self._strings("categories"))
        if not query and not cats:
            raise SourceError(f"source {self.name!r} (arxiv_api): give a query, categories, or both")
        if query and cats:
            return f"({query}) AND ({cats})"
        return query or cats

    def fetch(self, http: SourceHttp) -> list[Listing]:
        url = self.config.get("url") or API_URL
        wanted = self._int("max_results")
        page_size = min(self._int("page_size"), wanted)
        params: dict[str, Any] = {
            "search_query": self.search_query(),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        found: dict[str, Listing] = {}  # by id, in the order first seen: the same paper may come twice
        start = 0
        while start < wanted:
            response = http.get(
                url,
                params=params | {"start": start, "max_results": page_size},
                conditional=start == 0,
                error_bodies=True,  # a 400 carries arXiv's reason as an Atom entry titled "Error"
            )
            if response.not_modified:
                raise NotModified
            try:
                page = parse_arxiv_atom(response.body, source=self.name)
            except ArxivApiError as exc:
                raise SourceError(f"{response.url}: {exc}") from None
            except SourceError as exc:
                reason = f"HTTP {response.status}" if response.status >= 400 else str(exc)
                raise SourceError(f"{response.url}: {reason}") from None
            if response.status >= 400:
                raise SourceError(f"{response.url}: HTTP {response.status}")
            fresh = [item for item in page.listings if item.id not in found]
            found.update((item.id, item) for item in fresh)
            start += page.entries
            # arXiv sometimes answers a later page with papers already seen (or none) while its total
            # promises thousands more: a page with nothing new ends the paging, not max_results.
            if not fresh or (page.total is not None and start >= page.total):
                break
        return list(found.values())[:wanted]
