"""The stages of profiles with votes scored as cosines (`ranker`): Rocchio (keywords plus liked
papers minus disliked ones) and the learned model, each part weighed against the profile's anchor,
and their scores put on the scale of the keywords' BM25 share.

Each function works on one matrix per group of profiles, as `ranker` hands them over.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from bot.models import Profile
from bot.rank.params import PARAMS, RankParams


def learned(
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
        weights = learn_one(docs, index, profile, places, params)
        words.append(sp.csr_matrix(weights[None, : docs.shape[1]]))
        on_topics[row] = weights[docs.shape[1] :]
    return sp.vstack(words, format="csr"), on_topics if places is not None else None


def learn_one(
    docs: sp.csr_matrix, index: Mapping[str, int], profile: Profile, places: np.ndarray | None, params: RankParams
) -> np.ndarray:
    """One profile's SVM weights on the words and then the topics, L2-normalised (`learned`)."""
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


def blend(
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
    has_model = nonempty(learned_words)
    feedback = nonempty(likes) | has_model | nonempty(dislikes)
    best_kw, best_like = best_scores(keywords, docs_t, feedback), best_scores(likes, related_t, feedback)
    best_dislike = best_scores(dislikes, related_t, feedback)
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
    like_coef = np.where(by_keywords, ratio(anchor * like_share, best_like), 1.0)
    # The learned model earns its weight with the ratings behind it: it takes over as they accumulate.
    start, full = params.learn_after, params.learned_full_at
    ramp = np.clip((ratings - start + 1) / (full - start + 1), 0.0, 1.0) ** 2
    learned_share = params.learned_share * ramp
    learned_coef = ratio(anchor * np.where(by_keywords, learned_share, params.learned_weight), best_learned)
    dislike_coef = -ratio(anchor * params.dislike_share, best_dislike)
    if not params.has("rocchio"):
        like_coef = np.where(by_keywords | has_model, 0.0, like_coef)
        dislike_coef = np.zeros_like(dislike_coef)
    by_papers = sp.diags(like_coef) @ likes + sp.diags(learned_coef) @ learned_words + sp.diags(dislike_coef) @ dislikes
    by_words, by_papers, scale = unit_rows(keywords, by_papers)
    beside = np.zeros_like(model_scores)
    if model_on_topics is not None:
        beside = (scale * learned_coef)[:, None] * model_on_topics
    return by_words, by_papers, beside


def with_topics(scores: np.ndarray, by_topic: np.ndarray, rows: np.ndarray, share: float) -> np.ndarray:
    """`scores` with the topic match of the `rows` added, weighing `share` of each row's best word
    match, and divided by 1 + `share` so a score stays at most 1."""
    out = scores.copy()
    best_words = scores[rows].max(axis=1, keepdims=True)
    best_topic = by_topic[rows].max(axis=1, keepdims=True)
    scale = ratio(best_words, best_topic)
    out[rows] = (scores[rows] + share * scale * by_topic[rows]) / (1 + share)
    return out


def unit_rows(by_words: sp.csr_matrix, by_papers: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Both parts divided by the norm of their sum, so a profile's scores stay cosines (at most 1),
    and the divisor's inverse, for the parts scored beside them."""
    both = (by_words + by_papers).tocsr()
    norms = np.sqrt(np.asarray(both.multiply(both).sum(axis=1), dtype=np.float32).ravel())
    scale = ratio(np.ones_like(norms), norms)
    return (sp.diags(scale) @ by_words).tocsr(), (sp.diags(scale) @ by_papers).tocsr(), scale


def best_scores(part: sp.csr_matrix, docs_t: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Each row's best score over the listings (0 for empty rows and rows not asked for)."""
    out = np.zeros(part.shape[0], dtype=np.float32)
    wanted = np.flatnonzero(rows & nonempty(part))
    if wanted.size:
        out[wanted] = (part[wanted] @ docs_t).max(axis=1).toarray().ravel()
    return out


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float32), where=denominator > 0)


def nonempty(m: sp.csr_matrix) -> np.ndarray:
    return np.diff(m.indptr) > 0


def on_keyword_scale(scores: np.ndarray, shares: np.ndarray, open_: np.ndarray, level_of: int) -> None:
    """A rated profile's `scores` scaled (in place) to the scale of its typed keywords' BM25 share
    (`shares`): its `level_of` best `open_` listings score on average what the best matches of its
    keywords do as a keyword profile's query.

    Its scores are cosines of whole TF-IDF vectors, and a few keywords against an abstract of a
    hundred terms score a fraction of their BM25 share, and would fall below `min_score` after a
    few votes. Scaled, `min_score` and the author bonus mean the same for every kind of profile.
    A mean of several rather than the best alone, since a learned model can be surer of its first
    paper than the keywords are of theirs. The order is the profile's own. When the keywords match
    nothing here, the liked papers carry the profile and their cosines stay."""
    level, mine = mean_of_best(shares, open_, level_of), mean_of_best(scores, open_, level_of)
    if level > 0 and mine > 0:
        scores *= level / mine


def mean_of_best(scores: np.ndarray, where: np.ndarray, level_of: int) -> float:
    """The mean of the `level_of` best positive `scores` among those `where` is true (0 if none)."""
    positive = scores[where & (scores > 0)]
    k = min(level_of, positive.size)
    return float(np.partition(positive, positive.size - k)[positive.size - k :].mean()) if k else 0.0
