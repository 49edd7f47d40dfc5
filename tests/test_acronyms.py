"""Acronyms typed as keywords match their long form, as the listings define it (`bot.rank.acronyms`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.models import Listing, Profile
from bot.rank import rank
from bot.rank.acronyms import is_acronym, long_forms
from bot.rank.model import fit_model


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("LLM", True),
        ("LLMs", True),
        ("MoE", True),
        ("ViT", True),
        ("RLHF", True),
        ("GPT-4", True),
        ("llm", False),  # typed in lowercase: a word like any other
        ("MapReduce", False),
        ("NP-hard", False),
        ("speculative decoding", False),
        ("A", False),
    ],
)
def test_what_counts_as_an_acronym(keyword, expected):
    assert is_acronym(keyword) is expected


def test_the_long_form_is_the_one_the_listings_give_most_often():
    texts = [
        "We study large language models (LLMs) at scale.",
        "Large Language Models (LLM; Brown et al.) are trained on text.",
        "Our law-level model (LLM) of traffic.",  # another expansion, in one listing only
        "Mixture-of-Experts (MoE) layers route tokens.",
        "A note (see below) on nothing.",
        "Nothing is defined here, though LLMs are named.",
    ]
    found = long_forms(["LLM", "LLMs", "MoE", "SAE"], texts)
    assert found == {"LLM": "large language models", "LLMs": "large language models", "MoE": "mixture-of-experts"}


def test_a_parenthesis_that_does_not_spell_the_acronym_is_no_definition():
    assert long_forms(["KV"], ["The cache (KV) of the model.", "Some results (KV) here."]) == {}
    assert long_forms(["KV"], ["A key-value (KV) cache."]) == {"KV": "key-value"}


def test_an_acronym_finds_the_papers_that_only_spell_it_out(seed_listings):
    said = {item.id: f"{item.title} {item.abstract}".lower() for item in seed_listings}
    spelled_only = {
        i for i, text in said.items() if "large language model" in text and not re.search(r"\bllms?\b", text)
    }
    assert len(spelled_only) == 3  # the SAE paper, the compression survey, the word vectors survey
    results = {r.listing_id: r for r in next(rank(seed_listings, [Profile(name="p", keywords=["LLM"])], top=30))[1]}
    assert spelled_only <= results.keys()
    for listing_id in spelled_only:
        assert any("large language model" in reason for reason in results[listing_id].why), results[listing_id].why


def test_an_acronym_matches_its_long_form_as_a_phrase_not_its_loose_words(seed_listings):
    # "MoE" is "Mixture-of-Experts" on the seed page; a paper on Gaussian mixture models is not about it.
    results = next(rank(seed_listings, [Profile(name="p", keywords=["MoE"])], min_score=0.05))[1]
    titles = [next(item.title for item in seed_listings if item.id == r.listing_id) for r in results]
    assert titles and titles[0].startswith("M2R2")
    assert not any("Gaussian Mixture" in title for title in titles)


def test_a_saved_vectorizer_learns_a_long_form_it_never_saw():
    old = [Listing(id=f"o{i}", title=f"Sorting networks {i}", abstract="Comparators and depth.") for i in range(5)]
    model = fit_model(old, now=datetime.now(UTC))
    today = [
        Listing(id="def", title="Sparse autoencoders (SAEs) for circuits", abstract="Features of models."),
        Listing(id="long", title="Scaling sparse autoencoders", abstract="Dictionary learning on activations."),
        Listing(id="other", title="Sorting networks again", abstract="Comparators."),
    ]
    results = next(rank(today, [Profile(name="p", keywords=["SAE"])], model=model, min_score=0.05))[1]
    assert {r.listing_id for r in results} == {"def", "long"}


def test_an_acronym_matches_its_plural_as_snowball_alone_would_not():
    # Snowball keeps the s of "llms", "cnns" and "gpus": the capitals say they are plurals.
    from bot.rank.vectors import words

    assert [s for s, _ in words("LLMs, CNNs and GPUs; the gas bus. NEURAL NETWORKS")] == [
        *("llm", "cnn", "gpu", "gas", "bus", "neural", "network")
    ]
    listings = [
        Listing(id="plural", title="Serving LLMs on GPUs", abstract="Batching requests."),
        Listing(id="one", title="An LLM on a GPU", abstract="Batching requests."),
        Listing(id="none", title="Sorting networks", abstract="Comparators."),
    ]
    for keyword in ("LLM", "LLMs", "GPU"):
        results = next(rank(listings, [Profile(name="p", keywords=[keyword])], min_score=0.05))[1]
        assert {r.listing_id for r in results} == {"plural", "one"}, keyword


def test_every_seed_paper_that_names_llms_is_found_by_llm(seed_listings):
    naming = {i.id for i in seed_listings if re.search(r"\bLLMs?\b", f"{i.title} {i.abstract}")}
    assert len(naming) >= 10
    results = next(rank(seed_listings, [Profile(name="p", keywords=["LLM"])], top=40))[1]
    assert naming <= {r.listing_id for r in results if r.score > 0.05}  # all matched, not only loose words


def test_why_shows_an_acronym_as_typed():
    listings = [Listing(id="a", title="Serving LLMs", abstract="Batching requests for an LLM.")]
    for keyword in ("LLM", "LLMs"):
        (result,) = next(rank(listings, [Profile(name="p", keywords=[keyword])]))[1]
        assert result.why == (keyword,)
