"""Acronyms typed as keywords, read in full where the listings define them.

Papers define an acronym once, "large language models (LLMs)", and some never write it at all; a
profile that typed "LLM" would miss the papers that say only "large language models" (on the seed
page, 3 of the 15). So a keyword that looks like an acronym also matches the long form the
listings being ranked give it most often.

A long form is found as Schwartz and Hearst do ("A Simple Algorithm for Identifying Abbreviation
Definitions in Biomedical Text", 2003): among the few words before "(ACRONYM)", the shortest run
whose letters hold the acronym's in order, its first letter starting a word. Written here rather
than taken from the PyPI package `abbreviations`: that one sets up the root logger when imported
and gives up on a whole text at its first unbalanced parenthesis, and only the search for the
acronyms a profile typed is needed, not every definition in every listing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,9}")


def is_acronym(keyword: str) -> bool:
    """One token of two to ten characters, at least two of them capitals and capitals at least half
    its letters: "LLM", "LLMs", "MoE", "ViT", "RLHF", "GPT-4"; not "MapReduce", "NP-hard" or "llm"."""
    if not _TOKEN.fullmatch(keyword):
        return False
    letters = [c for c in keyword if c.isalpha()]
    capitals = sum(c.isupper() for c in letters)
    return capitals >= 2 and 2 * capitals >= len(letters)


def long_forms(acronyms: Iterable[str], texts: Sequence[str]) -> dict[str, str]:
    """For each acronym defined in `texts`, its most frequent long form, lowercased: {"LLM": "large
    language models"}. An acronym typed in the plural ("LLMs") is looked up in the singular too."""
    out = {}
    for acronym in dict.fromkeys(acronyms):
        short = acronym[:-1] if acronym.endswith("s") and len(acronym) > 2 else acronym
        # "(LLM)" or "(LLMs)", at the start of the parenthesis: "(LLMs; Brown et al.)" counts too
        pattern = re.compile(r"\(\s*" + re.escape(short) + r"s?\s*[);,]")
        found: Counter[str] = Counter()
        for text in texts:
            if short not in text:  # most texts: one substring test, no regex
                continue
            for match in pattern.finditer(text):
                long = _long_form(short, text[: match.start()])
                if long:
                    found[long.lower()] += 1
        if found:
            out[acronym] = found.most_common(1)[0][0]
    return out


def _long_form(short: str, before: str) -> str | None:
    """The long form `short` abbreviates at the end of `before`, or None (Schwartz and Hearst)."""
    words = before.split()
    window = words[-min(len(short) + 5, 2 * len(short)) :]
    candidate = " ".join(window)
    s, c = len(short) - 1, len(candidate) - 1
    while s >= 0:
        letter = short[s].lower()
        if not letter.isalnum():
            s -= 1
            continue
        # The acronym's first letter must start a word of the long form; the others may be anywhere.
        while c >= 0 and (candidate[c].lower() != letter or (s == 0 and c > 0 and candidate[c - 1].isalnum())):
            c -= 1
        if c < 0:
            return None
        c -= 1
        s -= 1
    start = candidate.rfind(" ", 0, c + 1) + 1
    long = candidate[start:].strip(" ,;:-")
    if len(long) <= len(short) or short.lower() in long.lower().split():
        return None
    return long
