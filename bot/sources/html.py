"""`html`: any HTML listing page, read with CSS selectors, and a preset for huggingface.co/papers.

Takes the page's bytes and hands on one listing per element matched by the `item` selector, with
its title, link and text found by the `title`, `link` and `text` selectors inside it (BeautifulSoup
with soupsieve). Links are resolved against the page URL and kept only when http(s).

The `hf_papers` preset needs no selectors: the Hugging Face papers page embeds its data as JSON in
the `data-props` attribute of `<div data-target="DailyPapers">`, items of the same shape as the
Daily Papers API, so it is read as JSON and handed to `hf_daily.listing_from_item`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from bs4.element import Tag

from bot.errors import SourceError
from bot.keys import arxiv_id, listing_key
from bot.models import Listing
from bot.sources.base import NotModified, Source
from bot.sources.common import parse_json
from bot.sources.hf_daily import listing_from_item
from bot.sources.http import SourceHttp
from bot.strings import one_line

PRESETS = ("hf_papers",)
_ARXIV_HOSTS = ("arxiv.org", "www.arxiv.org", "huggingface.co")


def _soup(body: bytes) -> BeautifulSoup:
    # Bytes, so BeautifulSoup honours the page's <meta charset> (and sniffs when there is none).
    return BeautifulSoup(body, "html.parser")


def parse_hf_papers_page(body: bytes, *, source: str = "hf_papers") -> list[Listing]:
    """The papers of a huggingface.co/papers page, from the JSON embedded in its data-props."""
    holder = _soup(body).find(attrs={"data-target": "DailyPapers", "data-props": True})
    if not isinstance(holder, Tag):
        raise SourceError('no <div data-target="DailyPapers" data-props=…> in the page: has its layout changed?')
    props = parse_json(str(holder["data-props"]).encode(), "the page's embedded JSON")
    papers = props.get("dailyPapers") if isinstance(props, dict) else None
    if not isinstance(papers, list):
        raise SourceError("the page's embedded JSON has no dailyPapers list")
    return [listing for item in papers if (listing := listing_from_item(item, source=source))]


def parse_html_listing(
    body: bytes,
    *,
    page_url: str,
    item: str,
    title: str,
    link: str | None = None,
    text: str | None = None,
    source: str = "html",
) -> list[Listing]:
    """One listing per `item` element that has a non-empty `title`."""
    soup = _soup(body)
    try:
        elements = soup.select(item)
    except Exception as exc:  # soupsieve raises its own SelectorSyntaxError (a ValueError subclass)
        raise SourceError(f"bad CSS selector {item!r}: {exc}") from None
    if not elements:
        # A listing page where the item selector finds nothing has almost always changed its layout.
        raise SourceError(f"no element matches the item selector {item!r}: has the page's layout changed?")
    out = []
    for element in elements:
        title_el = _select_one(element, title)
        name = one_line(title_el.get_text(" ")) if title_el else ""
        if not name:
            continue
        if link:
            link_el = _select_one(element, link)
        else:  # the title is usually the link, or holds it
            link_el = title_el if title_el is not None and title_el.name == "a" else title_el and title_el.find("a")
        href = urljoin(page_url, str(link_el.get("href") or "")) if link_el is not None else ""
        url = href if urlsplit(href).scheme in ("http", "https") else None
        found = arxiv_id(href) if url and urlsplit(url).hostname in _ARXIV_HOSTS else None
        text_el = _select_one(element, text) if text else None
        out.append(
            Listing(
                id=listing_key(title=name, arxiv=found),
                title=name,
                abstract=one_line(text_el.get_text(" ")) if text_el else "",
                url=url,
                source=source,
            )
        )
    return out


def _select_one(element: Tag, selector: str) -> Tag | None:
    try:
        return element.select_one(selector)
    except Exception as exc:  # as above: soupsieve's syntax errors
        raise SourceError(f"bad CSS selector {selector!r}: {exc}") from None


class HtmlSource(Source):
    kind = "html"
    options: ClassVar[Mapping[str, bool]] = {
        "url": True,
        "preset": False,
        "item": False,
        "title": False,
        "link": False,
        "text": False,
    }

    def __init__(self, name: str, options: Mapping[str, object]) -> None:
        super().__init__(name, options)
        preset = self.config.get("preset")
        if preset is not None and preset not in PRESETS:
            raise SourceError(f"source {name!r} (html): unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        if preset is None and not (self.config.get("item") and self.config.get("title")):
            raise SourceError(f"source {name!r} (html): give `item` and `title` CSS selectors, or a preset")

    def fetch(self, http: SourceHttp) -> list[Listing]:
        response = http.get(self.config["url"], conditional=True, accept="text/html")
        if response.not_modified:
            raise NotModified
        try:
            if self.config.get("preset") == "hf_papers":
                return parse_hf_papers_page(response.body, source=self.name)
            return parse_html_listing(
                response.body,
                page_url=response.url,
                item=self.config["item"],
                title=self.config["title"],
                link=self.config.get("link"),
                text=self.config.get("text"),
                source=self.name,
            )
        except SourceError as exc:
            raise SourceError(f"{response.url}: {exc}") from None
