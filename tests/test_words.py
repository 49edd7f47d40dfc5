"""The words the ranker matches, known without importing scikit-learn."""

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.rank.vectors import words
from bot.rank.words import STOP_WORDS, matchable, unmatchable


def test_the_stop_words_are_scikit_learns():
    assert STOP_WORDS == ENGLISH_STOP_WORDS


def test_what_cannot_match_is_what_the_ranker_drops():
    terms = ["C++", "R", "IT", "the of and", "system", "IT security", "C++ templates", "3D vision", "ﬁnite automata"]
    assert unmatchable(terms) == ["C++", "R", "IT", "the of and", "system"]
    for term in terms:
        assert bool(matchable(term)) == bool(words(term)), term
