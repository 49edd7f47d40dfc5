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


# Reasons that are real (issue 24).


def test_a_loose_word_of_a_keyword_is_no_reason_beside_a_real_one(seed_listings):
    whys = dict(digest(seed_listings, "tokenization", "byte-level language models"))
    hierarchical = next(why for title, why in whys.items() if title.startswith("Hierarchical"))
    assert hierarchical == ("tokenization", "byte")  # not "level": "byte-level" is what was typed
    assert not {"level", "level language", "tokens", "language models"} & {r for why in whys.values() for r in why}


def test_one_like_is_named_only_beside_the_papers_most_like_it(seed_listings):
    by_title = {item.title: item.id for item in seed_listings}
    starbucks = by_title["Starbucks: Improved Training for 2D Matryoshka Embeddings"]
    named = "like: Starbucks: Improved Training for 2D Matryoshka Embeddings"
    for keywords in ([], ["sentence embeddings", "dense retrieval"]):
        profile = Profile(name="p", keywords=keywords, likes=[starbucks])
        ((_, results),) = rank(seed_listings, [profile], top=TOP, min_score=MIN_SCORE)
        whys = {next(t for t, i in by_title.items() if i == r.listing_id): r.why for r in results}
        assert len(whys) >= 5
        assert named in whys["2D Matryoshka Sentence Embeddings"]
        assert 0 < sum(named in why for why in whys.values()) < len(whys)
        autotransfer = "AutoTransfer: AutoML with Knowledge Transfer -- An Application to Graph Neural Networks"
        assert named not in whys.get(autotransfer, ())
        assert keywords or autotransfer in whys  # the tenth of the profile that liked Starbucks alone


def test_a_paper_with_one_whole_keyword_is_not_cut_by_one_with_three(seed_listings):
    # `make demo`'s profile "interpretability": the paper with three of its keywords scores over
    # twice one with "interpretability" or "mechanistic" alone, which a subscriber still wants.
    keywords = ["interpretability", "sparse autoencoders", "circuits", "mechanistic"]
    (_, results), *_ = rank(seed_listings, [Profile(name="p", keywords=keywords)], top=5, min_score=0.05)
    by_id = {item.id: item.title for item in seed_listings}
    titles = [by_id[r.listing_id] for r in results]
    assert "Codebook Features: Sparse and Discrete Interpretability for Neural Networks" in titles
    assert "Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token Phenomena in LLMs" in titles
    assert len(titles) >= 3
    assert all(r.why for r in results)
