"""Why a listing matched a profile: the phrases that weighed most, the liked paper it resembles, the author.

`matched_terms` finds the terms of every (profile, listing) result of a chunk of profiles at once,
in a few sparse operations: term by term per result, it was a third of the time of ranking 10,000
profiles. Terms come from the profile's own vector (its keywords and liked papers) first; only when
none of those is in the listing do the words the ranking added (feedback, learned model) explain
it. The vectorizer drops stop words, so no reason is ever a stop word; its terms are stemmed, and
`readable` writes each one back in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

MAX_TERMS = 3
# A term weighing less than this share of the strongest one explains little ("model" beside
# "parallel decoding"): it is left out of `why`.
RELATIVE_FLOOR = 0.2
MIN_LIKE_SIMILARITY = 0.02  # below this a liked paper explains nothing
_TITLE_CHARS = 70


def explain(
    terms: Sequence[str],
    *,
    liked_similarity: np.ndarray | None = None,
    liked_titles: Sequence[str] = (),
    matched_authors: Sequence[str] | None = None,
    readable: Callable[[str], str] = str,
) -> tuple[str, ...]:
    """The reasons for one result: its authors the profile follows, its `matched_terms` in words
    (`readable` turns a vocabulary term into the words a person reads) and the liked paper it most
    resembles (`liked_similarity[j]` is its cosine to the profile's j-th liked paper)."""
    reasons = [f"author: {name}" for name in matched_authors or []]
    reasons += dict.fromkeys(readable(term) for term in terms)  # two stems may read alike: once each
    if liked_similarity is not None and liked_similarity.size and liked_titles:
        best = int(np.argmax(liked_similarity))
        if liked_similarity[best] >= MIN_LIKE_SIMILARITY:
            title = liked_titles[best]
            reasons.append("like: " + (title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1] + "…"))
    return tuple(reasons)


def matched_terms(
    profiles: sp.csr_matrix,
    expanded: sp.csr_matrix,
    docs: sp.csr_matrix,
    pairs: tuple[np.ndarray, np.ndarray],
    feature_names: np.ndarray,
) -> list[list[str]]:
    """For each pair (row of `profiles`, row of `docs`), the terms that weighed most in the match:
    the profile's own terms, or the `expanded` row's (same rows) when the listing has none of them."""
    rows, listings = pairs
    terms = _strongest(profiles[rows].multiply(docs[listings]), feature_names)
    unexplained = np.array([not found for found in terms], dtype=bool)
    if unexplained.any():
        again = _strongest(expanded[rows[unexplained]].multiply(docs[listings[unexplained]]), feature_names)
        for position, found in zip(np.flatnonzero(unexplained), again, strict=True):
            terms[position] = found
    return terms


def _strongest(contributions: sp.spmatrix, feature_names: np.ndarray) -> list[list[str]]:
    """Each row's strongest terms (at least RELATIVE_FLOOR of its best), a phrase before its words."""
    contributions = sp.csr_matrix(contributions)
    contributions.sum_duplicates()  # canonical: each row's columns in order, so ties break alike
    owner = np.repeat(np.arange(contributions.shape[0]), np.diff(contributions.indptr))
    best = np.zeros(contributions.shape[0], dtype=contributions.dtype)
    np.maximum.at(best, owner, contributions.data)
    strong = contributions.data > RELATIVE_FLOOR * best[owner]
    strong &= contributions.data > 0
    # All rows' terms at once: by row, then strongest first (lexsort is stable: then by column).
    order = np.lexsort((-contributions.data[strong], owner[strong]))
    owner, columns = owner[strong][order], contributions.indices[strong][order]
    starts = np.searchsorted(owner, np.arange(contributions.shape[0] + 1))
    out = []
    for lo, hi in pairwise(starts):
        strongest = [str(feature_names[c]) for c in columns[lo : min(hi, lo + MAX_TERMS * 4)]]
        strongest = [term for term in strongest if not _doubled(term)]
        # A phrase explains better than its words: keep "speculative decoding", drop "decoding" beside it.
        covered = {word for term in strongest if " " in term for word in term.split()}
        out.append([term for term in strongest if " " in term or term not in covered][:MAX_TERMS])
    return out


def _doubled(term: str) -> bool:
    """A word beside itself ("scene of the scene" makes "scene scene"): a pair that reads as no
    phrase. It still counts in the ranking (a word said twice in a row); it only explains nothing."""
    first, _, second = term.partition(" ")
    return first == second
