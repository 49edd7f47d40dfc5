"""Stable listing keys: the same paper from two sources must get the same key.

arXiv id without its version when known, else DOI, else a hash of the normalised title.
"""

from __future__ import annotations

import hashlib
import re

from bot.strings import fold_accents, one_line

# New-style ids (2403.09612, 0704.0001) and old-style ones (hep-th/9901001), with an optional version.
_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(v\d+)?", re.IGNORECASE)


def normalise_title(title: str) -> str:
    """Lower-case, accents and punctuation dropped, whitespace collapsed."""
    text = re.sub(r"[^\w\s]", " ", fold_accents(title).casefold())
    return one_line(text)


def arxiv_id(text: str) -> str | None:
    """The arXiv id in `text` (a bare id or an abs/pdf URL), without its version."""
    match = _ARXIV_ID.search(text)
    return match.group(1).lower() if match else None


def arxiv_ref(text: str) -> str | None:
    """The arXiv id (without its version) a person typed as one word: a bare id (2403.09612v2,
    hep-th/0701001) or a link (an abs or pdf URL); None for anything else."""
    words = text.split()
    return arxiv_id(words[0]) if len(words) == 1 else None


def listing_ref(text: str) -> str:
    """The listing key a person means: a key as `bot listings` prints it, or an arXiv id or link.

    Anything else comes back as typed, for the lookup that follows to call it unknown. A `doi:` key
    is kept whole: arXiv's own DOIs (10.48550/arXiv.2403.09612) hold an id that is not the key."""
    text = text.strip()
    if text.casefold().startswith(("title:", "doi:")):
        return text
    found = arxiv_ref(text)
    return f"arxiv:{found}" if found else text


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
