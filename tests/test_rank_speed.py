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


def _benchmark_words() -> list[str]:
    import json
    import re
    from pathlib import Path

    data = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "arxiv-cs-2016-03.jsonl"
    texts = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    return sorted({w for x in texts for w in re.findall(r"[a-z][a-z0-9]+", f"{x['title']} {x['abstract']}".lower())})


def test_words_are_stemmed_by_pystemmer_with_the_stems_of_pure_python_snowball():
    """PyStemmer is the C build of the same Snowball stemmers; `snowballstemmer`, which the analyzer
    asks for its stemmer, uses it when it is installed. A saved model's vocabulary holds stems, so
    they must be the very same."""
    import snowballstemmer
    from snowballstemmer.english_stemmer import EnglishStemmer

    stemmer = snowballstemmer.stemmer("english")
    assert type(stemmer).__module__ == "Stemmer"  # the C build: its pure-Python twin was 60% of ranking
    words = _benchmark_words()
    assert len(words) > 9_000
    assert stemmer.stemWords(words) == [EnglishStemmer().stemWord(w) for w in words]


def test_an_acronyms_plural_is_found_only_where_a_word_starts():
    """ACRONYM_PLURAL starts a word at its capital with a look-behind, which lets the regex engine
    skip to the next capital: it must read as a \\b before the capital would."""
    import re

    from bot.rank.vectors import ACRONYM_PLURAL

    at_a_boundary = re.compile(r"\b([A-Z][A-Z0-9]*[A-Z0-9])s\b")
    texts = ["LLMs", "(CNNs)", "GPUs,TPUs", "A1s AAs A2s", "x-LLMs", "LLMs."]
    texts += ["xLLMs", "éLLMs", "_LLMs", "1LLMs", "ÀBCs", "aBCs", "Bs", "ABCss", "ABCs_", "LLMsLLMs"]
    assert [ACRONYM_PLURAL.sub(r"\1", t) for t in texts] == [at_a_boundary.sub(r"\1", t) for t in texts]
    assert [ACRONYM_PLURAL.sub(r"\1", t) for t in texts[:6]] == ["LLM", "(CNN)", "GPU,TPU", "A1 AA A2", "x-LLM", "LLM."]
    assert [ACRONYM_PLURAL.sub(r"\1", t) for t in texts[6:]] == texts[6:]
