"""Text helpers every room shares: one line, a cut with "…", accents folded. Standard library only,
so any module (the CLI's start included) may import it."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


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


def fold_accents(text: str) -> str:
    """`text` with the accents taken off its letters ("Schrödinger" → "Schrodinger"), for matching."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
