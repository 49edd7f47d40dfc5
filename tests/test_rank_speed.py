"""What keeps `bot rank` fast without changing what it ranks (benchmarks/rank_speed.py times it)."""

from bot.models import Listing


def _corpus(n: int = 60) -> list[Listing]:
    import random

    rng = random.Random(1)
    vocabulary = [
        "lattice",
        "cipher",
        "encryption",
        "protocol",
        "adversary",
        "signature",
        "pixels",
        "segmentation",
        "camera",
        "depth",
    ]
    return [
        Listing(id=str(i), title=" ".join(rng.sample(vocabulary, 3)), abstract=" ".join(rng.choices(vocabulary, k=30)))
        for i in range(n)
    ]


def test_the_svd_of_the_listings_runs_on_one_blas_thread(monkeypatch):
    """ARPACK's dense steps are too small for a second thread, which only spins: on two busy cores
    the SVD of 10,000 listings took 11 s on two BLAS threads and 1.3 s on one."""
    from sklearn.decomposition import TruncatedSVD
    from threadpoolctl import threadpool_info, threadpool_limits

    from bot.rank.topics import fit_topics
    from bot.rank.vectors import cosine_vectors, document, make_vectorizer

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    seen: list[list[int]] = []
    original = TruncatedSVD.fit_transform

    def watched(self, *args, **kwargs):
        seen.append(blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TruncatedSVD, "fit_transform", watched)
    vectorizer = make_vectorizer()
    vectors = cosine_vectors(vectorizer.fit_transform(map(document, _corpus())), vectorizer.idf_)
    with threadpool_limits(2, user_api="blas"):  # as on a machine of two cores or more
        assert fit_topics(vectors) is not None
        assert set(blas_threads()) == {2}  # given back as it was
    assert seen and all(set(threads) == {1} for threads in seen)
