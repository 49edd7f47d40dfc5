"""Why a listing matched a profile: the phrases that weighed most, the liked paper it resembles, the author.

`matched_terms` finds the terms of every (profile, listing) result of a chunk of profiles at once,
in a few sparse operations: term by term per result, it was a third of the time of ranking 10,000
profiles. Terms come from the profile's own vector (its keywords and liked papers) first; only when
none of those is in the listing do the words the ranking added (feedback, learned model) explain
it. The vectorizer drops stop words, so no reason is ever a stop word; its terms are stemmed, and
`Wording` writes them back in words: as the profile's keywords say them where they come from one,
else as the listing does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, pairwise

import numpy as np
import scipy.sparse as sp

from bot.models import Listing
from bot.rank.vectors import INFLECTION, derived, document, forms_of, readable, surface_forms, word_places, words
from bot.strings import cut

MAX_TERMS = 3
# A term weighing less than this share of the strongest one explains little ("model" beside
# "parallel decoding"): it is left out of `why`.
RELATIVE_FLOOR = 0.2
MIN_LIKE_SIMILARITY = 0.02  # below this a liked paper explains nothing
_TITLE_CHARS = 70
_NONE: Mapping[str, str] = {}  # a listing with no `own` words


def explain(
    worded: Sequence[str],
    *,
    liked_similarity: np.ndarray | None = None,
    liked_titles: Sequence[str] = (),
    matched_authors: Sequence[str] | None = None,
    liked_as_ranked: np.ndarray | None = None,
) -> tuple[str, ...]:
    """The reasons for one result: its authors the profile follows, its `matched_terms` in words
    (`worded`, as `Wording.phrases` gives them) and the liked paper it most resembles
    (`liked_similarity[j]` is its likeness to the profile's j-th liked paper, 0 where too faint to
    name: `ranker._liked_similarity`). When nothing else explains it, the liked paper it is most
    like as it was ranked (`liked_as_ranked`, by topics too) is its reason."""
    if not matched_authors and liked_similarity is None:  # a keyword profile's: most results
        return tuple(dict.fromkeys(worded))
    reasons = [f"author: {name}" for name in matched_authors or []]
    reasons += dict.fromkeys(worded)  # two stems may read alike: once each
    likeness = liked_as_ranked if not reasons and liked_as_ranked is not None else liked_similarity
    if likeness is not None and likeness.size and liked_titles:
        best = int(np.argmax(likeness))
        if likeness[best] >= MIN_LIKE_SIMILARITY:
            title = liked_titles[best]
            reasons.append("like: " + cut(title, _TITLE_CHARS))
    return tuple(reasons)


def matched_terms(
    profiles: sp.csr_matrix,
    expanded: sp.csr_matrix,
    docs: sp.csr_matrix,
    pairs: tuple[np.ndarray, np.ndarray],
    feature_names: np.ndarray,
) -> list[list[str]]:
    """For each pair (row of `profiles`, row of `docs`), the terms that weighed most in the match:
    the profile's own terms, or the `expanded` row's (same rows) when the listing has none of them."""
    rows, listings = pairs
    terms = _strongest(profiles[rows].multiply(docs[listings]), feature_names)
    unexplained = np.array([not found for found in terms], dtype=bool)
    if unexplained.any():
        again = _strongest(expanded[rows[unexplained]].multiply(docs[listings[unexplained]]), feature_names)
        for position, found in zip(np.flatnonzero(unexplained), again, strict=True):
            terms[position] = found
    return terms


def _strongest(contributions: sp.spmatrix, feature_names: np.ndarray) -> list[list[str]]:
    """Each row's strongest terms (at least RELATIVE_FLOOR of its best), a phrase before its words."""
    contributions = sp.csr_matrix(contributions)
    contributions.sum_duplicates()  # canonical: each row's columns in order, so ties break alike
    owner = np.repeat(np.arange(contributions.shape[0]), np.diff(contributions.indptr))
    best = np.zeros(contributions.shape[0], dtype=contributions.dtype)
    np.maximum.at(best, owner, contributions.data)
    strong = contributions.data > RELATIVE_FLOOR * best[owner]
    strong &= contributions.data > 0
    # All rows' terms at once: by row, then strongest first (lexsort is stable: then by column).
    order = np.lexsort((-contributions.data[strong], owner[strong]))
    owner, columns = owner[strong][order], contributions.indices[strong][order]
    # Terms that read as no phrase are dropped once per distinct term, not once per result.
    distinct, each = np.unique(columns, return_inverse=True)
    kept = ~np.array([_doubled(term) for term in feature_names[distinct].tolist()], dtype=bool)[each]
    owner, columns = owner[kept], columns[kept]
    starts = np.searchsorted(owner, np.arange(contributions.shape[0] + 1))
    # Each row's MAX_TERMS * 4 strongest are enough to find MAX_TERMS; their names, looked up at once.
    first = np.arange(owner.size) - starts[owner] < MAX_TERMS * 4
    names = feature_names[columns[first]].tolist()
    starts = np.searchsorted(owner[first], np.arange(contributions.shape[0] + 1)).tolist()
    out = []
    for lo, hi in pairwise(starts):
        strongest = names[lo:hi]
        # A phrase explains better than its words: keep "speculative decoding", drop "decoding" beside it.
        covered = {word for term in strongest if " " in term for word in term.split()}
        out.append([term for term in strongest if " " in term or term not in covered][:MAX_TERMS])
    return out


def _doubled(term: str) -> bool:
    """A word beside itself ("scene of the scene" makes "scene scene"): a pair that reads as no
    phrase. It still counts in the ranking (a word said twice in a row); it only explains nothing."""
    first, _, second = term.partition(" ")
    return first == second


class Wording:
    """One profile's reasons in words.

    A term from a keyword reads as that keyword's own words: "models of computation", not the
    phrase the vectorizer keeps once stop words are gone ("model computation"); "NP-complete", not
    "np complete". The terms of one keyword that overlap in it read as one phrase: "ad hoc" and "hoc
    networks" are "ad hoc networks". Other terms (from liked papers, feedback) read as the keywords
    write their words, else as the listing does; those that overlap, as the listing's phrase:
    "universal turing" and "turing machines" are "universal turing machines". Two words the
    vectorizer paired across a sentence ("problem. Hyperbolic") and `common` words ("based",
    "approach") are a reason only if nothing else is.

    A reason puts no words in a listing's mouth but another ending. The stemmer joins a word's
    inflections ("robots", "robotic": "robot"), and a reason shows the typed one for them; but it
    also joins words of one root that mean other things. So a typed word longer than its stem by
    more than an inflection ("accessibility" for "access") is shown only where the listing has it;
    any other typed word, only where the listing has a word no longer than an inflection on its
    stem ("computing" for "computes", never for a listing that only says "computational": its `own`
    words, `vectors.own_words`); and typed words joined by more than a space or a dash only where
    the listing says them so ("logics of programs" also matches "logic programs"). Elsewhere the
    listing's own words are shown.
    Most reasons need no search of the listing: what a term reads as is kept across the results.
    """

    def __init__(self, keywords: Sequence[str], common: Set[str] = frozenset()) -> None:
        self.keywords = list(keywords)
        self.common = common
        said = [words(keyword) for keyword in self.keywords]
        self.typed = forms_of(chain.from_iterable(said))
        for keyword in self.keywords:  # an acronym reads as typed: "LLM", not "llm"
            for s, a, b in word_places(keyword):
                if sum(ch.isupper() for ch in keyword[a:b]) >= 2:
                    self.typed[s] = keyword[a:b]
        self.stems = [[s for s, _ in found] for found in said]
        self.loose = _loose_words(self.stems, common)
        # Each term's first place in the keywords: (keyword, first word, last word).
        self.first: dict[str, tuple[int, int, int]] = {}
        for k, stems in enumerate(self.stems):
            for i, s in enumerate(stems):
                self.first.setdefault(s, (k, i, i))
                if i + 1 < len(stems):
                    self.first.setdefault(f"{s} {stems[i + 1]}", (k, i, i + 1))
        self.spans: dict[tuple[int, int, int], _Typed | None] = {}  # `_typed` of the spans met so far
        self.known: dict[str, tuple[str, list[str]] | None] = {}  # term: as typed, and the words to look for
        self.read: dict[tuple[str, ...], tuple[str, ...]] = {}  # `phrases` that did not look at the listing
        self.parts: dict[tuple[str, ...], frozenset[str]] = {}  # the stems in those terms
        self.looked = False

    def phrases(self, terms: Sequence[str], listing: Listing, own: Mapping[str, str] = _NONE) -> list[str]:
        """`terms` (strongest first) in words; those that overlap in a keyword, or in the listing, as
        one phrase. `own`: the listing's `vectors.own_words` for the stems of these keywords."""
        # Most results of a profile have the same few terms, and most readings never look at the
        # listing: those are kept and read again for the next result (4 in 10 of rank_speed's).
        key = tuple(terms)
        if own:
            parts = self.parts.get(key)
            if parts is None:
                parts = self.parts[key] = frozenset(part for term in terms for part in term.split())
            said_own = not own.keys().isdisjoint(parts)
        else:
            said_own = False
        if not said_own and key in self.read:
            return list(self.read[key])
        self.looked = False
        out = self._phrases(terms, listing, own)
        if not said_own and not self.looked:
            self.read[key] = tuple(out)
        return out

    def _phrases(self, terms: Sequence[str], listing: Listing, own: Mapping[str, str]) -> list[str]:
        out: list[str] = []
        apart: list[str] = []  # what explains little: reasons only if nothing else is
        for span in self._spans(terms):
            if span.keyword is not None and span.lo < span.hi:
                loose = all((span.keyword, s) in self.loose for s in self.stems[span.keyword][span.lo : span.hi + 1])
                (apart if loose else out).extend(self._span(span.keyword, span, listing, own))
            elif len(span.stems) > 2 and (quoted := self._quote(listing, span.stems)):
                out.append(quoted)  # the listing's phrase, as it writes it
            else:
                self._apart(span, listing, own, out, apart)
        return out or apart

    def _spans(self, terms: Sequence[str]) -> list[_Span]:
        """`terms` grouped by the words of a keyword they overlap in, or chained by the words they share."""
        spans: list[_Span] = []
        for term in terms:
            place = self.first.get(term)
            if place is None:
                _chain(spans, term)
                continue
            k, lo, hi = place
            joined = next((s for s in spans if s.keyword == k and lo <= s.hi and s.lo <= hi), None)
            if joined is None:
                spans.append(_Span(k, lo, hi, [term]))
            else:
                joined.lo, joined.hi = min(joined.lo, lo), max(joined.hi, hi)
                joined.terms.append(term)
        return spans

    def _apart(self, span: _Span, listing: Listing, own: Mapping[str, str], out: list[str], apart: list[str]) -> None:
        """A span's terms read one by one: to `out` what explains, to `apart` what explains little."""
        for term in span.terms:
            if " " not in term:
                if span.keyword is None:
                    explains = term not in self.common  # said by few
                else:  # a typed word, not a loose one, said as typed ("tokens" is not "tokenization")
                    explains = (span.keyword, term) not in self.loose and self._said_as_typed(term, listing)
                (out if explains else apart).append(self.words(term, listing, own))
            elif quoted := self._quote(listing, term.split()):
                out.append(quoted)
            else:
                apart.append(self.words(term, listing, own))

    def _span(self, k: int, span: _Span, listing: Listing, own: Mapping[str, str]) -> list[str]:
        """A span of keyword `k` as the keyword writes it, where the listing says it so or differs
        only in the endings of its words; else as the listing does."""
        key = (k, span.lo, span.hi)
        if key not in self.spans:
            self.spans[key] = self._typed(*key)
        typed = self.spans[key]
        if typed is not None:
            text, stems, long, short = typed
            honest = not any(s in own for s in short)  # else the listing says "computational" for a typed "computing"
            if honest and long is not None:  # nothing but the words: other endings read as typed, as one word's do
                if all(word in self._lowered(listing) for word in long):
                    return [text]
            elif honest and self._says(listing, text):
                return [text]
            else:  # "models of computation", "computational models": the listing's words, if it joins them as closely
                quoted = self._quote(listing, stems)
                if quoted:
                    return [quoted]
        return [self.words(term, listing, own) for term in span.terms]

    def _typed(self, k: int, lo: int, hi: int) -> _Typed | None:
        """Words `lo` to `hi` of keyword `k`: as typed, their stems, when nothing but spaces or dashes
        joins them those of them longer than their stem by more than an ending (else None), and the
        stems of those that are not `derived` (a listing's `own` word for one is not the typed word)."""
        keyword = self.keywords[k]
        places = list(word_places(keyword))
        if [s for s, _, _ in places] != self.stems[k]:  # Unicode that lowercases to other words
            return None
        places = places[lo : hi + 1]
        text = keyword[places[0][1] : places[-1][2]]
        long = None
        if all(_SPACE.fullmatch(keyword[a[2] : b[1]]) for a, b in pairwise(places)):
            long = [keyword[a:b].lower() for s, a, b in places if b - a > len(s) + INFLECTION]
        short = [s for s, a, b in places if not derived(keyword[a:b].lower(), s)]
        return text, [s for s, _, _ in places], long, short

    def words(self, term: str, listing: Listing, own: Mapping[str, str] = _NONE) -> str:
        """One term as the keywords write its words, else as the listing does."""
        if term not in self.known:
            self.known[term] = self._as_typed(term)
        known = self.known[term]
        if known is not None:
            text, long = known
            if not long or all(word in self._lowered(listing) for word in long):
                if not own:
                    return text
                # "computational": the listing's own word, where it says no shorter one for a typed word
                instead = {p: own[p] for p in term.split() if p in own and not derived(self.typed[p], p)}
                return readable(term, instead, self.typed) if instead else text
        return readable(term, self._forms(listing), self.typed)

    def _said_as_typed(self, term: str, listing: Listing) -> bool:
        """Whether the listing says a typed word longer than its stem by more than an inflection
        where it has that stem: else its word is another ("tokens" for "tokenization")."""
        typed = self.typed.get(term)
        if typed is None or len(typed) <= len(term) + INFLECTION:
            return True
        return typed.lower() in self._lowered(listing)

    def _as_typed(self, term: str) -> tuple[str, list[str]] | None:
        """A term all of whose words were typed: as typed, and its typed words longer than an
        inflection on their stem (shown only where the listing has them); else None."""
        parts = term.split()
        if not all(part in self.typed for part in parts):
            return None
        long = [self.typed[p].lower() for p in parts if len(self.typed[p]) > len(p) + INFLECTION]
        return readable(term, self.typed), long

    # What the listing says, for `phrases`: each notes that the reading looked at it.
    def _lowered(self, listing: Listing) -> str:
        self.looked = True
        return _lowered(listing)

    def _says(self, listing: Listing, typed: str) -> bool:
        self.looked = True
        return _says(listing, typed)

    def _quote(self, listing: Listing, stems: Sequence[str]) -> str | None:
        self.looked = True
        return _quote(listing, stems)

    def _forms(self, listing: Listing) -> dict[str, str]:
        self.looked = True
        return _forms(listing)


def _loose_words(stems: Sequence[Sequence[str]], common: Set[str]) -> set[tuple[int, str]]:
    """(keyword, stem) for each keyword's loose words, as `querying.loose_terms` finds them: common,
    beside a word of that keyword that is not."""
    return {(k, s) for k, said in enumerate(stems) if set(said) - common for s in said if s in common}


@dataclass
class _Span:
    """Words `lo` to `hi` of keyword number `keyword`, or for terms from no keyword (None) the
    `stems` of the words they chain into; and the terms of a result that fall in them."""

    keyword: int | None
    lo: int
    hi: int
    terms: list[str]
    stems: list[str] = field(default_factory=list)


def _chain(spans: list[_Span], term: str) -> None:
    """A term from no keyword joins the phrase of another that it overlaps ("universal turing" and
    "turing machines": "universal turing machines"), else starts its own."""
    stems = term.split()
    if len(stems) == 2:
        for span in spans:
            if span.keyword is not None or len(span.stems) < 2:
                continue
            # Never a word twice: "based on lattices" does not join "lattice based ciphers".
            if span.stems[-1] == stems[0] and stems[1] not in span.stems:
                span.stems.append(stems[1])
            elif span.stems[0] == stems[1] and stems[0] not in span.stems:
                span.stems.insert(0, stems[0])
            else:
                continue
            span.terms.append(term)
            return
    spans.append(_Span(None, 0, 0, [term], stems))


_Typed = tuple[str, list[str], list[str] | None, list[str]]


def _says(listing: Listing, typed: str) -> bool:
    """Whether the listing has these words as typed, from a word's start: a longer ending ("codes"
    for "code"), other case, or a dash for a space still count."""
    return _starts_a_word(_lowered(listing), typed.lower().translate(_DASHES)) is not None


def _starts_a_word(text: str, part: str, start: int = 0) -> int | None:
    """Where `part` first occurs in `text` at a word's start, from `start` on (a plain search, which
    most reasons need: far cheaper than a pattern)."""
    at = text.find(part, start)
    while at > 0 and text[at - 1].isalnum():
        at = text.find(part, at + 1)
    return at if at >= 0 else None


def _quote(listing: Listing, stems: Sequence[str]) -> str | None:
    """The listing's own words for these stems, in a row with at most a short joining word between
    two ("models of computation", not "computation along with the complexity"), lowercased but
    for acronyms; None if it has no such place.

    Only the places where the first word starts are read: a stem but its last letter is the start
    of its words, the stemmer's endings aside ("studi" for "study", "ture" for "turing")."""
    text, lowered = _text(listing), _lowered(listing)
    if len(lowered) != len(text):  # lowercasing changed the length: places would not line up
        return None
    first = stems[0][:-1] if len(stems[0]) > 3 else stems[0]
    at = _starts_a_word(lowered, first)
    while at is not None:
        places: list[tuple[str, int, int]] = []
        for place in word_places(text, at):
            if place[0] != stems[len(places)]:
                break
            places.append(place)
            if len(places) == len(stems):
                break
        if len(places) == len(stems) and all(_JOIN.fullmatch(text[a[2] : b[1]]) for a, b in pairwise(places)):
            written = text[places[0][1] : places[-1][2]].split()
            return " ".join(w if w.isupper() else w.lower() for w in written)
        at = _starts_a_word(lowered, first, at + 1)
    return None


_DASH = "-‐‑‒–—"  # a hyphen and the dashes that stand for one: "human–computer" is "human-computer"
_SPACE = re.compile(rf"[\s{re.escape(_DASH)}]+")  # what joins a phrase's words and nothing more
_JOIN = re.compile(rf"{_SPACE.pattern}|\s+(?:of|for|in|on|and|the|a|an)\s+", re.IGNORECASE)  # or a short word


def _lowered(listing: Listing) -> str:
    return _lowered_text(listing.title, listing.abstract)


# A listing's several reasons, and the listing in other profiles' results, read the same text.
# Keyed by its strings, whose hashes Python keeps, rather than by the listing, hashed field by field.
@lru_cache(maxsize=4096)
def _lowered_text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}".lower().translate(_DASHES)


_DASHES = str.maketrans(_DASH, " " * len(_DASH))  # "human–computer" says "human computer" too


def _text(listing: Listing) -> str:
    return f"{listing.title}. {listing.abstract}"


@lru_cache(maxsize=1024)
def _forms(listing: Listing) -> dict[str, str]:
    return surface_forms([document(listing)])
