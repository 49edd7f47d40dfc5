"""The ranker's kinds and stages: each kind chosen in one place, each stage switched off by name."""

from dataclasses import replace

import pytest

from bot.models import Profile
from bot.rank import rank
from bot.rank.params import PARAMS, STAGES, RankParams
from bot.rank.ranker import Kind, kind_of
from tests.test_rank import corpus


def order(listings, profile, **kwargs):
    ((_, found),) = rank(listings, [profile], top=len(listings), **kwargs)
    return [r.listing_id for r in found]


def test_every_stage_can_be_switched_off_and_an_unknown_one_is_named():
    listings = corpus()
    profiles = [
        Profile(name="q", keywords=["speculative decoding"], likes=["survey"], dislikes=["vision"]),
        Profile(name="e", likes=["phrase", "survey"]),
        Profile(name="l", keywords=["agents"], likes=["agents", "agents2", "phrase"], dislikes=["vision", "loose"]),
    ]
    for stage in STAGES:
        params = replace(PARAMS, without=frozenset({stage}))
        assert all(isinstance(found, list) for _, found in rank(listings, profiles, params=params))
    with pytest.raises(ValueError, match="unknown ranking stage\\(s\\): rerank; known: bm25"):
        RankParams(without=frozenset({"rerank"}))


def test_a_profile_s_kind_follows_its_votes():
    assert kind_of(Profile(name="k", keywords=["x"]), voted=False, typed=True) is Kind.QUERY
    few = Profile(name="f", keywords=["x"], likes=["a"], dislikes=["b"])
    assert kind_of(few, voted=True, typed=True) is Kind.QUERY  # a handful of votes refine the query
    assert kind_of(Profile(name="e", likes=["a"]), voted=True, typed=False) is Kind.EXAMPLES
    many = Profile(name="m", keywords=["x"], likes=["a", "b", "c"], dislikes=["d", "e"])
    assert kind_of(many, voted=True, typed=True) is Kind.LEARNED
    liked = replace(many, likes=["a", "b", "c", "d", "e"], dislikes=[])
    assert kind_of(liked, voted=True, typed=True) is Kind.EXAMPLES  # liked papers alone: papers like these


def test_without_reasons_the_order_and_scores_are_the_same():
    listings = corpus()
    profiles = [Profile(name="q", keywords=["speculative decoding"]), Profile(name="e", likes=["phrase"])]
    explained = {p.name: found for p, found in rank(listings, profiles, top=6)}
    bare = {p.name: found for p, found in rank(listings, profiles, top=6, reasons=False)}
    for name, found in explained.items():
        assert [(r.listing_id, r.score) for r in found] == [(r.listing_id, r.score) for r in bare[name]]
        assert all(r.why == () for r in bare[name]) and any(r.why for r in found)
