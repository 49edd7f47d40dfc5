"""Small helpers that turn untrusted listing fields into safe, short, one-line display text."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote_plus, urlsplit

from bot.models import Listing
from bot.strings import one_line, shorten

MAX_AUTHORS = 4
# A title put in a search link is cut to this many characters: enough to find the paper.
SEARCH_TITLE_CHARS = 200
AI_SUMMARY_LABEL = "AI summary (Hugging Face)"
ARXIV_PREFIX = "arxiv:"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach a digest: a feed's `javascript:` or `data:` URL is dropped."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def authors_line(listing: Listing) -> str:
    names = [one_line(a) for a in listing.authors]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + " et al."
    return ", ".join(names)


def meta_line(listing: Listing, source_titles: Mapping[str, str] | None = None) -> str:
    """Authors · source · date · trend signal, whichever are known. The source is shown by its title
    in `source_titles`; a source not there (removed since) is left out, since its name is internal."""
    parts = [authors_line(listing)] if listing.authors else []
    if listing.source and (title := (source_titles or {}).get(listing.source)):
        parts.append(one_line(title))
    if listing.published:
        parts.append(f"{listing.published.day} {listing.published:%b %Y}")
    if listing.upvotes:
        parts.append(f"▲ {listing.upvotes} upvotes")
    return " · ".join(parts)


def arxiv_id(listing: Listing) -> str | None:
    """The arXiv id of a listing keyed by one (`bot.keys`), without the prefix."""
    return listing.id[len(ARXIV_PREFIX) :] if listing.id.startswith(ARXIV_PREFIX) else None


def _search_links(title: str) -> list[tuple[str, str]]:
    """For a paper known only by its title (the offline seed page): searches for that title, quoted."""
    query = quote_plus(f'"{shorten(title, SEARCH_TITLE_CHARS)}"')
    return [
        ("Search arXiv", f"https://arxiv.org/search/?searchtype=title&query={query}"),
        ("Google Scholar", f"https://scholar.google.com/scholar?q={query}"),
    ]


def paper_links(listing: Listing) -> list[tuple[str, str]]:
    """(label, http(s) URL) pairs under a paper: its arXiv page and PDF, code and project page where
    the source gave them; a paper with neither an arXiv id nor a link gets searches for its title."""
    found = arxiv_id(listing)
    links = []
    if found:
        links += [("arXiv", f"https://arxiv.org/abs/{found}"), ("PDF", f"https://arxiv.org/pdf/{found}")]
    repo = (listing.github_repo or "").strip()
    if repo and "://" not in repo:  # "owner/name", as some feeds give it
        repo = f"https://github.com/{repo}"
    links += [
        (label, url)
        for label, url in (("Code", safe_url(repo)), ("Project page", safe_url(listing.project_page)))
        if url
    ]
    if not found and not safe_url(listing.url):
        links += _search_links(listing.title)
    return links


def title_url(listing: Listing) -> str | None:
    """Where a paper's title leads: its own link, its arXiv page, or a search for it."""
    if url := safe_url(listing.url):
        return url
    found = arxiv_id(listing)
    return f"https://arxiv.org/abs/{found}" if found else _search_links(listing.title)[0][1]
