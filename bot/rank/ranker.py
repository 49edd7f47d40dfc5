"""Score every listing for every profile and keep each profile's best, with the reasons they matched.

Profiles are scored in chunks, so memory grows with the chunk, not with the number of profiles.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence, Set

import numpy as np

from bot.models import Listing, Profile, RankedListing
from bot.rank.vectors import document, make_vectorizer, phrase_features, profile_matrix
from bot.rank.why import explain

AUTHOR_BONUS = 0.3  # per favourite author on the paper: a followed author counts as much as a good keyword match
EXCLUDE_PENALTY = 1.0  # sinks a listing with an excluded word below every listing that matched anything
CHUNK = 256  # profiles scored at once: CHUNK × listings float32 scores in memory


def author_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).casefold().replace(".", " ").split())


def rank(
    listings: Sequence[Listing],
    profiles: Sequence[Profile],
    *,
    top: int | Mapping[str, int] = 10,
    min_score: float | Mapping[str, float] = 0.0,
    skip: Mapping[str, Set[str]] | None = None,
) -> Iterator[tuple[Profile, list[RankedListing]]]:
    """Yield (profile, results) for each profile, in order: best first, score above min_score,
    at most `top`, never the profile's own liked or disliked listings nor those in `skip[name]`.

    `top` and `min_score` may be one value for all profiles or a mapping by profile name.
    """
    if not listings or not profiles:
        for profile in profiles:
            yield profile, []
        return
    vectorizer = make_vectorizer()
    try:
        docs = vectorizer.fit_transform([document(item) for item in listings]).tocsr()
    except ValueError:  # no word survives stop-word removal: nothing can match anything
        for profile in profiles:
            yield profile, []
        return
    names = vectorizer.get_feature_names_out()
    index = {item.id: i for i, item in enumerate(listings)}
    by_author: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(listings):
        for author in item.authors:
            by_author[author_key(author)].append(i)
    docs_by_column = docs.tocsc() if any(p.exclude for p in profiles) else None

    for start in range(0, len(profiles), CHUNK):
        chunk = profiles[start : start + CHUNK]
        queries = profile_matrix(vectorizer, docs, index, chunk)
        scores = (queries @ docs.T).toarray()
        for row, profile in enumerate(chunk):
            row_scores = scores[row]
            matched_authors: dict[int, list[str]] = defaultdict(list)
            for wanted in profile.authors:
                for doc in by_author.get(author_key(wanted), ()):
                    matched_authors[doc].append(_display_author(listings[doc], wanted))
                    row_scores[doc] += AUTHOR_BONUS
            if docs_by_column is not None:
                for phrase in profile.exclude:
                    columns = phrase_features(vectorizer, phrase)
                    if columns:
                        hit = np.ones(docs.shape[0], dtype=bool)
                        for col in columns:
                            present = np.zeros(docs.shape[0], dtype=bool)
                            present[docs_by_column[:, col].indices] = True
                            hit &= present
                        row_scores[hit] -= EXCLUDE_PENALTY
            hidden = set(profile.likes) | set(profile.dislikes) | set((skip or {}).get(profile.name, ()))
            for listing_id in hidden:
                if listing_id in index:
                    row_scores[index[listing_id]] = -np.inf
            limit = top[profile.name] if isinstance(top, Mapping) else top
            floor = min_score[profile.name] if isinstance(min_score, Mapping) else min_score
            best = _top(row_scores, limit, floor)
            liked = [index[i] for i in profile.likes if i in index]
            liked_rows = docs[liked] if liked else None
            liked_titles = [listings[i].title for i in liked]
            results = [
                RankedListing(
                    listing_id=listings[doc].id,
                    score=float(row_scores[doc]),
                    why=explain(
                        queries[row],
                        docs[doc],
                        names,
                        liked_rows=liked_rows,
                        liked_titles=liked_titles,
                        matched_authors=matched_authors.get(doc),
                    ),
                )
                for doc in best
            ]
            yield profile, results


def _top(scores: np.ndarray, k: int, floor: float) -> list[int]:
    """Indices of the k highest scores above max(floor, 0), best first (ties by position)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return []
    candidates = np.argpartition(-scores, k - 1)[:k]
    candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [int(i) for i in candidates if scores[i] > max(floor, 0.0)]


def _display_author(listing: Listing, wanted: str) -> str:
    key = author_key(wanted)
    return next((a for a in listing.authors if author_key(a) == key), wanted)
