"""Score every listing for every profile and keep each profile's best, with the reasons they matched.

Takes listings, profiles and optionally a saved `TextModel` (without one the vectorizer is fitted
on the listings given, as `bot rank` does; with one, the profiles' keywords and excluded words it
never saw join a copy of its vocabulary: `vectors.knowing`); hands on, per profile, its best
`RankedListing`s.

A profile is of one `Kind`, chosen in `kind_of`, and each kind is a short pipeline of stages: the
query kind's are in `querying`, Rocchio and the learned model in `learning`; the shared stages then
run on every profile, here. Each stage can be switched off (`RankParams.without`).

| stage          | kinds        | what it does                                                                    |
|----------------|--------------|---------------------------------------------------------------------------------|
| bm25           | query        | BM25 of the keywords against every term of a listing (`vectors.weigh`)          |
| coordination   | query        | a listing with more of the keywords scores more (`querying.coordination`)       |
| feedback       | query, ex.   | the best listings' strongest terms join the query (`querying.feedback`)         |
| votes_in_query | query        | a query's likes join that feedback, its dislikes leave it                       |
| topics         | all          | latent topics: a query's best few order the rest (`querying.below_the_best`);   |
|                |              | examples and the learned model match topics beside words (`topics`)             |
| anchoring      | query        | a listing with only the keywords' common words falls behind (`_top_anchored`)   |
| rocchio        | ex., learned | keywords plus liked papers minus disliked ones, as cosines (`learning.blend`)   |
| learned        | ex., learned | from `learn_after` ratings, one a like: a linear SVM joins (`learning.learned`) |
| neighbours     | with votes   | the best scores smoothed over each listing's nearest ones (`neighbours`)        |
| keyword_scale  | ex., learned | with keywords: scores on the scale of their BM25 share                          |
| trend          | shared       | a profile that asks for it lifts listings with many upvotes                     |
| authors        | shared       | each favourite author on a paper adds `author_bonus`                            |
| exclude        | shared       | an excluded word or phrase hides a listing                                      |
| cut            | shared       | the `top` best above `min_score` and, with one, `relative` of the best or more, |
|                |              | or of a whole keyword's best (`querying.whole_keywords`); never a rated or      |
|                |              | skipped listing (`_top`)                                                        |

Keywords are matched against every term of a listing; papers (liked, disliked, the learned model,
feedback) against the terms at least two listings share (`vectors.shared_terms`).

Profiles are scored in chunks sized so that chunk × listings stays under `RankParams.cells`: every
stage works on one matrix per chunk, and memory grows with neither the number of profiles nor the
number of listings beyond that.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from bot.models import Listing, Profile, RankedListing
from bot.rank import learning, querying
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
from bot.strings import fold_accents

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.rank.model import TextModel


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
    return " ".join(fold_accents(name).casefold().replace(".", " ").split())


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
        self.spelled, self.vectorizer, counts, self.own_words, self.derived_in = _vectorize(listings, profiles, model)
        idf = self.vectorizer.idf_
        self.docs, matches = weigh(counts, idf)
        self.related = cosine_vectors(shared_terms(counts), idf)
        self.related.sort_indices()  # once: then the rows a learned model trains on need no sorting each
        self.docs_t, self.related_t = self.docs.T.tocsr(), self.related.T.tocsr()
        # Without the bm25 stage keywords are matched as TF-IDF cosines instead.
        self.matches_t = matches.T.tocsr() if params.has("bm25") else self.docs_t
        del counts, matches
        self.listings, self.params = listings, params
        self.derived_typed = querying.derived_words(k for p in profiles for k in p.keywords)
        self.names = self.vectorizer.get_feature_names_out()
        self.fitted_on = model.documents if model is not None else len(listings)
        self.common = common_words(idf, self.names, self.fitted_on, params.common)
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
    def word_terms(self) -> np.ndarray:
        """A mask of the vocabulary's terms that are words, not phrases."""
        return np.array([" " not in term for term in self.names.tolist()], dtype=bool)

    @cached_property
    def said_typed_t(self) -> sp.csr_matrix:
        """Which listings say each typed word derived from its stem (`querying.Derived`), on first use."""
        return querying.said_typed(self.derived_typed, self.derived_in)

    @cached_property
    def neighbours(self) -> Neighbours:
        """Each listing's nearest listings, found when a profile with votes first asks."""
        return Neighbours(self.related, self.related_t, self.params.cells, self.params.neighbours)

    def known(self, ids: Sequence[str]) -> list[int]:
        return [self.index[i] for i in ids if i in self.index]


def _vectorize(
    listings: Sequence[Listing], profiles: Sequence[Profile], model: TextModel | None
) -> tuple[dict[str, str], TfidfVectorizer, sp.csr_matrix, list[dict[str, str]], list[frozenset[str]]]:
    """The acronyms' long forms, the vectorizer, the listings' term counts, the words each listing
    says a typed stem in and the typed stems it says in a derived word (`vectors.transform_recording`)."""
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
    typed_shares: np.ndarray | None = None  # rated profiles' keywords' BM25 shares (`learning.on_keyword_scale`)
    anchors: querying.Anchors | None = None  # which listings have a query's keywords (`_top_anchored`)
    coverage: np.ndarray | None = (
        None  # asked profiles × listings: the share of its keywords each has (`querying.coverage`)
    )

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
    voted = learning.nonempty(parts.likes) | learning.nonempty(parts.dislikes)
    typed = learning.nonempty(parts.queries)
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
    liked, disliked = querying.votes_in_the_query(chunk.profiles, corpus.index, query & params.has("votes_in_query"))
    queries = _with_rows(chunk.parts.keywords, asked, chunk.parts.queries[asked])
    coordinated = _coordination_stage(corpus, chunk)
    chunk.scores[asked] = (queries[asked] @ corpus.matches_t).toarray() * coordinated
    queries = _feedback_stage(corpus, chunk, queries, liked, disliked)
    shares = querying.bm25_share(queries[asked], corpus.matches_t) * coordinated
    for row, ids in enumerate(ids for ids, q in zip(disliked, asked, strict=True) if q):
        shares[row, ids] = 0  # neither among the best few nor what orders the rest
    if query.any():
        chunk.scores[query] = querying.below_the_best(shares[query[asked]], corpus.topics, params)
    if chunk.typed.any():
        chunk.typed_shares = np.zeros_like(chunk.scores)
        chunk.typed_shares[chunk.typed] = shares[chunk.typed[asked]]
    chunk.queries = queries


def _coordination_stage(corpus: _Corpus, chunk: _Chunk) -> np.ndarray | float:
    """Finds which listings have each query's keywords (for anchoring) and, unless switched off,
    the coordination factor of each asked profile's scores."""
    loose = querying.loose_terms(
        chunk.parts.each_keyword, corpus.vectorizer.idf_, corpus.names, corpus.fitted_on, corpus.params.common
    )
    derived = None
    if corpus.derived_typed:
        keywords = [k for p in chunk.profiles for k in p.keywords]
        stems, typed = querying.derived_rows(keywords, corpus.derived_typed, corpus.vectorizer.vocabulary_, loose)
        derived = querying.Derived(stems, typed, corpus.said_typed_t) if stems.nnz else None
    near, chunk.coverage, chunk.anchors = querying.coverage(
        chunk.parts, chunk.asked, corpus.matches_t, loose, corpus.word_terms, derived
    )
    return querying.coordination(near, corpus.params.coordination) if corpus.params.has("coordination") else 1.0


def _feedback_stage(
    corpus: _Corpus, chunk: _Chunk, queries: sp.csr_matrix, liked: list[list[int]], disliked: list[list[int]]
) -> sp.csr_matrix:
    """The queries with the strongest terms of their best listings and liked papers added."""
    if not corpus.params.has("feedback"):
        return normalize(queries).tocsr()
    voted_on = [a + b for a, b in zip(liked, disliked, strict=True)]
    params = corpus.params
    expansion = querying.feedback(chunk.scores, corpus.related, chunk.asked, params, exclude=voted_on, liked=liked)
    return normalize(queries + params.feedback_weight * expansion).tocsr()


def _rated_pipeline(corpus: _Corpus, chunk: _Chunk) -> None:
    """learned, rocchio, then for examples feedback and topics: the scores of profiles with votes
    as cosines of their keywords, papers and learned model."""
    params, rated = corpus.params, chunk.of(Kind.EXAMPLES, Kind.LEARNED)
    ratings = np.array([len(set(p.likes) | set(p.dislikes)) for p in chunk.profiles], dtype=np.float32)
    parts = chunk.parts
    by_words, by_papers, beside = learning.blend(
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
        expansion = querying.feedback(scores, corpus.related, examples, params, exclude=own)
        by_words, by_papers, scale = learning.unit_rows(by_words, by_papers + params.feedback_weight * expansion)
        beside *= scale[:, None]
        scores = (by_words @ corpus.docs_t + by_papers @ corpus.related_t).toarray() + beside
    if examples.any() and corpus.topics is not None:
        liked = [p.likes if example else () for p, example in zip(rated_profiles, examples, strict=True)]
        by_topic = topic_scores(corpus.topics, liked, corpus.index)
        scores = learning.with_topics(scores, by_topic, examples, params.topic_share)
    chunk.scores[rated] = scores
    chunk.queries = _with_rows(chunk.queries, rated, (by_words + by_papers).tocsr())


def _learned_stage(corpus: _Corpus, chunk: _Chunk, rated: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """The learned models' word rows and, weighed by `topic_share`, their scores on topics for
    every listing (None without topics); empty rows without the learned stage."""
    if not corpus.params.has("learned"):
        return sp.csr_matrix((int(rated.sum()), corpus.docs.shape[1]), dtype=np.float32), None
    learned, learned_topics = learning.learned(
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
    # A floor asks for a digest, cut relative to the best too; none asks for the whole ranking.
    floor = _Floor(cut.floor(profile.name), corpus.params.relative if cut.floor(profile.name) > 0 else 0.0)
    # Keyword queries without a liked paper (which asks for papers like it, in any words).
    if chunk.kinds[row] is Kind.QUERY and not chunk.parts.likes[row].nnz and corpus.params.has("anchoring"):
        asked = int(chunk.asked[:row].sum())
        hits = chunk.anchors.of(asked)
        if len(profile.keywords) > 1:  # a loose word of every keyword: near each facet the person typed
            hits |= chunk.coverage[asked] >= _EVERY
        if floor.share:
            floor = floor._replace(whole=chunk.anchors.whole_of(asked))
        return _top_anchored(scores, limit, floor, hits, list(authors), corpus.params.unanchored), authors
    return _top(scores, limit, floor), authors


_EVERY = 1 - 1e-6  # a coverage of every keyword, as a sum of shares 1 / keywords


class _Floor(NamedTuple):
    """What a result must score: above `least`, and at least `share` of the profile's best or, for
    a keyword it says whole, of that keyword's best (`whole`: `querying.whole_keywords`, or None)."""

    least: float
    share: float
    whole: np.ndarray | None = None


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
        learning.on_keyword_scale(scores, chunk.typed_shares[row], ~shut, params.level_of)


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


def _liked_similarity(
    corpus: _Corpus, chunk: _Chunk, row: int, best: list[int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each liked paper's likeness to each result, twice: its word cosine, 0 where under `relative`
    of its cosine to the listing most like it (the others rated aside); and as the profile was
    ranked (by words, and by topic too unless it learned a model). None without a liked paper here.

    Latent topics rank, but every paper of one field shares them: a liked paper named beside every
    result explains none. A result names it when it is among the papers most like it in words, or
    when nothing else explains the result."""
    profile = chunk.profiles[row]
    liked = corpus.known(profile.likes)
    if not liked or not best:
        return None
    near = (corpus.related[liked] @ corpus.related_t).toarray()
    near[:, corpus.known([*profile.likes, *profile.dislikes])] = 0
    as_ranked = near[:, best]
    similarity = np.where(as_ranked < corpus.params.relative * near.max(axis=1, keepdims=True), 0, as_ranked)
    places = corpus.fitted_topics()
    if places is not None and chunk.kinds[row] is not Kind.LEARNED:
        as_ranked = as_ranked + topic_product(places[liked], places[best].T)
    return similarity, as_ranked


def _ranked(
    corpus: _Corpus,
    profile: Profile,
    scores: np.ndarray,
    best: list[int],
    terms: list[list[str]],
    similarity: tuple[np.ndarray, np.ndarray] | None,
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
            liked_similarity=similarity[0][:, position] if similarity is not None else None,
            liked_titles=liked_titles,
            matched_authors=authors.get(doc),
            liked_as_ranked=similarity[1][:, position] if similarity is not None else None,
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


def common_words(idf: np.ndarray, names: np.ndarray, documents: int, common: float = PARAMS.common) -> frozenset[str]:
    """The words in more than `common` of the listings the vectorizer was fitted on ("paper", "based",
    "approach"): a word one paper in ten says tells little about why this one matched.
    arxiv-sanity drops them from its vectors altogether (`max_df=0.1`); here they still rank, but a
    common word the person did not type is a reason only when nothing else explains a result."""
    return frozenset(term for term in names[idf < querying.common_idf(documents, common)].tolist() if " " not in term)


def _top_anchored(
    scores: np.ndarray, k: int, floor: _Floor, hits: np.ndarray, authors: Sequence[int], unanchored: float
) -> list[int]:
    """`_top` for a keyword profile: first its listings with one of its keywords by more than a
    loose word (`hits`, a mask: `querying.coverage`) or by a favourite author; the others' `scores` (in
    place) are `unanchored` of theirs, when any of them would otherwise be among the `k` best.

    A listing whose only match with a profile's keywords is "models" of "diffusion models" or "use"
    of "tool use" is not about them, yet the best few of a query order the rest
    (`querying.below_the_best`) and could score it as high as a real match. The ranker still counts
    those words (a paper that has "diffusion" and "models" is nearer than one with "diffusion"
    alone), but a listing with nothing more falls behind the listings that have a keyword (all but
    the faintest matches), and the default `min_score` leaves it out of a digest. So does a typed
    word longer than its stem where the paper says only another word of that stem (`querying.Derived`).
    A listing with a loose word of every keyword of a profile with several is anchored: it is near
    each facet the person typed ("embeddings" and "retrieval" of "sentence embeddings, dense
    retrieval"). Listings found
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


def _with_rows(m: sp.csr_matrix, rows: np.ndarray, new: sp.csr_matrix) -> sp.csr_matrix:
    """`m` with its `rows` (a mask) replaced by the rows of `new`, in order."""
    stacked = sp.vstack([m[~rows], new], format="csr")
    return stacked[np.argsort(np.concatenate([np.flatnonzero(~rows), np.flatnonzero(rows)]), kind="stable")]


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


def _top(scores: np.ndarray, k: int, floor: _Floor) -> list[int]:
    """Indices of the k highest scores above max(floor.least, 0) and at least `floor.share` of the
    best or of a whole keyword's best (`floor.whole`), best first (ties by position)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return []
    candidates = np.argpartition(-scores, k - 1)[:k]
    candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    least = max(floor.least, 0.0)
    kept = [int(i) for i in candidates if scores[i] > least]
    if not (floor.share and kept and np.isfinite(scores[kept[0]])):
        return kept
    share = np.nextafter(floor.share * float(scores[kept[0]]), -np.inf)
    whole = floor.whole if floor.whole is not None else np.zeros(scores.shape[0], dtype=np.float32)
    return [i for i in kept if scores[i] > share or whole[i] >= floor.share]


def _display_author(listing: Listing, wanted: str) -> str:
    key = author_key(wanted)
    return next((a for a in listing.authors if author_key(a) == key), wanted)
