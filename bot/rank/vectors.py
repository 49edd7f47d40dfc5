"""Two views of the listings, and one vector per profile built from its interests (Rocchio-style).

The vectorizer counts words and phrases and knows their IDF; from its output `weigh` makes
- TF-IDF vectors (sublinear tf, L2-normalised) to compare papers with papers: liked papers, the
  learned model and pseudo-relevance feedback live in this space;
- BM25 term weights to match a query's words against papers: a word's weight saturates as it
  repeats, and long abstracts are pivoted against the average length rather than divided by
  their whole norm, which ranks short keyword queries better than cosine does (Robertson and
  Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009).

Words are stemmed (Snowball's English stemmer, Porter2) so "robot", "robots" and "robotic" or
"attack" and "attacks" are one term; `readable` turns a stemmed term back into words for `why`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from functools import lru_cache
from itertools import chain, pairwise
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode
from sklearn.preprocessing import normalize

from bot.models import Listing, Profile
from bot.rank.stems import STEM_OVERRIDES, STEMS
from bot.rank.words import STOP_WORDS, WORD


def document(listing: Listing) -> str:
    # The title twice: it is the author's own summary, so its words count more than the abstract's.
    return f"{listing.title}. {listing.title}. {listing.abstract}"


# PyStemmer's C build of the same Snowball stemmer when it is installed (a dependency), which
# `snowballstemmer` picks by itself; its own pure-Python one otherwise. Both give the same stems.
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=500_000)  # a corpus repeats its words: each distinct word is stemmed once
def stem(word: str) -> str:
    return STEM_OVERRIDES.get(word) or _STEMMER.stemWord(word)  # words of another sense: `rank.stems`


class _Stems(dict[str, str]):
    """Each word's stem, "" for a stop word, found the first time the word is read. The analyzer
    looks words up with `map` over this dict: no Python call per word of a text, only per new word."""

    LIMIT = 500_000  # distinct words kept at most: a long-running process's memory stays bounded

    def __missing__(self, word: str) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        found = self[word] = "" if word in STOP_WORDS else stem(word)
        return found


_STEMS = _Stems()

# Snowball strips an s only after a vowel that is not right before it ("gaps", not "gas"), so it
# keeps the s of "LLMs", "CNNs" and "GPUs", and "LLM" would not match "LLMs". Their capitals tell
# an acronym's plural from a word; its s goes before stemming. A word starts at its first capital:
# the look-behind after it, rather than a \b before it, lets the regex engine skip ahead to the next
# capital (2.4 times faster over abstracts).
ACRONYM_PLURAL = re.compile(r"([A-Z](?<!\w\w)[A-Z0-9]*[A-Z0-9])s\b")


def _tokens(text: str) -> list[str]:
    """Every word of `text` as `words` reads it, stop words included: lowercased, accents and an
    acronym's plural s gone."""
    return WORD.findall(strip_accents_unicode(ACRONYM_PLURAL.sub(r"\1", text).lower()))


def words(text: str) -> list[tuple[str, str]]:
    """(stem, word as written, lowercased) for each word of `text` that is not a stop word; an
    acronym's plural is read as the acronym ("LLMs": "llm")."""
    tokens = _tokens(text)
    return [(s, w) for s, w in zip(map(_STEMS.__getitem__, tokens), tokens, strict=True) if s]


def _stems(tokens: list[str]) -> list[str]:
    """The stems of `tokens` that are not stop words, in order (`words` without the words)."""
    return list(filter(None, map(_STEMS.__getitem__, tokens)))


def word_places(text: str, start: int = 0) -> Iterator[tuple[str, int, int]]:
    """(stem, start, end) for each word of `text` from `start` on that is not a stop word, as
    `words` finds them: where each one is in the text as written, so a part of it can be quoted."""
    for match in WORD.finditer(text, start):
        word = match.group()
        word = word[:-1].lower() if ACRONYM_PLURAL.fullmatch(word) else word.lower()
        word = word if word.isascii() else strip_accents_unicode(word)
        if word not in STOP_WORDS:
            yield stem(word), match.start(), match.end()


class Analyzer:
    """Stemmed words and two-word phrases, stop words dropped first (as scikit-learn's word analyzer
    does). A class rather than a closure so a fitted vectorizer can be saved with joblib."""

    def __init__(self) -> None:
        self.stems = STEMS  # saved with the vectorizer: which `stem` made its vocabulary

    def __call__(self, text: str) -> list[str]:
        return _terms(_stems(_tokens(text)))


def _terms(stems: list[str]) -> list[str]:
    return stems + [f"{a} {b}" for a, b in pairwise(stems)]


INFLECTION = 3  # letters an inflection adds to a stem at most: "robot" + "ics", "schedul" + "ing"


def derived(word: str, stem_: str) -> bool:
    """Whether `word` is longer than its stem by more than an inflection (a plural "s" aside):
    "computational" for "comput", not "computing" or "computes"."""
    return len(word) - word.endswith("s") > len(stem_) + INFLECTION


class _Derived(dict[str, "tuple[str, str] | None"]):
    """For each word read: (its stem, the word) if the stem is wanted and the word `derived` from
    it, else None; and in `short`, the stem if it is wanted and the word is not derived, else "".
    Worked out once per distinct word of a batch of texts, then looked up with `map`."""

    def __init__(self, wanted: Set[str]) -> None:
        super().__init__()
        self.wanted = wanted
        self.short: dict[str, str] = {}

    def __missing__(self, word: str) -> tuple[str, str] | None:
        s = _STEMS[word]
        longer = s in self.wanted and derived(word, s)
        self.short[word] = s if s in self.wanted and not longer else ""
        found = self[word] = (s, word) if longer else None
        return found


_NO_WORDS: frozenset[str] = frozenset()


class _Recording(Analyzer):
    """`Analyzer` that also keeps, for each text it reads, `own_words` of the `wanted` stems."""

    def __init__(self, wanted: Set[str]) -> None:
        super().__init__()
        self.derived = _Derived(wanted)
        self.found: list[dict[str, str]] = []
        self.derived_in: list[frozenset[str]] = []  # each text's words derived from a wanted stem

    def __call__(self, text: str) -> list[str]:
        tokens = _tokens(text)
        # Two dict lookups per word through `map`, no Python loop: only its derived words are read one by one.
        longer = list(filter(None, map(self.derived.__getitem__, tokens)))
        short = set(map(self.derived.short.__getitem__, tokens)) if longer else set()
        self.found.append(own_words(longer, short) if longer else {})
        self.derived_in.append(frozenset(w for _, w in longer) if longer else _NO_WORDS)
        return _terms(_stems(tokens))


def own_words(longer: Iterable[tuple[str, str]], short: Set[str]) -> dict[str, str]:
    """The stems a text reaches only through words `derived` from them, each with the first such
    word: the text says "computational" and never "compute", "computes" or "computing".
    `longer`: (stem, word) for its words derived from the stems wanted, in order; `short`: the
    stems wanted it also says in a word no longer than an inflection on them.

    The stemmer joins those words, so a paper that only says "computational" matches a keyword
    "computing"; its reason must then show its own word, not the typed one (`why.Wording`)."""
    out: dict[str, str] = {}
    for s, w in longer:
        if s not in short:
            out.setdefault(s, w)
    return out


def transform_recording(
    vectorizer: TfidfVectorizer, texts: Sequence[str], wanted: Set[str], *, fit: bool = False
) -> tuple[sp.csr_matrix, list[dict[str, str]], list[frozenset[str]]]:
    """`vectorizer.transform(texts)` (or `fit_transform`), `own_words` of the `wanted` stems for
    each text and its words `derived` from them, found in the same pass over its words (reading the
    results' texts again for their reasons cost 5 to 10% of the time of ranking 10,000 profiles;
    this pass, about 2%). A saved vectorizer is left as it was; one fitted here keeps the plain
    `Analyzer`."""
    recording = _Recording(wanted)
    reader = vectorizer if fit else copy.copy(vectorizer)  # a saved model is never changed
    reader.analyzer = recording
    try:
        counts = reader.fit_transform(texts) if fit else reader.transform(texts)
    finally:
        reader.analyzer = Analyzer()
    return counts, recording.found, recording.derived_in


def surface_forms(texts: Iterable[str]) -> dict[str, str]:
    """Each stem's most frequent written form in `texts` (the first seen on a tie)."""
    return forms_of(chain.from_iterable(words(text) for text in texts))


def forms_of(found: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each stem's most frequent word among (stem, word) pairs as `words` gives them (the first seen on a tie)."""
    counts: dict[str, dict[str, int]] = {}
    for s, w in found:
        forms = counts.setdefault(s, {})
        forms[w] = forms.get(w, 0) + 1
    return {s: max(forms, key=forms.__getitem__) for s, forms in counts.items()}


def readable(term: str, *forms: Mapping[str, str]) -> str:
    """A stemmed term in words: each stem as the first of `forms` writes it (the stem itself if none)."""
    return " ".join(next((f[part] for f in forms if part in f), part) for part in term.split())


# BM25's usual constants, as Lucene and Anserini ship them; not fitted to any corpus.
K1, B = 1.2, 0.75


def make_vectorizer(*, min_df: int = 1, max_features: int | None = None) -> TfidfVectorizer:
    """Words and two-word phrases, so "speculative decoding" is matched as a phrase, not two loose words.

    It hands on raw counts × IDF (no tf scaling, no norm): `weigh` makes both views from them."""
    return TfidfVectorizer(
        analyzer=Analyzer(),
        norm=None,
        sublinear_tf=False,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )


def knowing(vectorizer: TfidfVectorizer, phrases: Iterable[str], documents: int) -> TfidfVectorizer:
    """`vectorizer`, or a copy of it that also knows the words and phrases of `phrases` it has not seen.

    A saved vectorizer knows only what its window of listings said. A keyword new to it (a method
    named this week, a phrase no paper had used yet) would match nothing, or only its loose words,
    until the next refit, though the new papers that use it are the very ones its reader waits for.
    So the terms of the profiles' keywords and excluded words join the vocabulary, with the IDF of a
    term none of the `documents` it was fitted on had (smooth IDF, as scikit-learn computes it)."""
    analyzer = vectorizer.build_analyzer()
    vocabulary = vectorizer.vocabulary_
    new = [t for t in dict.fromkeys(chain.from_iterable(map(analyzer, phrases))) if t not in vocabulary]
    if not new:
        return vectorizer
    grown = make_vectorizer()
    grown.set_params(vocabulary={**vocabulary, **{t: len(vocabulary) + i for i, t in enumerate(new)}})
    unseen = np.log(documents + 1.0) + 1.0
    grown.idf_ = np.concatenate([vectorizer.idf_, np.full(len(new), unseen, dtype=vectorizer.idf_.dtype)])
    return grown


def _long_form_rows(vectorizer: TfidfVectorizer, keywords: Sequence[str], spelled: Mapping[str, str]) -> sp.csr_matrix:
    """A row for each keyword (counts × IDF, as `transform` gives them) with the two-word phrases of
    its long form where `spelled` has one, or its one word: "LLM" also matches "large language" and
    "language models", and "MoE" "mixture experts", but not "mixture" alone, which the acronym
    never meant ("Gaussian mixture models")."""
    analyze, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_
    rows, cols = [], []
    for row, keyword in enumerate(keywords):
        if keyword in spelled:
            terms = analyze(spelled[keyword])
            for term in dict.fromkeys([t for t in terms if " " in t] or terms):
                if term in vocabulary:
                    rows.append(row)
                    cols.append(vocabulary[term])
    values = vectorizer.idf_[cols] if cols else np.zeros(0)
    return sp.csr_matrix((values, (rows, cols)), shape=(len(keywords), len(vocabulary)))


def cosine_vectors(counts_idf: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF, L2-normalised, from the vectorizer's counts × IDF."""
    out = counts_idf.astype(np.float32, copy=True).tocsr()
    idf_of = idf[out.indices].astype(np.float32)
    out.data = (1.0 + np.log(np.rint(out.data / idf_of))) * idf_of
    return normalize(out).tocsr()


def shared_terms(counts_idf: sp.csr_matrix) -> sp.csr_matrix:
    """`counts_idf` without the terms only one of these listings uses.

    For comparing papers with papers: such a term can never be shared by two of them, so it only
    adds to its listing's norm and dilutes every similarity that listing has (a paper's one-off
    words made it look less like its true neighbours). Keyword queries still see every term.
    """
    out = counts_idf.tocsr().copy()
    seen = np.bincount(out.indices, minlength=out.shape[1])
    out.data[seen[out.indices] < 2] = 0
    out.eliminate_zeros()
    return out


def weigh(counts_idf: sp.csr_matrix, idf: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The listings' TF-IDF vectors and their BM25 term weights tf / (tf + K1 (1 - B + B len/avg len)).

    The IDF is left to the query side (a profile's keyword vector carries it), and BM25's constant
    factor K1 + 1 is dropped, so a listing's score is at most the sum of the query's weights.
    """
    tf = counts_idf.tocsr().astype(np.float32, copy=True)
    tf.data = np.rint(tf.data / idf[tf.indices]).astype(np.float32)  # the counts again
    length = np.asarray(tf.sum(axis=1), dtype=np.float32).ravel()
    pivot = K1 * (1.0 - B + B * length / max(float(length.mean()), 1.0))
    bm25 = tf.copy()
    bm25.data = tf.data / (tf.data + np.repeat(pivot, np.diff(tf.indptr)))
    return cosine_vectors(counts_idf, idf), bm25


class ProfileParts(NamedTuple):
    """A profile's interests as rows over the vocabulary, one per profile unless said otherwise."""

    keywords: sp.csr_matrix  # its keywords as cosines see them, each keyword alike (L2-normalised)
    queries: sp.csr_matrix  # its keywords as a BM25 query, each weighing its mean IDF (L2-normalised)
    likes: sp.csr_matrix  # the centroid of its liked papers (L2-normalised)
    dislikes: sp.csr_matrix  # the centroid of its disliked papers (L2-normalised)
    each_keyword: sp.csr_matrix  # one row per keyword of these profiles: 1 on each of its terms
    owners: sp.csr_matrix  # profiles × keywords: 1 / its number of keywords on each of its own


def profile_parts(
    vectorizer: TfidfVectorizer,
    docs: sp.csr_matrix,
    index: dict[str, int],
    profiles: Sequence[Profile],
    spelled: Mapping[str, str] | None = None,
) -> ProfileParts:
    """Each profile's interests as rows the ranker weighs (`learning.blend`, `querying.coverage`);
    empty rows where a profile has none of a kind. A keyword in `spelled` (an acronym: its long
    form, `acronyms.long_forms`) has the terms of both."""
    n = len(profiles)
    like_w, dislike_w = (
        sp.lil_matrix((n, docs.shape[0]), dtype=np.float32),
        sp.lil_matrix((n, docs.shape[0]), dtype=np.float32),
    )
    for row, profile in enumerate(profiles):
        for ids, weights in ((profile.likes, like_w), (profile.dislikes, dislike_w)):
            known = [index[i] for i in ids if i in index]
            for col in known:
                weights[row, col] = 1.0 / len(known)
    keywords, queries, each_keyword, owners = _keyword_rows(vectorizer, profiles, spelled or {})
    likes = normalize(like_w.tocsr() @ docs).tocsr()
    dislikes = normalize(dislike_w.tocsr() @ docs).tocsr()
    return ProfileParts(keywords, queries, likes, dislikes, each_keyword, owners)


def _keyword_rows(
    vectorizer: TfidfVectorizer, profiles: Sequence[Profile], spelled: Mapping[str, str]
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Each profile's keywords summed and L2-normalised, two ways: each keyword a unit TF-IDF vector
    (every keyword alike), and each one weighing the mean IDF of its terms (the BM25 query); then
    each keyword's terms on their own row, and which profile owns each row (`ProfileParts`).

    Matched by cosine against TF-IDF vectors, a keyword's IDF already counts on the listings' side.
    BM25 leaves IDF to the query (`weigh`), so there a keyword's weight is all that says how
    specific it is: "security" must count less than "hardness of approximation", as a common word
    counts less than a rare one in any BM25 query. Scaled to unit norm each, a one-word keyword
    weighed 1 however common its word; on the two benchmark keyword sets the mean IDF raised P@10
    from 0.695 to 0.705 and from 0.655 to 0.685. Within a keyword its terms keep their TF-IDF
    proportions. Profiles without keywords get empty rows."""
    texts = [keyword for profile in profiles for keyword in profile.keywords]
    owners = [row for row, profile in enumerate(profiles) for _ in profile.keywords]

    def owned(weights: np.ndarray) -> sp.csr_matrix:  # profiles × keywords, each keyword's weight
        return sp.csr_matrix((weights, (owners, range(len(texts)))), shape=(len(profiles), len(texts)))

    shares = owned(np.array([1.0 / len(profiles[row].keywords) for row in owners], dtype=np.float32))
    if not texts:
        empty = sp.csr_matrix((len(profiles), len(vectorizer.idf_)), dtype=np.float32)
        return empty, empty, sp.csr_matrix((0, len(vectorizer.idf_)), dtype=np.float32), shares
    # Each keyword is transformed on its own, so no phrase is invented across two keywords.
    counts_idf = vectorizer.transform(texts).tocsr()
    if spelled:
        counts_idf = counts_idf.maximum(_long_form_rows(vectorizer, texts, spelled)).tocsr()
    vectors = cosine_vectors(counts_idf, vectorizer.idf_)
    each_keyword = counts_idf.astype(np.float32)
    each_keyword.data[:] = 1
    terms = np.diff(each_keyword.indptr)
    idf_of = each_keyword.copy()
    idf_of.data = vectorizer.idf_[idf_of.indices].astype(np.float32)
    idf_sums = np.asarray(idf_of.sum(axis=1), dtype=np.float32).ravel()
    mean_idf = np.divide(idf_sums, terms, out=np.zeros_like(idf_sums), where=terms > 0)
    alike = normalize(owned(np.ones(len(texts), dtype=np.float32)) @ vectors).tocsr()
    by_idf = normalize(owned(mean_idf) @ vectors).tocsr()
    return alike, by_idf, each_keyword, shares


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
