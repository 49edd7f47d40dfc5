"""Score every listing for every profile and keep each profile's best, with the reasons they matched.

Takes listings, profiles and optionally a saved `TextModel` (without one the vectorizer is fitted
on the listings given, as `bot rank` does; with one, the profiles' keywords and excluded words it
never saw join a copy of its vocabulary: `vectors.knowing`); hands on, per profile, its best
`RankedListing`s.

A profile is of one `Kind`, chosen in `kind_of`, and each kind is a short pipeline of stages; the
shared stages then run on every profile. Each stage can be switched off (`RankParams.without`).

| stage          | kinds        | what it does                                                             |
|----------------|--------------|--------------------------------------------------------------------------|
| bm25           | query        | BM25 of the keywords against every term of a listing (`vectors.weigh`)   |
| coordination   | query        | a listing with more of the keywords scores more (`_coordination`)        |
| feedback       | query, ex.   | the best listings' strongest terms join the query (`_feedback`)          |
| votes_in_query | query        | a query's likes join that feedback, its dislikes leave it                |
| topics         | all          | latent topics: a query's best few order the rest (`_below_the_best`);    |
|                |              | examples and the learned model match topics beside words (`topics`)      |
| anchoring      | query        | a listing with only the keywords' common words falls behind              |
| rocchio        | ex., learned | keywords plus liked papers minus disliked ones, as cosines (`_blend`)    |
| learned        | ex., learned | from `learn_after` ratings, one a like: a linear SVM joins (`_learned`)  |
| neighbours     | with votes   | the best scores smoothed over each listing's nearest ones (`neighbours`) |
| keyword_scale  | ex., learned | with keywords: scores on the scale of their BM25 share                   |
| trend          | shared       | a profile that asks for it lifts listings with many upvotes              |
| authors        | shared       | each favourite author on a paper adds `author_bonus`                     |
| exclude        | shared       | an excluded word or phrase hides a listing                               |
| cut            | shared       | the `top` best above `min_score`, never a rated or skipped listing       |

Keywords are matched against every term of a listing; papers (liked, disliked, the learned model,
feedback) against the terms at least two listings share (`vectors.shared_terms`).

Profiles are scored in chunks sized so that chunk × listings stays under `RankParams.cells`: every
stage works on one matrix per chunk, and memory grows with neither the number of profiles nor the
number of listings beyond that.
"""

from __future__ import annotations

import enum
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from bot.models import Listing, Profile, RankedListing
from bot.rank.acronyms import is_acronym, long_forms
from bot.rank.neighbours import Neighbours, smooth
from bot.rank.params import PARAMS, RankParams
from bot.rank.topics import fit_topics, topic_product, topic_scores
from bot.rank.vectors import (
    ProfileParts,
    cosine_vectors,
    document,
    knowing,
    make_vectorizer,
    phrase_features,
    profile_parts,
    shared_terms,
    transform_recording,
    weigh,
    words,
)
from bot.rank.why import Wording, explain, matched_terms

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.rank.model import TextModel

# How `_coverage` tells a keyword's loose terms from its others in one product: not tuning.
LOOSE_MARK, STRONG_MARK = 1e-6, 1e-4


class Kind(enum.Enum):
    """What a profile asks for, which decides how it is scored."""

    QUERY = "query"  # keywords (or nothing) and fewer ratings than a learned model needs: a search
    EXAMPLES = "examples"  # liked papers and no dislike, or fewer than `learn_after` ratings: papers like these
    LEARNED = "learned"  # ratings with dislikes, enough to learn from: a classifier beside Rocchio, no feedback


def kind_of(profile: Profile, voted: bool, typed: bool, params: RankParams = PARAMS) -> Kind:
    """The one place a profile's kind is chosen. `voted`: it rated a listing being ranked; `typed`:
    its keywords match some term. Keywords with a handful of votes stay a query: BM25 and the
    coordination of keywords find more than a cosine would, and the votes refine its feedback."""
    ratings = len({*profile.likes, *profile.dislikes})
    if not voted or (typed and ratings < params.learn_after):
        return Kind.QUERY
    if not profile.dislikes or ratings < params.learn_after:
        return Kind.EXAMPLES
    return Kind.LEARNED


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
    model: TextModel | None = None,
    params: RankParams = PARAMS,
    reasons: bool = True,
) -> Iterator[tuple[Profile, list[RankedListing]]]:
    """Yield (profile, results) for each profile, in order: best first, score above min_score,
    at most `top`, never the profile's own liked or disliked listings nor those in `skip[name]`.

    `top` and `min_score` may be one value for all profiles or a mapping by profile name. With a
    `model`, listings are only transformed; without one, a vectorizer is fitted on them. Without
    `reasons` every result's `why` is empty (benchmarks that read only the order).
    """
    corpus = _read(listings, profiles, model, params) if listings and profiles else None
    if corpus is None:  # nothing to rank, or no word survives stop-word removal: nothing can match
        for profile in profiles:
            yield profile, []
        return
    cut = _Cut(top, min_score, skip or {})
    size = max(1, min(params.chunk, params.cells // len(listings)))
    for start in range(0, len(profiles), size):
        chunk = _score(corpus, profiles[start : start + size])
        chosen = [_finish(corpus, chunk, row, cut) for row in range(len(chunk.profiles))]
        if reasons:
            yield from _results(corpus, chunk, chosen)
            continue
        for profile, scores, (best, _) in zip(chunk.profiles, chunk.scores, chosen, strict=True):
            yield profile, [RankedListing(corpus.listings[d].id, float(scores[d]), ()) for d in best]


class _Corpus:
    """The listings as every stage reads them, built once per call of `rank`."""

    def __init__(
        self,
        listings: Sequence[Listing],
        profiles: Sequence[Profile],
        model: TextModel | None,
        params: RankParams,
    ) -> None:
        self.spelled, self.vectorizer, counts, self.own_words = _vectorize(listings, profiles, model)
        idf = self.vectorizer.idf_
        self.docs, matches = weigh(counts, idf)
        self.related = cosine_vectors(shared_terms(counts), idf)
        self.related.sort_indices()  # once: then the rows a learned model trains on need no sorting each
        self.docs_t, self.related_t = self.docs.T.tocsr(), self.related.T.tocsr()
        # Without the bm25 stage keywords are matched as TF-IDF cosines instead.
        self.matches_t = matches.T.tocsr() if params.has("bm25") else self.docs_t
        del counts, matches
        self.listings, self.params = listings, params
        self.names = self.vectorizer.get_feature_names_out()
        self.fitted_on = model.documents if model is not None else len(listings)
        self.common = _common_words(idf, self.names, self.fitted_on, params.common)
        self.phrases = np.array([" " in term for term in self.names.tolist()], dtype=bool)
        self.index = {item.id: i for i, item in enumerate(listings)}
        self.by_author = _by_author(listings)
        self.docs_by_column = self.docs.tocsc() if any(p.exclude for p in profiles) else None
        self.popularity = _popularity(listings) if any(p.trend for p in profiles) else None

    @cached_property
    def topics(self) -> np.ndarray | None:
        """Each listing's latent topics: fitted on first use, when a profile needs them."""
        return fit_topics(self.related) if self.params.has("topics") else None

    def fitted_topics(self) -> np.ndarray | None:
        """The topics if a stage fitted them: reasons never fit them for themselves."""
        return self.__dict__.get("topics")

    @cached_property
    def neighbours(self) -> Neighbours:
        """Each listing's nearest listings, found when a profile with votes first asks."""
        return Neighbours(self.related, self.related_t, self.params.cells, self.params.neighbours)

    def known(self, ids: Sequence[str]) -> list[int]:
        return [self.index[i] for i in ids if i in self.index]


def _vectorize(
    listings: Sequence[Listing], profiles: Sequence[Profile], model: TextModel | None
) -> tuple[dict[str, str], TfidfVectorizer, sp.csr_matrix, list[dict[str, str]]]:
    """The acronyms' long forms, the vectorizer, the listings' term counts and the words each
    listing says a typed stem in (`vectors.transform_recording`)."""
    texts = [document(item) for item in listings]
    # Acronyms typed as keywords also match their long form, as these listings define it.
    spelled = long_forms((k for p in profiles for k in p.keywords if is_acronym(k)), texts)
    # For `why`: the typed words' stems that each listing says only in a longer word ("computational").
    stems_typed = {s for p in profiles for keyword in p.keywords for s, _ in words(keyword)}
    if model is None:
        # Fitted on these very listings, it knows every term they have: none it lacks could match.
        vectorizer = make_vectorizer()
        return spelled, vectorizer, *transform_recording(vectorizer, texts, stems_typed, fit=True)
    typed = chain.from_iterable(chain(p.keywords, p.exclude) for p in profiles)
    vectorizer = knowing(model.vectorizer, chain(typed, spelled.values()), model.documents)
    return spelled, vectorizer, *transform_recording(vectorizer, texts, stems_typed)


def _by_author(listings: Sequence[Listing]) -> dict[str, list[int]]:
    """The listings of each author, by `author_key`."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(listings):
        for author in item.authors:
            out[author_key(author)].append(i)
    return out


def _read(
    listings: Sequence[Listing], profiles: Sequence[Profile], model: TextModel | None, params: RankParams
) -> _Corpus | None:
    try:
        return _Corpus(listings, profiles, model, params)
    except ValueError:  # no word survives stop-word removal
        return None


@dataclass
class _Chunk:
    """A group of profiles scored together: each stage fills its kinds' rows of `scores`."""

    profiles: Sequence[Profile]
    parts: ProfileParts
    kinds: list[Kind]
    voted: np.ndarray  # it rated a listing here
    typed: np.ndarray  # a rated profile whose keywords match some term
    scores: np.ndarray
    queries: sp.csr_matrix  # what each profile's reasons are read from (`why.matched_terms`)
    typed_shares: np.ndarray | None = None  # rated profiles' keywords' BM25 shares (`_on_keyword_scale`)
    anchors: _Anchors | None = None  # which listings have a query's keywords (`_top_anchored`)

    def of(self, *kinds: Kind) -> np.ndarray:
        """A mask of the profiles of these kinds."""
        return np.array([k in kinds for k in self.kinds], dtype=bool)

    @property
    def asked(self) -> np.ndarray:
        """The profiles whose keywords are scored as a query: queries, and rated profiles with
        keywords, whose shares set their scale."""
        return self.of(Kind.QUERY) | self.typed


def _score(corpus: _Corpus, profiles: Sequence[Profile]) -> _Chunk:
    """Each profile's score for every listing, by the pipeline of its kind."""
    parts = profile_parts(corpus.vectorizer, corpus.related, corpus.index, profiles, corpus.spelled)
    voted = _nonempty(parts.likes) | _nonempty(parts.dislikes)
    typed = _nonempty(parts.queries)
    kinds = [kind_of(p, v, t, corpus.params) for p, v, t in zip(profiles, voted, typed, strict=True)]
    scores = np.zeros((len(profiles), corpus.docs.shape[0]), dtype=np.float32)
    chunk = _Chunk(
        profiles, parts, kinds, voted, typed & ~np.array([k is Kind.QUERY for k in kinds]), scores, parts.keywords
    )
    if chunk.asked.any():
        _query_pipeline(corpus, chunk)
    if chunk.of(Kind.EXAMPLES, Kind.LEARNED).any():
        _rated_pipeline(corpus, chunk)
    return chunk


def _query_pipeline(corpus: _Corpus, chunk: _Chunk) -> None:
    """bm25, coordination, feedback (with votes_in_query), topics: the query kind's scores, and the
    keywords' shares of rated profiles with keywords."""
    params, asked, query = corpus.params, chunk.asked, chunk.of(Kind.QUERY)
    liked, disliked = _votes_in_the_query(chunk.profiles, corpus.index, query & params.has("votes_in_query"))
    queries = _with_rows(chunk.parts.keywords, asked, chunk.parts.queries[asked])
    coordinated = _coordination_stage(corpus, chunk)
    chunk.scores[asked] = (queries[asked] @ corpus.matches_t).toarray() * coordinated
    queries = _feedback_stage(corpus, chunk, queries, liked, disliked)
    shares = _bm25_share(queries[asked], corpus.matches_t) * coordinated
    for row, ids in enumerate(ids for ids, q in zip(disliked, asked, strict=True) if q):
        shares[row, ids] = 0  # neither among the best few nor what orders the rest
    if query.any():
        chunk.scores[query] = _below_the_best(shares[query[asked]], corpus.topics, params)
    if chunk.typed.any():
        chunk.typed_shares = np.zeros_like(chunk.scores)
        chunk.typed_shares[chunk.typed] = shares[chunk.typed[asked]]
    chunk.queries = queries


def _coordination_stage(corpus: _Corpus, chunk: _Chunk) -> np.ndarray | float:
    """Finds which listings have each query's keywords (for anchoring) and, unless switched off,
    the coordination factor of each asked profile's scores."""
    loose = _loose_terms(
        chunk.parts.each_keyword, corpus.vectorizer.idf_, corpus.phrases, corpus.fitted_on, corpus.params.common
    )
    coverage, chunk.anchors = _coverage(chunk.parts, chunk.asked, corpus.matches_t, loose)
    return _coordination(coverage, corpus.params.coordination) if corpus.params.has("coordination") else 1.0


def _feedback_stage(
    corpus: _Corpus, chunk: _Chunk, queries: sp.csr_matrix, liked: list[list[int]], disliked: list[list[int]]
) -> sp.csr_matrix:
    """The queries with the strongest terms of their best listings and liked papers added."""
    if not corpus.params.has("feedback"):
        return normalize(queries).tocsr()
    voted_on = [a + b for a, b in zip(liked, disliked, strict=True)]
    params = corpus.params
    expansion = _feedback(chunk.scores, corpus.related, chunk.asked, params, exclude=voted_on, liked=liked)
    return normalize(queries + params.feedback_weight * expansion).tocsr()


def _rated_pipeline(corpus: _Corpus, chunk: _Chunk) -> None:
    """learned, rocchio, then for examples feedback and topics: the scores of profiles with votes
    as cosines of their keywords, papers and learned model."""
    params, rated = corpus.params, chunk.of(Kind.EXAMPLES, Kind.LEARNED)
    ratings = np.array([len(set(p.likes) | set(p.dislikes)) for p in chunk.profiles], dtype=np.float32)
    parts = chunk.parts
    by_words, by_papers, beside = _blend(
        parts.keywords[rated],
        parts.likes[rated],
        parts.dislikes[rated],
        _learned_stage(corpus, chunk, rated),
        corpus.docs_t,
        corpus.related_t,
        ratings[rated],
        params,
    )
    scores = (by_words @ corpus.docs_t + by_papers @ corpus.related_t).toarray() + beside
    rated_profiles = [p for p, r in zip(chunk.profiles, rated, strict=True) if r]
    examples = chunk.of(Kind.EXAMPLES)[rated]
    if examples.any() and params.has("feedback"):
        own = [corpus.known((*p.likes, *p.dislikes)) for p in rated_profiles]
        expansion = _feedback(scores, corpus.related, examples, params, exclude=own)
        by_words, by_papers, scale = _unit_rows(by_words, by_papers + params.feedback_weight * expansion)
        beside *= scale[:, None]
        scores = (by_words @ corpus.docs_t + by_papers @ corpus.related_t).toarray() + beside
    if examples.any() and corpus.topics is not None:
        liked = [p.likes if example else () for p, example in zip(rated_profiles, examples, strict=True)]
        by_topic = topic_scores(corpus.topics, liked, corpus.index)
        scores = _with_topics(scores, by_topic, examples, params.topic_share)
    chunk.scores[rated] = scores
    chunk.queries = _with_rows(chunk.queries, rated, (by_words + by_papers).tocsr())


def _learned_stage(corpus: _Corpus, chunk: _Chunk, rated: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """The learned models' word rows and, weighed by `topic_share`, their scores on topics for
    every listing (None without topics); empty rows without the learned stage."""
    if not corpus.params.has("learned"):
        return sp.csr_matrix((int(rated.sum()), corpus.docs.shape[1]), dtype=np.float32), None
    learned, learned_topics = _learned(
        corpus.related, corpus.index, chunk.profiles, lambda: corpus.topics, corpus.params
    )
    by_topics = None
    if learned_topics is not None:
        by_topics = topic_product(learned_topics[rated], (corpus.params.topic_share * corpus.topics).T)
    return learned[rated], by_topics


class _Cut(NamedTuple):
    """What `rank` was asked to keep of each profile's scores."""

    top: int | Mapping[str, int]
    min_score: float | Mapping[str, float]
    skip: Mapping[str, Set[str]]

    def limit(self, name: str) -> int:
        return self.top[name] if isinstance(self.top, Mapping) else self.top

    def floor(self, name: str) -> float:
        return self.min_score[name] if isinstance(self.min_score, Mapping) else self.min_score


def _finish(corpus: _Corpus, chunk: _Chunk, row: int, cut: _Cut) -> tuple[list[int], dict[int, list[str]]]:
    """The shared stages on one profile's scores (in place): neighbours and keyword_scale for a
    profile with votes, then trend, authors, exclude and the cut. Its chosen listings, best first,
    and the favourite authors of each listing that has one."""
    profile, scores = chunk.profiles[row], chunk.scores[row]
    limit = cut.limit(profile.name)
    hidden = corpus.known([*{*profile.likes, *profile.dislikes, *cut.skip.get(profile.name, ())}])
    if chunk.voted[row]:
        _smooth_stage(corpus, chunk, row, hidden, limit)
    if corpus.popularity is not None and profile.trend:
        scores *= 1.0 + profile.trend * corpus.popularity
    authors = _authors_stage(corpus, profile, scores)
    _exclude_stage(corpus, profile, scores)
    scores[hidden] = -np.inf
    floor = cut.floor(profile.name)
    # Keyword queries without a liked paper (which asks for papers like it, in any words).
    if chunk.kinds[row] is Kind.QUERY and not chunk.parts.likes[row].nnz and corpus.params.has("anchoring"):
        hits = chunk.anchors.of(int(chunk.asked[:row].sum()))
        return _top_anchored(scores, limit, floor, hits, list(authors), corpus.params.unanchored), authors
    return _top(scores, limit, floor), authors


def _smooth_stage(corpus: _Corpus, chunk: _Chunk, row: int, hidden: list[int], limit: int) -> None:
    """neighbours, then keyword_scale, for a profile with votes."""
    profile, scores, params = chunk.profiles[row], chunk.scores[row], corpus.params
    shut = np.zeros(scores.shape[0], dtype=bool)
    shut[hidden] = True
    if params.has("neighbours"):
        scores[:] = smooth(
            scores,
            corpus.neighbours,
            liked=corpus.known(profile.likes),
            disliked=corpus.known(profile.dislikes),
            hidden=shut,
            top=limit,
            share=params.smoothing,
            candidates=params.candidates,
        )
    if chunk.typed_shares is not None and chunk.typed[row] and params.has("keyword_scale"):
        _on_keyword_scale(scores, chunk.typed_shares[row], ~shut, params.level_of)


def _authors_stage(corpus: _Corpus, profile: Profile, scores: np.ndarray) -> dict[int, list[str]]:
    """Each favourite author on a listing adds `author_bonus` (in place); the authors by listing."""
    matched: dict[int, list[str]] = defaultdict(list)
    for wanted in profile.authors:
        for doc in corpus.by_author.get(author_key(wanted), ()):
            matched[doc].append(_display_author(corpus.listings[doc], wanted))
            scores[doc] += corpus.params.author_bonus
    return matched


def _exclude_stage(corpus: _Corpus, profile: Profile, scores: np.ndarray) -> None:
    """A listing with an excluded word or phrase is never shown (in place)."""
    if corpus.docs_by_column is not None:
        for phrase in profile.exclude:
            scores[_containing(corpus.vectorizer, corpus.docs_by_column, phrase)] = -np.inf


def _results(
    corpus: _Corpus, chunk: _Chunk, chosen: Sequence[tuple[list[int], dict[int, list[str]]]]
) -> Iterator[tuple[Profile, list[RankedListing]]]:
    """Each profile of the chunk with its chosen listings, scores and reasons."""
    base = (chunk.parts.keywords + chunk.parts.likes).tocsr()  # what the person gave: `why` names these terms first
    by_profile = _terms_of_results(
        base, chunk.queries, corpus.docs, [best for best, _ in chosen], corpus.names, corpus.params.results_at_once
    )
    for row, (profile, (best, authors)) in enumerate(zip(chunk.profiles, chosen, strict=True)):
        similarity = _liked_similarity(corpus, chunk, row, best)
        yield profile, _ranked(corpus, profile, chunk.scores[row], best, next(by_profile), similarity, authors)


def _liked_similarity(corpus: _Corpus, chunk: _Chunk, row: int, best: list[int]) -> np.ndarray | None:
    """Each liked paper's similarity to each result, as the profile was ranked (by words, and by
    topic too unless it learned a model), in one product; None without a liked paper here."""
    liked = corpus.known(chunk.profiles[row].likes)
    if not liked or not best:
        return None
    similarity = (corpus.related[liked] @ corpus.related_t[:, best]).toarray()
    places = corpus.fitted_topics()
    if places is not None and chunk.kinds[row] is not Kind.LEARNED:
        similarity += topic_product(places[liked], places[best].T)
    return similarity


def _ranked(
    corpus: _Corpus,
    profile: Profile,
    scores: np.ndarray,
    best: list[int],
    terms: list[list[str]],
    similarity: np.ndarray | None,
    authors: dict[int, list[str]],
) -> list[RankedListing]:
    listings = corpus.listings
    liked_titles = [listings[i].title for i in corpus.known(profile.likes)]
    said = Wording(profile.keywords, corpus.common)
    trending = corpus.popularity is not None and profile.trend
    results = []
    for position, doc in enumerate(best):
        why = explain(
            said.phrases(terms[position], listings[doc], corpus.own_words[doc]),
            liked_similarity=similarity[:, position] if similarity is not None else None,
            liked_titles=liked_titles,
            matched_authors=authors.get(doc),
        )
        if trending and listings[doc].upvotes:
            why += (f"trending: {listings[doc].upvotes} upvotes",)
        results.append(RankedListing(listing_id=listings[doc].id, score=float(scores[doc]), why=why))
    return results


def _terms_of_results(
    base: sp.csr_matrix,
    queries: sp.csr_matrix,
    docs: sp.csr_matrix,
    chosen: Sequence[list[int]],
    names: np.ndarray,
    at_once: int,
) -> Iterator[list[list[str]]]:
    """For each row of `chosen` (a profile's results), the terms behind each result
    (`why.matched_terms`), found for the results of several profiles at once: at most
    `at_once` of them, or one profile's, so memory stays bounded however large `top` is."""
    start = 0
    while start < len(chosen):
        end, size = start + 1, len(chosen[start])
        while end < len(chosen) and size + len(chosen[end]) <= at_once:
            size += len(chosen[end])
            end += 1
        owners = np.repeat(np.arange(start, end), [len(best) for best in chosen[start:end]])
        listings = np.fromiter(chain.from_iterable(chosen[start:end]), dtype=np.int64, count=owners.size)
        terms: list[list[str]] = []
        for lo in range(0, owners.size, at_once):  # one profile's may be more
            part = slice(lo, lo + at_once)
            terms += matched_terms(base, queries, docs, (owners[part], listings[part]), names)
        at = 0
        for best in chosen[start:end]:
            yield terms[at : at + len(best)]
            at += len(best)
        start = end


def _common_words(idf: np.ndarray, names: np.ndarray, documents: int, common: float = PARAMS.common) -> frozenset[str]:
    """The words in more than `common` of the listings the vectorizer was fitted on ("paper", "based",
    "approach"): a word one paper in ten says tells little about why this one matched.
    arxiv-sanity drops them from its vectors altogether (`max_df=0.1`); here they still rank, but a
    common word the person did not type is a reason only when nothing else explains a result."""
    return frozenset(term for term in names[idf < _common_idf(documents, common)].tolist() if " " not in term)


def _common_idf(documents: int, common: float) -> float:
    """The IDF of a word in `common` of the `documents` (scikit-learn's smoothed idf is
    ln((1 + n) / (1 + df)) + 1): a common word's is lower."""
    return float(np.log((1 + documents) / (1 + common * documents)) + 1)


def _votes_in_the_query(
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


def _learned(
    docs: sp.csr_matrix,
    index: Mapping[str, int],
    chunk: Sequence[Profile],
    topics: Callable[[], np.ndarray | None],
    params: RankParams = PARAMS,
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """A linear SVM for each profile with enough ratings: its weights on words (a sparse row, empty
    for other profiles) and on latent topics (a dense row; None when no profile learns here).

    Liked papers are positives; disliked ones and, weighing `unrated_weight` each, a bounded sample of
    the unrated listings are negatives (most listings are not what one person wants), the classes
    balanced by their counts as arxiv-sanity's are, so in all the negatives weigh less than the
    positives.
    The features are the listings' TF-IDF vectors and, weighed by `topic_share`, their topics: a few
    dozen ratings teach little about single words but enough about which topics the person reads,
    and the SVM can weigh topics more finely than a centroid can. The two weight rows are
    L2-normalised together.
    """
    learns = [
        len({i for i in (*p.likes, *p.dislikes) if i in index}) >= params.learn_after
        and any(i in index for i in p.likes)
        for p in chunk
    ]
    if not any(learns):
        return sp.csr_matrix((len(chunk), docs.shape[1]), dtype=np.float32), None
    places = topics()
    words, on_topics = [], np.zeros((len(chunk), 0 if places is None else places.shape[1]), dtype=np.float32)
    for row, (profile, learn) in enumerate(zip(chunk, learns, strict=True)):
        if not learn:
            words.append(sp.csr_matrix((1, docs.shape[1]), dtype=np.float32))
            continue
        weights = _learn_one(docs, index, profile, places, params)
        words.append(sp.csr_matrix(weights[None, : docs.shape[1]]))
        on_topics[row] = weights[docs.shape[1] :]
    return sp.vstack(words, format="csr"), on_topics if places is not None else None


def _learn_one(
    docs: sp.csr_matrix, index: Mapping[str, int], profile: Profile, places: np.ndarray | None, params: RankParams
) -> np.ndarray:
    """One profile's SVM weights on the words and then the topics, L2-normalised (`_learned`)."""
    from sklearn.svm import LinearSVC

    pos = sorted({index[i] for i in profile.likes if i in index})
    neg = sorted({index[i] for i in profile.dislikes if i in index} - set(pos))
    rated = np.asarray(pos + neg, dtype=np.int64)
    rng = np.random.default_rng(zlib.crc32(profile.name.encode()))
    unrated = np.setdiff1d(np.arange(docs.shape[0]), rated)
    if unrated.size > params.background:
        unrated = rng.choice(unrated, params.background, replace=False)
    train = np.concatenate([rated, unrated])
    y = np.zeros(train.size)
    y[: len(pos)] = 1
    # Only the training rows are copied (liblinear wants float64, sorted indices): memory stays
    # bounded by `background` however many listings there are.
    blocks = [docs[train]] + ([sp.csr_matrix(params.topic_share * places[train])] if places is not None else [])
    features = sp.hstack(blocks, format="csr", dtype=np.float64)
    clf = LinearSVC(C=params.learned_c, class_weight="balanced", random_state=0)  # the same digest every run
    weight = np.where(np.arange(train.size) < rated.size, 1.0, params.unrated_weight)
    clf.fit(features, y, sample_weight=weight)
    weights = clf.coef_.ravel().astype(np.float32)
    weights /= max(float(np.linalg.norm(weights)), 1e-12)
    return weights


def _blend(
    keywords: sp.csr_matrix,
    likes: sp.csr_matrix,
    dislikes: sp.csr_matrix,
    learned: tuple[sp.csr_matrix, np.ndarray | None],
    docs_t: sp.csr_matrix,
    related_t: sp.csr_matrix,
    ratings: np.ndarray,
    params: RankParams,
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Two query rows per profile and a dense part, scored as `by_words @ docs_t + by_papers @
    related_t + beside`: its anchor plus its feedback, each part scaled to the anchor's best score,
    the query rows together of unit norm. `learned` is the learned models' word rows and their
    topic scores for every listing (`beside` is the latter, weighed as the model is).

    The typed keywords are matched against every term of a listing; the liked and disliked papers
    and the learned model against the terms listings share (`vectors.shared_terms`).
    The anchor is the typed keywords (the liked papers when there are none). A centroid of similar
    papers scores far higher than a three-word query ever does, so each feedback part is first
    divided by its own best score over these listings and then weighed against the anchor's best.
    With a handful of ratings the feedback's best match stays below the best keyword match, so a
    few clicks cannot erase what the person typed; the learned model's share grows with the
    ratings until, at `learned_full_at`, it leads. Without the rocchio stage the liked papers
    count only where nothing else anchors the profile, and the disliked ones not at all.
    """
    learned_words, model_on_topics = learned
    has_model = _nonempty(learned_words)
    feedback = _nonempty(likes) | has_model | _nonempty(dislikes)
    best_kw, best_like = _best(keywords, docs_t, feedback), _best(likes, related_t, feedback)
    best_dislike = _best(dislikes, related_t, feedback)
    model_scores = np.zeros((keywords.shape[0], related_t.shape[1]), dtype=np.float32)
    if has_model.any():
        model_scores[has_model] = (learned_words[has_model] @ related_t).toarray()
        if model_on_topics is not None:
            model_scores[has_model] += model_on_topics[has_model]
    best_learned = np.where(has_model, model_scores.max(axis=1, initial=0.0), 0.0).astype(np.float32)
    by_keywords = best_kw > 0
    anchor = np.where(by_keywords, best_kw, best_like)
    has_learned = best_learned > 0
    like_share = np.where(has_learned, params.feedback_share / 2, params.feedback_share)
    like_coef = np.where(by_keywords, _ratio(anchor * like_share, best_like), 1.0)
    # The learned model earns its weight with the ratings behind it: it takes over as they accumulate.
    start, full = params.learn_after, params.learned_full_at
    ramp = np.clip((ratings - start + 1) / (full - start + 1), 0.0, 1.0) ** 2
    learned_share = params.learned_share * ramp
    learned_coef = _ratio(anchor * np.where(by_keywords, learned_share, params.learned_weight), best_learned)
    dislike_coef = -_ratio(anchor * params.dislike_share, best_dislike)
    if not params.has("rocchio"):
        like_coef = np.where(by_keywords | has_model, 0.0, like_coef)
        dislike_coef = np.zeros_like(dislike_coef)
    by_papers = sp.diags(like_coef) @ likes + sp.diags(learned_coef) @ learned_words + sp.diags(dislike_coef) @ dislikes
    by_words, by_papers, scale = _unit_rows(keywords, by_papers)
    beside = np.zeros_like(model_scores)
    if model_on_topics is not None:
        beside = (scale * learned_coef)[:, None] * model_on_topics
    return by_words, by_papers, beside


def _with_topics(scores: np.ndarray, by_topic: np.ndarray, rows: np.ndarray, share: float) -> np.ndarray:
    """`scores` with the topic match of the `rows` added, weighing `share` of each row's best word
    match, and divided by 1 + `share` so a score stays at most 1."""
    out = scores.copy()
    best_words = scores[rows].max(axis=1, keepdims=True)
    best_topic = by_topic[rows].max(axis=1, keepdims=True)
    scale = _ratio(best_words, best_topic)
    out[rows] = (scores[rows] + share * scale * by_topic[rows]) / (1 + share)
    return out


def _unit_rows(by_words: sp.csr_matrix, by_papers: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Both parts divided by the norm of their sum, so a profile's scores stay cosines (at most 1),
    and the divisor's inverse, for the parts scored beside them."""
    both = (by_words + by_papers).tocsr()
    norms = np.sqrt(np.asarray(both.multiply(both).sum(axis=1), dtype=np.float32).ravel())
    scale = _ratio(np.ones_like(norms), norms)
    return (sp.diags(scale) @ by_words).tocsr(), (sp.diags(scale) @ by_papers).tocsr(), scale


class _Anchors(NamedTuple):
    """Which listings have one of a profile's keywords by more than its loose words (`_coverage`)."""

    found: sp.csr_matrix  # keywords × listings: only the pattern (indptr, indices) is read
    strong: np.ndarray  # for each entry of `found`: the keyword is there by more than a loose word
    first: np.ndarray  # the rows of `found` of the i-th profile asked: first[i] to first[i + 1]

    def of(self, i: int) -> np.ndarray:
        """A mask over the listings: those with a keyword of the i-th profile asked for."""
        lo, hi = self.found.indptr[self.first[i]], self.found.indptr[self.first[i + 1]]
        out = np.zeros(self.found.shape[1], dtype=bool)
        out[self.found.indices[lo:hi][self.strong[lo:hi]]] = True
        return out


def _coverage(
    parts: ProfileParts, rows: np.ndarray, matches_t: sp.csr_matrix, loose: sp.csr_matrix
) -> tuple[np.ndarray, _Anchors]:
    """For the profiles of `rows` (a mask): the share of their keywords each listing has (any of a
    keyword's words counts it in), and which listings have one by more than its `loose` terms
    (`_loose_terms`), which `_top_anchored` keeps. That is read per profile, only for those held
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
    found = ((parts.each_keyword - (1 - LOOSE_MARK) * loose)[mine] @ matches_t).tocsr()
    strong = found.data > STRONG_MARK
    found.data[:] = 1
    return (owners[:, mine] @ found).toarray(), _Anchors(found, strong, owners.indptr)


def _top_anchored(
    scores: np.ndarray, k: int, floor: float, hits: np.ndarray, authors: Sequence[int], unanchored: float
) -> list[int]:
    """`_top` for a keyword profile: first its listings with one of its keywords by more than a
    loose word (`hits`, a mask: `_coverage`) or by a favourite author; the others' `scores` (in
    place) are `unanchored` of theirs, when any of them would otherwise be among the `k` best.

    A listing whose only match with a profile's keywords is "models" of "diffusion models" or "use"
    of "tool use" is not about them, yet the best few of a query order the rest
    (`_below_the_best`) and could score it as high as a real match. The ranker still counts
    those words (a paper that has "diffusion" and "models" is nearer than one with "diffusion"
    alone), but a listing with nothing more falls behind the listings that have a keyword (all but
    the faintest matches), and the default `min_score` leaves it out of a digest. Listings found
    only by pseudo-relevance feedback, with none of the typed words, go the same way. A profile
    that liked a paper is not held to its keywords: it asked for papers like that one, in whatever
    words ("More like this").
    Most days the best few all have a keyword, and no score needs changing."""
    best = _top(scores, k, floor)
    if hits[best].all():
        return best
    kept = hits.copy()
    kept[authors] = True
    if kept[best].all():
        return best
    scores[~kept] *= np.float32(unanchored)
    return _top(scores, k, floor)


def _loose_terms(
    each_keyword: sp.csr_matrix, idf: np.ndarray, phrases: np.ndarray, documents: int, common: float
) -> sp.csr_matrix:
    """`each_keyword` (1 on each term of a keyword) where the term is a loose word of its keyword: a
    word that more than `common` of the listings say, in a keyword with a rarer word ("models" of
    "diffusion models", "use" of "tool use"; not "diffusion" nor "tool"). A keyword's rarest word,
    its phrases and a one-word keyword are never loose: "language models" still matches
    "language", and "transformers" typed alone is not a loose word."""
    each = each_keyword.tocsr()
    owner = np.repeat(np.arange(each.shape[0]), np.diff(each.indptr))
    term_idf = idf[each.indices]
    word = ~phrases[each.indices]
    rarest = np.zeros(each.shape[0], dtype=idf.dtype)
    np.maximum.at(rarest, owner[word], term_idf[word])
    loose = word & (term_idf < _common_idf(documents, common)) & (term_idf < rarest[owner])
    out = each.copy()
    out.data = np.where(loose, out.data, 0).astype(out.dtype)
    out.eliminate_zeros()
    return out


def _coordination(coverage: np.ndarray, weight: float) -> np.ndarray:
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


def _bm25_share(queries: sp.csr_matrix, matches_t: sp.csr_matrix) -> np.ndarray:
    """BM25 scores divided by the most a listing could score (every query term saturated): from 0 up
    to 1 like a cosine, so `min_score` and the author bonus mean the same for every kind of profile.
    The divisor is one number per profile, so the order is BM25's."""
    scores = (queries @ matches_t).toarray()
    most = np.asarray(abs(queries).sum(axis=1), dtype=np.float32)
    return np.divide(scores, most, out=np.zeros_like(scores), where=most > 0)


def _on_keyword_scale(scores: np.ndarray, shares: np.ndarray, open_: np.ndarray, level_of: int) -> None:
    """A rated profile's `scores` scaled (in place) to the scale of its typed keywords' BM25 share
    (`shares`): its `level_of` best `open_` listings score on average what the best matches of its
    keywords do as a keyword profile's query.

    Its scores are cosines of whole TF-IDF vectors, and a few keywords against an abstract of a
    hundred terms score a fraction of their BM25 share, and would fall below `min_score` after a
    few votes. Scaled, `min_score` and the author bonus mean the same for every kind of profile.
    A mean of several rather than the best alone, since a learned model can be surer of its first
    paper than the keywords are of theirs. The order is the profile's own. When the keywords match
    nothing here, the liked papers carry the profile and their cosines stay."""
    level, mine = _mean_of_best(shares, open_, level_of), _mean_of_best(scores, open_, level_of)
    if level > 0 and mine > 0:
        scores *= level / mine


def _mean_of_best(scores: np.ndarray, where: np.ndarray, level_of: int) -> float:
    """The mean of the `level_of` best positive `scores` among those `where` is true (0 if none)."""
    positive = scores[where & (scores > 0)]
    k = min(level_of, positive.size)
    return float(np.partition(positive, positive.size - k)[positive.size - k :].mean()) if k else 0.0


def _with_rows(m: sp.csr_matrix, rows: np.ndarray, new: sp.csr_matrix) -> sp.csr_matrix:
    """`m` with its `rows` (a mask) replaced by the rows of `new`, in order."""
    stacked = sp.vstack([m[~rows], new], format="csr")
    return stacked[np.argsort(np.concatenate([np.flatnonzero(~rows), np.flatnonzero(rows)]), kind="stable")]


def _nonempty(m: sp.csr_matrix) -> np.ndarray:
    return np.diff(m.indptr) > 0


def _best(part: sp.csr_matrix, docs_t: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Each row's best score over the listings (0 for empty rows and rows not asked for)."""
    out = np.zeros(part.shape[0], dtype=np.float32)
    wanted = np.flatnonzero(rows & _nonempty(part))
    if wanted.size:
        out[wanted] = (part[wanted] @ docs_t).max(axis=1).toarray().ravel()
    return out


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float32), where=denominator > 0)


def _best_listings(
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


def _feedback(
    scores: np.ndarray,
    related: sp.csr_matrix,
    wanted: np.ndarray,
    params: RankParams,
    exclude: Sequence[Sequence[int]] = (),
    liked: Sequence[Sequence[int]] = (),
) -> sp.csr_matrix:
    """Pseudo-relevance feedback for the `wanted` rows (empty rows elsewhere): the strongest
    `feedback_terms` terms of the centroid of each one's best listings and liked ones
    (`_best_listings`), L2-normalised, to add to its query."""
    chosen = _best_listings(scores, wanted, params, exclude, liked)
    return _strongest_terms(chosen @ related, params.feedback_terms)


def _strongest_terms(centroid: sp.csr_matrix, count: int) -> sp.csr_matrix:
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


def _below_the_best(scores: np.ndarray, places: np.ndarray | None, params: RankParams) -> np.ndarray:
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
    chosen = _best_listings(scores, np.ones(scores.shape[0], dtype=bool), params)
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


def _popularity(listings: Sequence[Listing]) -> np.ndarray:
    """Upvotes on a log scale, 0 (none, or the source has none) to 1 (the most upvoted listing here)."""
    votes = np.array([max(item.upvotes or 0, 0) for item in listings], dtype=np.float32)
    most = votes.max(initial=0.0)
    return np.log1p(votes) / np.log1p(most) if most > 0 else np.zeros_like(votes)


def _containing(vectorizer, docs_by_column: sp.csc_matrix, phrase: str) -> np.ndarray:
    """A mask of the listings that contain every n-gram of `phrase` (none if it is unknown)."""
    hit = np.zeros(docs_by_column.shape[0], dtype=bool)
    columns = phrase_features(vectorizer, phrase)
    if columns:
        hit[:] = True
        for col in columns:
            present = np.zeros(docs_by_column.shape[0], dtype=bool)
            present[docs_by_column[:, col].indices] = True
            hit &= present
    return hit


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
