"""The query kind's stages (`ranker`): keywords as a BM25 query, raised by the coordination of its
keywords, expanded by pseudo-relevance feedback, and below its best few listings reordered by
latent topics; and which listings have a keyword by more than its loose words (anchoring).

Each function works on one matrix per group of profiles, as `ranker` hands them over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from itertools import chain
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from bot.models import Profile
from bot.rank.params import RankParams
from bot.rank.topics import topic_product
from bot.rank.vectors import ProfileParts, derived, words

# How `coverage` tells a keyword's loose terms from its others in one product: not tuning.
LOOSE_MARK, STRONG_MARK = 1e-6, 1e-4


def votes_in_the_query(
    chunk: Sequence[Profile], index: Mapping[str, int], queried: np.ndarray
) -> tuple[list[list[int]], list[list[int]]]:
    """The liked and the disliked listings of each profile scored as a query (`queried`): keywords
    and fewer votes than a learned model needs. Empty lists for the others.

    A handful of votes say which of the keyword matches were right. They refine the query, as
    relevance feedback does: liked papers join its feedback, each counting `liked_feedback` of the
    best few it is mixed with; disliked ones leave that feedback and the ordering of the rest.
    Scoring such a profile as a cosine instead (as one with many votes is) loses what BM25 and the
    coordination of keywords found."""

    def known(ids: Sequence[str], wanted: bool) -> list[int]:
        return [index[i] for i in ids if i in index] if wanted else []

    pairs = list(zip(chunk, queried, strict=True))
    return [known(p.likes, q) for p, q in pairs], [known(p.dislikes, q) for p, q in pairs]


class Anchors(NamedTuple):
    """Which listings have one of a profile's keywords by more than its loose words (`coverage`)."""

    found: sp.csr_matrix  # keywords × listings: only the pattern (indptr, indices) is read
    strong: np.ndarray  # for each entry of `found`: the keyword is there by more than a loose word
    first: np.ndarray  # the rows of `found` of the i-th profile asked: first[i] to first[i + 1]
    whole: sp.csr_matrix  # keywords × listings: a whole keyword's share of its best (`whole_keywords`)

    def of(self, i: int) -> np.ndarray:
        """A mask over the listings: those with a keyword of the i-th profile asked for."""
        lo, hi = self.found.indptr[self.first[i]], self.found.indptr[self.first[i + 1]]
        out = np.zeros(self.found.shape[1], dtype=bool)
        out[self.found.indices[lo:hi][self.strong[lo:hi]]] = True
        return out

    def whole_of(self, i: int) -> np.ndarray:
        """Over the listings: the most any keyword of the i-th profile asked for, said whole, has of its best."""
        return self.whole[self.first[i] : self.first[i + 1]].max(axis=0).toarray().ravel()


def coverage(
    parts: ProfileParts,
    rows: np.ndarray,
    matches_t: sp.csr_matrix,
    loose: sp.csr_matrix,
    word_terms: np.ndarray,
    derived: Derived | None = None,
) -> tuple[np.ndarray, np.ndarray, Anchors]:
    """For the profiles of `rows` (a mask): the share of their keywords each listing has (any of a
    keyword's words counts it in), that share without the keywords it has only by another word of
    a `derived` typed word's stem, and which listings have one by more than its `loose` terms
    (`loose_terms`) or, for a typed word `derived` from its stem, by another word of that stem
    (`Derived`), which `ranker._top_anchored` keeps, and which have a keyword whole (`whole_keywords`;
    `word_terms`: a mask of the terms that are words). That is read per profile, only for those held
    to their keywords: a mask of every profile's would cost a second product (4% of the time of
    ranking 10,000 keyword profiles)."""
    owners = parts.owners[rows]
    # A profile's keywords are consecutive rows of `each_keyword`, so `mine` keeps them in order
    # and `owners.indptr` says where each profile's are.
    mine = np.flatnonzero(np.asarray(owners.sum(axis=0)).ravel())
    # One product for both, not two: a loose term weighs LOOSE_MARK, so a keyword's sum over a
    # listing stays under STRONG_MARK unless the listing has another of its terms, whose BM25 weight
    # is at least 1 / (1 + K1 (1 - B + B length / mean length)): above STRONG_MARK for any listing
    # under 10,000 times the mean length.
    marks = parts.each_keyword - (1 - LOOSE_MARK) * loose
    if derived is not None:  # the stem of a derived typed word counts only where the listing says the word
        marks = marks - marks.multiply(derived.stems)
    found = marks[mine] @ matches_t
    if derived is not None:
        found = found + derived.typed[mine] @ derived.said_t
    found = found.tocsr()
    found.eliminate_zeros()
    strong = found.data > STRONG_MARK
    found.data[:] = 1
    shares = (owners[:, mine] @ found).toarray()
    anchors = Anchors(found, strong, owners.indptr, whole_keywords(parts, mine, matches_t, word_terms, derived))
    if derived is None:
        return shares, shares, anchors
    # The coordination still counts another word of a derived typed word's stem as near that keyword.
    touched = (found + derived.stems[mine] @ matches_t).tocsr()
    touched.data[:] = 1
    return (owners[:, mine] @ touched).toarray(), shares, anchors


def whole_keywords(
    parts: ProfileParts, mine: np.ndarray, matches_t: sp.csr_matrix, word_terms: np.ndarray, derived: Derived | None
) -> sp.csr_matrix:
    """The keywords `mine` × listings: where the listing has every word of the keyword (a typed
    word `derived` from its stem only where the listing says it), the keyword's BM25 there as a
    share of its best over the listings. The cut measures a listing by its keyword that it says most
    strongly against that keyword's own best (`ranker._top`): a paper that says "interpretability"
    as clearly as any is not cut because another also says "sparse autoencoders" and "circuits"."""
    each = sp.csr_matrix(parts.each_keyword[mine].multiply(word_terms[np.newaxis, :]))
    need = np.diff(each.indptr)
    # Only the rows of these keywords' words: a present/absent copy of all of `matches_t` would
    # double its memory.
    terms = np.unique(each.indices)
    matches_t = matches_t[terms]
    present_t = matches_t.copy()
    present_t.data[:] = 1
    stems = derived.stems[mine][:, terms] if derived is not None else None
    each = each[:, terms]
    weights = sp.csr_matrix(each @ matches_t)
    if stems is not None:
        each = sp.csr_matrix(each - each.multiply(stems))
    has = each @ present_t
    if derived is not None:
        said = derived.typed[mine].copy()
        said.data[:] = 1
        has = has + said @ derived.said_t
    has = sp.csr_matrix(has)
    has.data = (has.data >= np.repeat(need, np.diff(has.indptr)) - 0.5).astype(np.float32)
    strength = sp.csr_matrix(weights.multiply(has))
    strength.eliminate_zeros()
    best = strength.max(axis=1).toarray().ravel()
    strength.data /= np.repeat(np.where(best > 0, best, 1), np.diff(strength.indptr))
    return strength


class Derived(NamedTuple):
    """Typed words longer than their stem by more than an inflection ("tokenization": "token"). The
    stemmer joins them with the stem's short words, but a paper that only says "tokens" is not
    about tokenization, and its reason could only say "tokens" (`why.Wording`): such a word
    anchors a listing only where the listing says it."""

    stems: sp.csr_matrix  # keywords × terms: 1 on the stem of each such typed word
    typed: sp.csr_matrix  # keywords × `words`: 1 on each such typed word, LOOSE_MARK where its stem is loose
    said_t: sp.csr_matrix  # `words` × listings: 1 where the listing says the word (or its plural)


def derived_words(keywords: Iterable[str]) -> list[str]:
    """The typed words of `keywords` longer than their stem by more than an inflection, once each."""
    return sorted({word for keyword in keywords for s, word in words(keyword) if derived(word, s)})


def said_typed(typed: Sequence[str], derived_in: Sequence[Set[str]]) -> sp.csr_matrix:
    """`Derived.said_t`: which listings say each of the `typed` words, from the words each says
    derived from a typed stem (`vectors.transform_recording`)."""
    where = {word: row for row, word in enumerate(typed)}
    where.update({word + "s": row for row, word in enumerate(typed) if not word.endswith("s")})
    pairs = {(where[w], listing) for listing, found in enumerate(derived_in) for w in found if w in where}
    rows, cols = (list(x) for x in zip(*pairs, strict=True)) if pairs else ([], [])
    ones = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((ones, (rows, cols)), shape=(len(typed), len(derived_in)), dtype=np.float32)


def derived_rows(
    keywords: Sequence[str], typed: Sequence[str], vocabulary: Mapping[str, int], loose: sp.csr_matrix
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """`Derived.stems` and `Derived.typed` for these keywords, one row each, in order; `typed`: the
    words `Derived.said_t` has rows for."""
    where = {word: row for row, word in enumerate(typed)}
    coo = loose.tocoo()
    is_loose = set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))  # a set: no sparse lookup per word
    stems: tuple[list[int], list[int]] = ([], [])
    words_of: tuple[list[int], list[int]] = ([], [])
    marks: list[float] = []
    for row, keyword in enumerate(keywords):
        for s, word in words(keyword):
            if derived(word, s) and s in vocabulary and word in where:
                stems[0].append(row)
                stems[1].append(vocabulary[s])
                words_of[0].append(row)
                words_of[1].append(where[word])
                marks.append(LOOSE_MARK if (row, vocabulary[s]) in is_loose else 1.0)

    def matrix(pairs: tuple[list[int], list[int]], values: list[float], columns: int) -> sp.csr_matrix:
        out = sp.coo_matrix((np.array(values, dtype=np.float32), pairs), shape=(len(keywords), columns)).tocsr()
        out.data = np.minimum(out.data, 1)  # a word typed twice in a keyword is still one
        return out

    return matrix(stems, [1.0] * len(marks), len(vocabulary)), matrix(words_of, marks, len(typed))


def loose_terms(
    each_keyword: sp.csr_matrix, idf: np.ndarray, names: np.ndarray, documents: int, common: float
) -> sp.csr_matrix:
    """`each_keyword` (1 on each term of a keyword) where the term is a loose word of its keyword: a
    word that more than `common` of the listings say, in a keyword with a rarer word ("models" of
    "diffusion models", "use" of "tool use"; not "diffusion" nor "tool"), or a phrase of two such
    words ("language models" of "byte-level language models"). A keyword's rarest word, its other
    phrases and a one-word keyword are never loose: "language models" still matches "language",
    and "transformers" typed alone is not a loose word."""
    each = each_keyword.tocsr()
    owner = np.repeat(np.arange(each.shape[0]), np.diff(each.indptr))
    term_idf = idf[each.indices]
    terms = names[each.indices].tolist()
    word = np.array([" " not in term for term in terms], dtype=bool)
    rarest = np.zeros(each.shape[0], dtype=idf.dtype)
    np.maximum.at(rarest, owner[word], term_idf[word])
    loose = word & (term_idf < common_idf(documents, common)) & (term_idf < rarest[owner])
    # A phrase is loose when both its words are: found per phrase of the keywords, a few per profile.
    loose_words = {(o, t) for o, t, is_loose in zip(owner.tolist(), terms, loose.tolist(), strict=True) if is_loose}
    for at in np.flatnonzero(~word):
        loose[at] = all((owner[at], part) in loose_words for part in terms[at].split())
    out = each.copy()
    out.data = np.where(loose, out.data, 0).astype(out.dtype)
    out.eliminate_zeros()
    return out


def common_idf(documents: int, common: float) -> float:
    """The IDF of a word in `common` of the `documents` (scikit-learn's smoothed idf is
    ln((1 + n) / (1 + df)) + 1): a common word's is lower."""
    return float(np.log((1 + documents) / (1 + common * documents)) + 1)


def coordination(coverage: np.ndarray, weight: float) -> np.ndarray:
    """A keyword profile's scores are multiplied by this: 1 for a listing with every keyword of
    the profile, down to 1 / (1 + `weight`) for one with none.

    BM25 sums what each word contributes, so a listing that says one keyword of a profile often,
    or one rare word of it, can outscore one that touches most of them. A person's keywords are
    the facets of one interest, and a paper that touches several of them is more surely about it:
    the coordination factor of classic vector-space engines (Lucene's `coord`, Salton and McGill,
    1983). A keyword counts when the listing has any of its words: a loose word of a phrase says
    the listing is near that facet, and requiring the whole phrase counts too few. It is gentle, so
    a paper with one keyword, said clearly, still ranks.
    """
    return (1.0 + weight * coverage) / (1.0 + weight)


def bm25_share(queries: sp.csr_matrix, matches_t: sp.csr_matrix) -> np.ndarray:
    """BM25 scores divided by the most a listing could score (every query term saturated): from 0 up
    to 1 like a cosine, so `min_score` and the author bonus mean the same for every kind of profile.
    The divisor is one number per profile, so the order is BM25's."""
    scores = (queries @ matches_t).toarray()
    most = np.asarray(abs(queries).sum(axis=1), dtype=np.float32)
    return np.divide(scores, most, out=np.zeros_like(scores), where=most > 0)


def best_listings(
    scores: np.ndarray,
    wanted: np.ndarray,
    params: RankParams,
    exclude: Sequence[Sequence[int]] = (),
    liked: Sequence[Sequence[int]] = (),
) -> sp.csr_matrix:
    """A 0/1 row per profile marking its `feedback_docs` best listings (those that matched at all,
    none of its `exclude`d ones), and its `liked` ones weighing `liked_feedback`; empty rows where
    not `wanted`."""
    if any(exclude):
        scores = scores.copy()
        for r, own in enumerate(exclude):
            scores[r, own] = -np.inf
    k = min(params.feedback_docs, scores.shape[1])
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(scores.shape[0]), k)
    cols = best.ravel()
    weights = ((scores[rows, cols] > 0) & wanted[rows]).astype(np.float32)
    best = sp.csr_matrix((weights, (rows, cols)), shape=scores.shape)
    if not any(liked):
        return best
    rows = np.repeat(np.arange(len(liked)), [len(ids) for ids in liked])
    cols = np.fromiter(chain.from_iterable(liked), dtype=np.int64, count=rows.size)
    weights = np.full(rows.size, params.liked_feedback, dtype=np.float32) * wanted[rows]
    return (best + sp.csr_matrix((weights, (rows, cols)), shape=scores.shape)).tocsr()


def feedback(
    scores: np.ndarray,
    related: sp.csr_matrix,
    wanted: np.ndarray,
    params: RankParams,
    exclude: Sequence[Sequence[int]] = (),
    liked: Sequence[Sequence[int]] = (),
) -> sp.csr_matrix:
    """Pseudo-relevance feedback for the `wanted` rows (empty rows elsewhere): the strongest
    `feedback_terms` terms of the centroid of each one's best listings and liked ones
    (`best_listings`), L2-normalised, to add to its query."""
    chosen = best_listings(scores, wanted, params, exclude, liked)
    return strongest_terms(chosen @ related, params.feedback_terms)


def strongest_terms(centroid: sp.csr_matrix, count: int) -> sp.csr_matrix:
    """Each row's `count` strongest terms, L2-normalised: a few good words, not a whole abstract."""
    centroid = centroid.tocsr()
    data, indices, indptr = [], [], [0]
    for r in range(centroid.shape[0]):
        lo, hi = centroid.indptr[r], centroid.indptr[r + 1]
        values = centroid.data[lo:hi]
        keep = np.argsort(-values)[:count]
        data.append(values[keep])
        indices.append(centroid.indices[lo:hi][keep])
        indptr.append(indptr[-1] + keep.size)
    expansion = sp.csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr),
        shape=centroid.shape,
        dtype=np.float32,
    )
    return normalize(expansion).tocsr()


def below_the_best(scores: np.ndarray, places: np.ndarray | None, params: RankParams) -> np.ndarray:
    """Keyword scores with every listing below the query's best few reordered by its likeness to them.

    The `feedback_docs` best matches of the query stay first, in their order: they are what the
    typed words found, the papers with the typed phrase. Standing in for the examples the person
    did not give, they then order the rest, as example papers do: each other listing scores its
    share of the best keyword score plus its latent-topic cosine to their centre (as a share of
    the best such cosine). That finds papers of the field in other words than the typed ones and
    by construction changes nothing in the first results. Listings
    the query did not match stay out. The rest score below the last of the best, so the scale
    stays BM25's share.
    """
    if places is None:
        return scores
    chosen = best_listings(scores, np.ones(scores.shape[0], dtype=bool), params)
    rows, cols = chosen.nonzero()
    best = scores.max(axis=1, keepdims=True)
    share = scores / np.where(best > 0, best, 1)  # scores are never negative: 0 where none matched
    centre = normalize(np.asarray(chosen @ places, dtype=np.float32))
    combined = topic_product(centre, places.T)
    combined /= np.maximum(combined.max(axis=1, keepdims=True), 1e-9)
    combined += share
    kept = share[rows, cols]
    last = np.ones(scores.shape[0], dtype=np.float32)
    np.minimum.at(last, rows, kept)  # each profile's last kept share
    # Only what the query matched is reordered: each result keeps a word as its reason (a product
    # rather than a masked assignment, which is six times slower on a mask this irregular)...
    combined *= share > 0
    # and all of it stays in, however far its topics are (a negative cosine): then last, by its share.
    np.maximum(combined, share * 1e-3, out=combined)
    combined[rows, cols] = -np.inf
    top_rest = np.maximum(combined.max(axis=1), 1e-9)
    combined *= (np.nextafter(last, 0) / top_rest)[:, None]
    combined[rows, cols] = kept
    combined *= best
    return combined
