"""Stable listing keys: the same paper from two sources must get the same key.

arXiv id without its version when known, else DOI, else a hash of the normalised title.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# New-style ids (2403.09612, 0704.0001) and old-style ones (hep-th/9901001), with an optional version.
_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(v\d+)?", re.IGNORECASE)


def normalise_title(title: str) -> str:
    """Lower-case, accents and punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.casefold())
    return " ".join(text.split())


def arxiv_id(text: str) -> str | None:
    """The arXiv id in `text` (a bare id or an abs/pdf URL), without its version."""
    match = _ARXIV_ID.search(text)
    return match.group(1).lower() if match else None


def title_hash(title: str) -> str:
    """The same 16 hex digits for titles that differ only in case, accents, punctuation or spacing."""
    return hashlib.sha1(normalise_title(title).encode()).hexdigest()[:16]


def normalise_doi(doi: str) -> str:
    """DOIs are case-insensitive; `doi:` and resolver prefixes are not part of them."""
    text = doi.strip().lower()
    for prefix in ("doi:", "https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/"):
        text = text.removeprefix(prefix)
    return text


def listing_key(*, title: str, arxiv: str | None = None, doi: str | None = None) -> str:
    if arxiv:
        found = arxiv_id(arxiv)
        if found:
            return f"arxiv:{found}"
    if doi:
        return f"doi:{normalise_doi(doi)}"
    return f"title:{title_hash(title)}"
