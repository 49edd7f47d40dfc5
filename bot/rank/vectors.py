"""TF-IDF vectors for listings, and one vector per profile built from its interests (Rocchio-style)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from bot.models import Listing, Profile

# How much each kind of interest weighs in the profile vector, each part normalised first so that a
# profile with twenty example papers does not drown the three keywords its owner typed.
KEYWORD_WEIGHT = 1.0
LIKE_WEIGHT = 0.8
DISLIKE_WEIGHT = 0.3


def document(listing: Listing) -> str:
    # The title twice: it is the author's own summary, so its words count more than the abstract's.
    return f"{listing.title}. {listing.title}. {listing.abstract}"


def make_vectorizer(*, min_df: int = 1, max_features: int | None = None) -> TfidfVectorizer:
    """Words and two-word phrases, so "speculative decoding" is matched as a phrase, not two loose words."""
    return TfidfVectorizer(
        lowercase=True,
        strip_accents="unicode",
        stop_words="english",
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )


def profile_matrix(
    vectorizer: TfidfVectorizer,
    docs: sp.csr_matrix,
    index: dict[str, int],
    profiles: Sequence[Profile],
) -> sp.csr_matrix:
    """One L2-normalised row per profile: keywords + liked papers − disliked papers."""
    n = len(profiles)
    keyword_texts: list[str] = []
    kw_rows, kw_cols = [], []
    like_w, dislike_w = (
        sp.lil_matrix((n, docs.shape[0]), dtype=np.float32),
        sp.lil_matrix((n, docs.shape[0]), dtype=np.float32),
    )
    for row, profile in enumerate(profiles):
        for keyword in profile.keywords:
            kw_rows.append(row)
            kw_cols.append(len(keyword_texts))
            keyword_texts.append(keyword)
        for ids, weights in ((profile.likes, like_w), (profile.dislikes, dislike_w)):
            known = [index[i] for i in ids if i in index]
            for col in known:
                weights[row, col] = 1.0 / len(known)

    vocab = docs.shape[1]
    if keyword_texts:
        # Each keyword is transformed on its own, so no phrase is invented across two keywords.
        kw_vectors = vectorizer.transform(keyword_texts)
        assign = sp.csr_matrix(
            (np.ones(len(kw_rows), dtype=np.float32), (kw_rows, kw_cols)), shape=(n, len(keyword_texts))
        )
        keywords = normalize(assign @ kw_vectors)
    else:
        keywords = sp.csr_matrix((n, vocab), dtype=np.float32)
    likes = normalize(like_w.tocsr() @ docs)
    dislikes = normalize(dislike_w.tocsr() @ docs)
    return normalize(KEYWORD_WEIGHT * keywords + LIKE_WEIGHT * likes - DISLIKE_WEIGHT * dislikes).tocsr()


def phrase_features(vectorizer: TfidfVectorizer, phrase: str) -> list[int]:
    """The vocabulary columns that together mean `phrase`: its longest n-grams (empty if unknown)."""
    analyzer = vectorizer.build_analyzer()
    grams = analyzer(phrase)
    if not grams:
        return []
    longest = max(len(g.split()) for g in grams)
    vocab = vectorizer.vocabulary_
    columns = [vocab.get(g) for g in grams if len(g.split()) == longest]
    return [] if None in columns else [c for c in columns if c is not None]
