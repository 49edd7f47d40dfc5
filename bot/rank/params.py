"""The ranker's tuning constants in one place, each with what it means (`ranker` names the stages).

The values were chosen on the relevance benchmark (benchmarks/relevance.py, results in
benchmarks/RESULTS.md); `without` switches stages off, for that benchmark's `--ablate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stages a `RankParams.without` may name (the table of `ranker`'s docstring says what each does).
STAGES = (
    "bm25",
    "coordination",
    "feedback",
    "votes_in_query",
    "topics",
    "anchoring",
    "rocchio",
    "learned",
    "neighbours",
    "keyword_scale",
)


@dataclass(frozen=True)
class RankParams:
    # What is read and when a profile is what kind.
    learn_after: int = 5  # ratings (likes + dislikes, one a like) from which a model is learned
    common: float = 0.1  # a word in more than this share of the listings is common: loose in a phrase, a last reason
    # Keyword queries.
    coordination: float = 0.5  # a listing with every keyword scores up to this much more than one with one
    unanchored: float = 0.01  # share of its score kept by a listing with none of the keywords but their common words
    # Pseudo-relevance feedback (Rocchio on the top of the first ranking, RM3's usual sizes).
    feedback_docs: int = 10  # best listings whose centroid is the feedback
    feedback_terms: int = 20  # strongest terms of that centroid added to the query
    feedback_weight: float = 0.5  # weight of those terms against the query's own (unit rows both)
    liked_feedback: float = 3.0  # a query's liked paper counts this many of the best listings in its feedback
    topic_share: float = 0.5  # weight of the latent-topic match beside the word match (examples, learned model)
    # Rocchio and the learned model, for profiles scored as cosines.
    feedback_share: float = 0.8  # with keywords: the liked papers' best match at most this share of the keywords'
    dislike_share: float = 0.3  # the disliked papers take off up to this share of the anchor's best
    learned_weight: float = 1.0  # without keywords: the learned model's weight against the liked papers
    learned_share: float = 2.0  # with keywords: the learned model's share of the keywords' best at full weight
    learned_full_at: int = 10  # ratings at which the learned model has its full share (its square rises to it)
    learned_c: float = 0.1  # the linear SVM's regularisation C
    background: int = 2000  # unrated listings sampled as the SVM's weak negatives (bounds training cost)
    unrated_weight: float = 0.1  # each of those weighs this much of a disliked paper
    # Smoothing over nearest listings (`neighbours`), for profiles with votes.
    neighbours: int = 10  # nearest listings a score is smoothed over
    smoothing: float = 0.5  # a smoothed score's share from its neighbours, the rest its own
    candidates: int = 100  # at least this many of a profile's best listings are smoothed, and 5 × its top
    level_of: int = 10  # a rated profile's best this many score on average its keywords' best BM25 shares
    # Shared stages.
    author_bonus: float = 0.3  # added per favourite author on the paper: as much as a good keyword match
    # A share of the best: a digest (with a min_score) keeps listings scoring this much of its best or more
    # or saying a keyword whole this much as strongly as its best listing does, and a liked paper is a
    # result's reason where their cosine is this much of its best with any listing.
    relative: float = 0.5
    # Bounds: memory and time, not relevance.
    chunk: int = 256  # at most this many profiles scored at once
    cells: int = 2_560_000  # and at most this many profile × listing scores held at once (~10 MB of float32)
    results_at_once: int = 8192  # results whose reasons are found together
    without: frozenset[str] = field(default_factory=frozenset)  # stages switched off (names of STAGES)

    def __post_init__(self) -> None:
        unknown = set(self.without) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown ranking stage(s): {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}")

    def has(self, stage: str) -> bool:
        """Whether `stage` runs."""
        return stage not in self.without


PARAMS = RankParams()
