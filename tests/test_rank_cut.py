"""A digest holds only what matches (issue 24): the cut on the seed page, with the digest's
default top and min_score, for the profiles the issue names."""

import pytest

from bot.config import DigestConfig
from bot.models import Profile
from bot.rank import rank
from bot.sources.html import parse_hf_papers_page
from tests.conftest import FIXTURES

TOP, MIN_SCORE = DigestConfig().top, DigestConfig().min_score


def digest(listings, *keywords):
    (_, results), *_ = rank(listings, [Profile(name="p", keywords=list(keywords))], top=TOP, min_score=MIN_SCORE)
    by_id = {item.id: item for item in listings}
    return [(by_id[r.listing_id].title, r.why) for r in results]


@pytest.fixture(scope="module")
def day(seed_listings):
    # The seed page and the Hugging Face page of 2024-08-01, which has "The Llama 3 Herd of Models".
    page = parse_hf_papers_page((FIXTURES / "hf_papers_page_2024-08-01.html").read_bytes(), source="hf")
    return seed_listings + page


def test_three_relevant_papers_make_a_digest_of_three(seed_listings):
    # The seed page's papers about tokenization or byte-level models; seven others say only
    # "tokens" (not "tokenization"), "level" or "language models", which everything says.
    titles = [title for title, _ in digest(seed_listings, "tokenization", "byte-level language models")]
    assert titles == [
        "Exact Byte-Level Probabilities from Tokenized Language Models for FIM-Tasks and Model Ensembles",
        "Learn Your Tokens: Word-Pooled Tokenization for Language Modeling",
        "Hierarchical Autoregressive Transformers: Combining Byte-~and Word-Level Processing for Robust, Adaptable "
        "Language Models",
    ]


def test_a_rare_word_of_one_keyword_does_not_pull_in_a_paper_that_has_a_word_of_each(day):
    titles = [title for title, _ in digest(day, "sentence embeddings", "dense retrieval")]
    # "embeddings" and "retrieval": common words, but one of each keyword.
    assert "Starbucks: Improved Training for 2D Matryoshka Embeddings" in titles
    # "dense" alone: a dense Transformer, not dense retrieval.
    assert "The Llama 3 Herd of Models" not in titles
    assert titles[:2] == [
        "RetroMAE v2: Duplex Masked Auto-Encoder For Pre-Training Retrieval-Oriented Language Models",
        "2D Matryoshka Sentence Embeddings",
    ]


def test_a_typed_word_longer_than_its_stem_is_matched_where_the_paper_says_it(seed_listings):
    # "tokenization" and "tokens" share the stem "token": a paper that only says "tokens" is no match.
    titles = [title for title, _ in digest(seed_listings, "tokenization")]
    said = {i.title for i in seed_listings if "tokeniz" in f"{i.title} {i.abstract}".lower()}
    assert titles and set(titles) <= said
