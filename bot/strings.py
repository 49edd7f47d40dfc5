"""Text helpers every room shares: one line, a cut with "…", accents folded. Standard library only,
so any module (the CLI's start included) may import it."""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"

# A sentence ends at . ! or ? followed by a space and a capital, digit or opening mark. By hand: the
# sentence splitters (nltk's punkt, pysbd) are large downloads for a cut that only needs to be
# plausible, and a miss here costs nothing worse than a shorter abstract.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def one_line(text: str | None) -> str:
    """Whitespace (line breaks and hard-wrapping included) collapsed to single spaces."""
    return " ".join((text or "").split())


def cut(text: str, limit: int) -> str:
    """`text` on one line in at most `limit` characters, cut anywhere and ended with "…" if longer:
    for table cells and labels, where the start of an id or a word is worth more than whole words."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """`text` on one line in at most `limit` characters, cut at a word boundary and ended with "…".

    By hand, not `textwrap.shorten`: that returns the bare placeholder when the first word is longer
    than the limit (a title that is one long token would vanish) and keeps the comma or colon the
    cut lands on before the "…"."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0]
    return head.rstrip(",;:.") + ELLIPSIS


def sentences(text: str, limit: int, *, most: int | None = None) -> str:
    """The whole sentences of `text` (at most `most`) that fit in `limit` characters, on one line;
    when the first is already longer, it is cut at a word boundary with "…" (`shorten`)."""
    text = one_line(text)
    if len(text) <= limit and most is None:
        return text
    parts = _SENTENCE_END.split(text)
    kept = parts[0]
    for part in parts[1:most]:
        if len(kept) + 1 + len(part) > limit:
            break
        kept += " " + part
    return shorten(kept, limit)


def fold_accents(text: str) -> str:
    """`text` with the accents taken off its letters ("Schrödinger" → "Schrodinger"), for matching."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
