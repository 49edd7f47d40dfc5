"""Why a listing matched a profile: the phrases that weighed most, the liked paper it resembles, the author.

Takes sparse rows as (column indices, weights) pairs, sliced straight out of CSR matrices: building
a scipy row per result cost more than the ranking itself. Terms come from the profile's own vector
(its keywords and liked papers) first; only when none of those is in the listing do the words the
ranking added (feedback, learned model) explain it. The vectorizer drops stop words, so no reason
is ever a stop word; its terms are stemmed, and `readable` writes each one back in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

MAX_TERMS = 3
# A term weighing less than this share of the strongest one explains little ("model" beside
# "parallel decoding"): it is left out of `why`.
RELATIVE_FLOOR = 0.2
MIN_LIKE_SIMILARITY = 0.02  # below this a liked paper explains nothing
_TITLE_CHARS = 70

Row = tuple[np.ndarray, np.ndarray]  # (sorted or not) column indices, weights


def row(matrix: sp.csr_matrix, i: int) -> Row:
    lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
    return matrix.indices[lo:hi], matrix.data[lo:hi]


def explain(
    profile_row: Row,
    doc_row: Row,
    feature_names: np.ndarray,
    *,
    liked_similarity: np.ndarray | None = None,
    liked_titles: Sequence[str] = (),
    matched_authors: Sequence[str] | None = None,
    expanded_row: Row | None = None,
    readable: Callable[[str], str] = str,
) -> tuple[str, ...]:
    """`liked_similarity[j]` is the listing's cosine to the profile's j-th liked paper; `readable`
    turns a vocabulary term into the words a person reads."""
    reasons = [f"author: {name}" for name in matched_authors or []]
    terms = _terms(profile_row, doc_row, feature_names)
    if not terms and expanded_row is not None:
        terms = _terms(expanded_row, doc_row, feature_names)
    reasons += dict.fromkeys(readable(term) for term in terms)  # two stems may read alike: once each
    if liked_similarity is not None and liked_similarity.size and liked_titles:
        best = int(np.argmax(liked_similarity))
        if liked_similarity[best] >= MIN_LIKE_SIMILARITY:
            title = liked_titles[best]
            reasons.append("like: " + (title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1] + "…"))
    return tuple(reasons)


def _terms(profile_row: Row, doc_row: Row, feature_names: np.ndarray) -> list[str]:
    common, in_profile, in_doc = np.intersect1d(profile_row[0], doc_row[0], assume_unique=True, return_indices=True)
    contribution = profile_row[1][in_profile] * doc_row[1][in_doc]
    positive = contribution > RELATIVE_FLOOR * contribution.max(initial=0.0)
    data, indices = contribution[positive], common[positive]
    strongest = [str(feature_names[indices[pos]]) for pos in np.argsort(-data, kind="stable")[: MAX_TERMS * 4]]
    # A phrase explains better than its words: keep "speculative decoding", drop "decoding" beside it.
    covered = {word for term in strongest if " " in term for word in term.split()}
    return [term for term in strongest if " " in term or term not in covered][:MAX_TERMS]
