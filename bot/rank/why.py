"""Why a listing matched a profile: the phrases that weighed most, the liked paper it resembles, the author.

Terms come from the profile's own vector (its keywords and liked papers) first; only when none of
those is in the listing do the words the ranking added (feedback, learned model) explain it. The
vectorizer drops stop words, so no reason is ever a stop word.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MAX_TERMS = 3
# A term weighing less than this share of the strongest one explains little ("model" beside
# "parallel decoding"): it is left out of `why`.
RELATIVE_FLOOR = 0.2
MIN_LIKE_SIMILARITY = 0.02  # below this a liked paper explains nothing
_TITLE_CHARS = 70


def explain(
    profile_row: sp.csr_matrix,
    doc_row: sp.csr_matrix,
    feature_names: np.ndarray,
    *,
    liked_rows: sp.csr_matrix | None = None,
    liked_titles: list[str] | None = None,
    matched_authors: list[str] | None = None,
    expanded_row: sp.csr_matrix | None = None,
) -> tuple[str, ...]:
    reasons = [f"author: {name}" for name in matched_authors or []]
    terms = _terms(profile_row, doc_row, feature_names)
    if not terms and expanded_row is not None:
        terms = _terms(expanded_row, doc_row, feature_names)
    reasons += terms
    if liked_rows is not None and liked_titles:
        sims = (liked_rows @ doc_row.T).toarray().ravel()
        best = int(np.argmax(sims))
        if sims[best] >= MIN_LIKE_SIMILARITY:
            title = liked_titles[best]
            reasons.append("like: " + (title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1] + "…"))
    return tuple(reasons)


def _terms(profile_row: sp.csr_matrix, doc_row: sp.csr_matrix, feature_names: np.ndarray) -> list[str]:
    contribution = profile_row.multiply(doc_row).tocsr()
    positive = contribution.data > RELATIVE_FLOOR * contribution.data.max(initial=0.0)
    data, indices = contribution.data[positive], contribution.indices[positive]
    strongest = [str(feature_names[indices[pos]]) for pos in np.argsort(-data)[: MAX_TERMS * 4]]
    # A phrase explains better than its words: keep "speculative decoding", drop "decoding" beside it.
    covered = {word for term in strongest if " " in term for word in term.split()}
    return [term for term in strongest if " " in term or term not in covered][:MAX_TERMS]
