"""Small helpers that turn untrusted listing fields into safe, short, one-line display text."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.models import Listing
from bot.strings import one_line

MAX_AUTHORS = 4


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


def meta_line(listing: Listing) -> str:
    """Authors · source · trend signal, whichever are known."""
    parts = [authors_line(listing)] if listing.authors else []
    if listing.source:
        parts.append(one_line(listing.source))
    if listing.upvotes:
        parts.append(f"▲ {listing.upvotes} upvotes")
    return " · ".join(parts)
