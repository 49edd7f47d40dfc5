"""`hf_daily`: the Hugging Face Daily Papers API (`/api/daily_papers?date=YYYY-MM-DD`).

Takes the JSON list the API returns, hands on one listing per paper keyed by its arXiv id, with
upvotes, comment count, `ai_summary`, GitHub repo and project page. Fields sit under `paper` or at
the top level depending on the API's age: both are read, `paper` first. The HTML papers page embeds
items of the same shape, so `bot.sources.html` reuses `listing_from_item`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.errors import SourceError
from bot.keys import arxiv_id, listing_key
from bot.models import Listing
from bot.sources.base import NotModified, Source
from bot.sources.common import as_int, as_text, parse_json, parse_when
from bot.sources.http import SourceHttp
from bot.strings import one_line

API_URL = "https://huggingface.co/api/daily_papers"
PAGE_SIZE = 100  # the API's largest page
PAPER_URL = "https://huggingface.co/papers/{id}"


def listing_from_item(item: Any, *, source: str) -> Listing | None:
    """One Daily Papers item as a listing; None for an item with no title (nothing to rank)."""
    if not isinstance(item, dict):
        raise SourceError(f"expected a paper object, got {type(item).__name__}")
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}

    def get(key: str) -> Any:
        value = paper.get(key)
        return value if value is not None else item.get(key)

    title = as_text(get("title"))
    if not title:
        return None
    raw_id = get("id") if isinstance(get("id"), str) else ""
    found = arxiv_id(raw_id) if raw_id else None
    authors = get("authors") if isinstance(get("authors"), list) else []
    names = tuple(name for a in authors if isinstance(a, dict) and (name := as_text(a.get("name"))))
    return Listing(
        id=listing_key(title=title, arxiv=found),
        title=title,
        abstract=one_line(get("summary") if isinstance(get("summary"), str) else ""),
        authors=names,
        url=PAPER_URL.format(id=found) if found else None,
        source=source,
        published=parse_when(get("publishedAt")),
        upvotes=as_int(get("upvotes")),
        comments=as_int(get("numComments")),
        ai_summary=as_text(get("ai_summary")),
        github_repo=as_text(get("githubRepo")),
        project_page=as_text(get("projectPage")),
    )


def parse_daily_papers(body: bytes, *, source: str = "hf_daily") -> list[Listing]:
    """The listings in one page of the API's answer (a JSON list)."""
    return _parse_page(body, source=source)[0]


def _parse_page(body: bytes, *, source: str) -> tuple[list[Listing], int]:
    data = parse_json(body, "Hugging Face Daily Papers JSON")
    if not isinstance(data, list):
        raise SourceError(f"expected a JSON list of papers, got a JSON {type(data).__name__}")
    return [listing for item in data if (listing := listing_from_item(item, source=source))], len(data)


class HfDailySource(Source):
    kind = "hf_daily"
    options: ClassVar[Mapping[str, bool]] = {"url": False, "date": False, "pages": False}
    default_interval = 3600  # about 10–20 papers a day trickle in; votes change through the day
    numbers: ClassVar[Mapping[str, tuple[int, int, int]]] = {"pages": (5, 1, 50)}

    def fetch(self, http: SourceHttp) -> list[Listing]:
        url = self.config.get("url") or API_URL
        pages = self._int("pages")
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if date := self.config.get("date"):  # without one the API answers with its latest day
            params["date"] = str(date)
        out: list[Listing] = []
        for page in range(pages):
            response = http.get(url, params=params | ({"p": page} if page else {}), conditional=page == 0)
            if response.not_modified:
                raise NotModified
            try:
                batch, size = _parse_page(response.body, source=self.name)
            except SourceError as exc:
                raise SourceError(f"{response.url}: {exc}") from None
            out.extend(batch)
            if size < PAGE_SIZE:
                break
        return out
