"""Latent topics of the listings being ranked, for profiles made of example papers.

A few example papers share few exact words with the rest of their field, but the field's papers
share words with each other. Latent semantic analysis (a truncated SVD of the TF-IDF vectors;
Deerwester et al., "Indexing by Latent Semantic Analysis", 1990) places papers whose words occur
together across the listings near each other, so an example finds papers of its kind that use
other words. It is coarse: it cannot draw the fine line a dislike draws, so the ranker gives it to
example profiles only (liked papers, no dislikes).

Fitted on the listings being ranked (well under a second for 10,000), so nothing is saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

TOPICS = 50  # at most: the usual size for collections of thousands of documents
PER_TOPIC = 10  # and one topic per this many listings: with nearly as many topics as listings
# the SVD only restates each listing and joins nothing.


def fit_topics(vectors: sp.csr_matrix, k: int = TOPICS) -> np.ndarray | None:
    """Each listing's place among up to `k` latent topics, L2-normalised; None below 2 topics, or
    when the listings share too little for any (words alone rank them then)."""
    sharing = int(np.count_nonzero(np.diff(vectors.indptr)))  # listings with a term another one has
    k = min(k, sharing // PER_TOPIC, vectors.shape[1] - 1)
    if k < 2:
        return None
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence
    from sklearn.decomposition import TruncatedSVD
    from threadpoolctl import threadpool_limits

    try:
        # Identical listings have no variance to explain: scikit-learn's ratio of it divides by zero.
        # ARPACK's dense steps are small products that a second BLAS thread only waits on: with one,
        # the SVD of 10,000 listings takes a quarter of the CPU, and far less wall time on busy cores.
        with np.errstate(divide="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
            places = TruncatedSVD(k, algorithm="arpack", random_state=0).fit_transform(vectors)
    except (ArpackError, ArpackNoConvergence):  # degenerate listings: words alone rank them
        return None
    return normalize(places).astype(np.float32)


def topic_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` for dense, finite rows such as topics. Some OpenBLAS kernels leave the invalid-value
    flag of the floating-point unit set after a product of finite numbers (numpy/numpy#24067,
    OpenMathLib/OpenBLAS#1924), and numpy reports it as "invalid value encountered in matmul": CI
    saw it now and then on the seed page's 54 listings, from finite inputs. A product of finite
    numbers has no invalid value to report, so that flag alone is ignored here."""
    with np.errstate(invalid="ignore"):
        return a @ b


def topic_scores(topics: np.ndarray, liked: Sequence[Sequence[str]], index: Mapping[str, int]) -> np.ndarray:
    """One row per profile: every listing's cosine, in topic space, to the mean of its liked papers."""
    scores = np.zeros((len(liked), topics.shape[0]), dtype=np.float32)
    for row, ids in enumerate(liked):
        known = [index[i] for i in ids if i in index]
        if known:
            centre = topics[known].mean(axis=0)
            norm = float(np.linalg.norm(centre))
            if norm > 0:
                scores[row] = topic_product(topics, centre / norm)
    return scores
