import re
from dataclasses import replace

import pytest
import snowballstemmer

from bot.models import Listing, Profile
from bot.rank import rank
from bot.rank.params import PARAMS
from bot.rank.stems import STEM_OVERRIDES

CHUNK, LEARN_AFTER = PARAMS.chunk, PARAMS.learn_after


def ranked(listings, *profiles, **kwargs):
    return {p.name: results for p, results in rank(listings, list(profiles), **kwargs)}


def test_speculative_decoding_papers_of_the_seed_page_come_first(seed_listings):
    wanted = {
        item.id
        for item in seed_listings
        if re.search(r"speculative|parallel decoding", f"{item.title} {item.abstract}", re.IGNORECASE)
    }
    assert len(wanted) == 7  # LANTERN, Chimera, Jacobi, parallel decoding, M2R2, EAD, continuous SD
    results = ranked(seed_listings, Profile(name="sd", keywords=["speculative decoding"]), top=10)["sd"]
    assert {r.listing_id for r in results[: len(wanted)]} == wanted
    for r in results[: len(wanted)]:
        assert r.why and set(r.why) <= {"speculative decoding", "speculative", "decoding"}
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_a_specific_keyword_counts_more_than_a_common_one():
    # "model" is in nearly every listing, "transformer" in two: as BM25 weighs a word by how rare it
    # is, a keyword weighs the mean IDF of its words, and the papers with the specific one come first.
    filler = ["graphs", "proofs", "queries", "robots", "sensors", "codes", "games", "circuits"]
    listings = [
        Listing(id=f"m{i}", title=f"A {filler[i % 8]} model", abstract=f"We model {filler[i % 8]} and study them.")
        for i in range(16)
    ]
    listings += [
        Listing(id="rare", title="Transformer circuits", abstract="We study attention in a transformer."),
        Listing(id="rare2", title="Transformer proofs", abstract="Proofs about transformer layers."),
    ]
    ((_, found),) = rank(listings, [Profile(name="p", keywords=["model", "transformer"])], top=5)
    assert {r.listing_id for r in found[:2]} == {"rare", "rare2"}
    assert [r.why for r in found[:2]] == [("transformer",), ("transformer",)]


def test_a_listing_with_several_of_the_keywords_ranks_above_one_that_repeats_one():
    # "Ad hoc" said five times, in another field's sense, against a paper that touches three of the
    # four keywords: BM25 alone put the repetition first; a paper on more of the person's facets is
    # more surely about their interest (the coordination factor).
    filler = ["graphs", "proofs", "queries", "robots", "sensors", "codes", "games", "circuits"]
    listings = [
        Listing(
            id=f"f{i}", title=f"On {filler[i % 8]}", abstract=f"We study {filler[i % 8]} and {filler[(i + 3) % 8]}."
        )
        for i in range(16)
    ]
    listings += [
        Listing(
            id="retrieval",
            title="Ad hoc retrieval",
            abstract="Ad hoc retrieval: ad hoc queries over ad hoc collections, ad hoc.",
        ),
        Listing(
            id="network",
            title="Flows on the internet",
            abstract="We schedule flows over the internet with service guarantees.",
        ),
    ]
    profile = Profile(name="p", keywords=["packet scheduling", "ad hoc networks", "quality of service", "internet"])
    ((_, found),) = rank(listings, [profile], top=3)
    assert [r.listing_id for r in found[:2]] == ["network", "retrieval"]  # one keyword, said clearly, still ranks
    assert found[0].why == ("internet", "scheduling", "service")
    assert all(0 < r.score <= 1 for r in found)
    # A 👎 on another paper refines the query and keeps the coordination of its keywords.
    voted = Profile(name="p", keywords=profile.keywords, dislikes=["f0"])
    ((_, found),) = rank(listings, [voted], top=3)
    assert [r.listing_id for r in found[:2]] == ["network", "retrieval"]
    # Switched off, the coordination stage leaves BM25 alone, which puts the repetition first.
    without = replace(PARAMS, without=frozenset({"coordination"}))
    ((_, found),) = rank(listings, [profile], top=3, params=without)
    assert [r.listing_id for r in found[:2]] == ["retrieval", "network"]


def corpus():
    return [
        Listing(
            id="phrase", title="Speculative decoding for fast inference", abstract="We study speculative decoding."
        ),
        Listing(
            id="loose",
            title="Speculative execution of decoding pipelines",
            abstract="Speculative execution in CPUs; a decoding stage.",
        ),
        Listing(
            id="vision", title="Image generation with diffusion", abstract="Diffusion models for image generation."
        ),
        Listing(
            id="survey", title="A survey of speculative decoding", abstract="We survey speculative decoding methods."
        ),
        Listing(
            id="agents",
            title="Tool-using agents",
            abstract="Agents that call tools.",
            authors=("Ada Lovelace", "B. Smith"),
        ),
        Listing(
            id="agents2", title="Planning for language agents", abstract="Language agents plan with tools and memory."
        ),
    ]


def test_a_phrase_beats_its_words_apart():
    results = ranked(corpus(), Profile(name="p", keywords=["speculative decoding"]))["p"]
    order = [r.listing_id for r in results]
    assert order.index("phrase") < order.index("loose")
    assert results[order.index("phrase")].why[0] == "speculative decoding"
    assert "vision" not in order  # nothing matched: never returned


def test_excluded_words_sink_a_paper_out_of_the_results():
    plain = [r.listing_id for r in ranked(corpus(), Profile(name="p", keywords=["speculative decoding"]))["p"]]
    assert "survey" in plain
    results = ranked(corpus(), Profile(name="p", keywords=["speculative decoding"], exclude=["survey"]))["p"]
    assert "survey" not in [r.listing_id for r in results]


def test_an_example_paper_finds_its_neighbours_and_is_not_returned_itself():
    results = ranked(corpus(), Profile(name="p", likes=["agents"]))["p"]
    assert results[0].listing_id == "agents2"
    assert "agents" not in [r.listing_id for r in results]
    assert "like: Tool-using agents" in results[0].why


def test_a_disliked_paper_pushes_its_kind_down():
    items = corpus()
    base = ranked(items, Profile(name="p", keywords=["speculative decoding", "image generation"]))["p"]
    disliked = ranked(
        items, Profile(name="p", keywords=["speculative decoding", "image generation"], dislikes=["phrase"])
    )["p"]
    score = {r.listing_id: r.score for r in base}
    score_after = {r.listing_id: r.score for r in disliked}
    assert "phrase" not in score_after
    # Keywords alone are scored by BM25, with feedback by cosine: compare within each ranking.
    assert score_after["survey"] / score_after["vision"] < score["survey"] / score["vision"]


def test_a_match_among_papers_like_the_liked_ones_rises_above_one_among_the_disliked_kind():
    # "lonely" and "liked" match the keyword alike, "lonely" a little more (it is shorter). Their
    # other words weigh nothing in the profile, but place them: "liked" among papers like the liked
    # one, "lonely" among papers like the disliked one. Their neighbours decide.
    listings = [
        Listing(id="like", title="Graph sparsifiers", abstract="Spectral sparsifiers cut sizes expanders."),
        Listing(id="dislike", title="Graph colouring", abstract="Chromatic number planar colouring bounds."),
        Listing(id="lonely", title="Graph matching", abstract="Meadow river lantern harbour."),
        Listing(id="liked", title="Graph matching", abstract="Orchard canyon violin beacon quartz."),
        *(
            Listing(id=f"near-like{i}", title="Spectral sparsifiers", abstract=f"Orchard canyon violin cut sizes {i}.")
            for i in range(3)
        ),
        *(
            Listing(id=f"near-dislike{i}", title="Chromatic bounds", abstract=f"Meadow river lantern colouring {i}.")
            for i in range(3)
        ),
    ]
    profile = Profile(name="p", keywords=["graph matching"], likes=["like"], dislikes=["dislike"])
    results = ranked(listings, profile, top=len(listings))["p"]
    order = [r.listing_id for r in results]
    assert order.index("liked") < order.index("lonely")
    assert results[order.index("liked")].why[0] == "graph matching"  # still its own reason


def test_a_favourite_author_raises_a_paper_and_says_so():
    results = ranked(corpus(), Profile(name="p", keywords=["diffusion"], authors=["ada lovelace"]))["p"]
    agents = next(r for r in results if r.listing_id == "agents")
    assert "author: Ada Lovelace" in agents.why


def test_top_min_score_and_skip_are_honoured():
    p = Profile(name="p", keywords=["speculative decoding"])
    assert len(ranked(corpus(), p, top=2)["p"]) == 2
    all_results = ranked(corpus(), p)["p"]
    floor = all_results[1].score
    assert all(r.score > floor for r in ranked(corpus(), p, min_score=floor)["p"])
    assert "phrase" not in [r.listing_id for r in ranked(corpus(), p, skip={"p": {"phrase"}})["p"]]


def test_profiles_in_many_chunks_rank_as_they_do_alone():
    items = corpus()
    profiles = [
        Profile(name=f"p{i}", keywords=["speculative decoding" if i % 2 else "language agents"])
        for i in range(CHUNK + 5)
    ]
    together = ranked(items, *profiles)
    for p in (profiles[0], profiles[CHUNK - 1], profiles[CHUNK], profiles[-1]):
        alone = ranked(items, p)[p.name]
        assert [r.listing_id for r in together[p.name]] == [r.listing_id for r in alone]


def test_nothing_to_rank_gives_empty_results():
    assert ranked([], Profile(name="p", keywords=["x"])) == {"p": []}
    only_stop_words = [Listing(id="1", title="The", abstract="and of the")]
    assert ranked(only_stop_words, Profile(name="p", keywords=["the"])) == {"p": []}
    assert ranked(corpus(), Profile(name="p", keywords=["zzzz unknownword"])) == {"p": []}


def test_why_leaves_out_weak_words(seed_listings):
    # "model" is in nearly every abstract of the page: beside "parallel decoding" it explains nothing.
    profile = Profile(name="p", keywords=["speculative decoding", "draft model", "parallel decoding"])
    results = ranked(seed_listings, profile, top=5)["p"]
    assert all(r.why for r in results)
    assert not any("model" in r.why for r in results)
    assert any("draft model" in r.why for r in results)


def word_forms():
    return [
        Listing(id="plural", title="Legged robots", abstract="Robots that walk on uneven ground."),
        Listing(id="adjective", title="Robotic grasping", abstract="A robotic hand grasps unknown objects."),
        Listing(id="other", title="Query optimization", abstract="Databases plan queries."),
    ]


def test_word_forms_are_one_term_and_why_shows_them_as_written():
    results = ranked(word_forms(), Profile(name="p", keywords=["robot"]))["p"]
    assert {r.listing_id for r in results} == {"plural", "adjective"}  # "robots", "robotic": one stem
    assert all(r.why == ("robot",) for r in results)  # the keyword as the person typed it
    # A liked paper's words read as the listing writes them (its most frequent form: the title counts
    # twice), never as a bare stem ("queri", "databas").
    liked = Listing(id="db", title="Databases", abstract="Queries over databases.")
    results = ranked([*word_forms(), liked], Profile(name="p", likes=["db"]))["p"]
    assert results[0].listing_id == "other"
    assert set(results[0].why) == {"databases", "query", "like: Databases"}


def test_why_never_shows_a_typed_word_the_paper_does_not_use():
    # The stemmer joins "accessibility" and "access": a paper on memory access matches, and its
    # reason is its own word, not one it never says.
    listings = [
        Listing(id="memory", title="Memory access patterns", abstract="Cache misses and memory access."),
        Listing(id="web", title="Web accessibility", abstract="Accessibility of web pages for screen readers."),
    ]
    results = ranked(listings, Profile(name="p", keywords=["accessibility"]))["p"]
    assert {r.listing_id: r.why for r in results} == {"web": ("accessibility",), "memory": ("access",)}


def computing():
    return [
        Listing(id="plan", title="Planning by computing", abstract="Agents that compute plans."),
        Listing(id="why", title="Computes for plans", abstract="Plans that a robot computes."),
        Listing(id="cost", title="Cheap inference", abstract="Computational quality at a computational cost."),
        Listing(id="models", title="Computational models", abstract="Small models that are computationally cheap."),
    ]


def test_why_shows_the_typed_word_only_where_the_listing_has_one_of_its_endings():
    # The stemmer joins "computational" to "computing": a paper that only says "computational"
    # matches, and its reason is its own word. "compute" and "computes" are endings of the typed
    # word's stem: read as typed.
    why = {r.listing_id: r.why for r in ranked(computing(), Profile(name="p", keywords=["computing"]))["p"]}
    assert why == {
        "plan": ("computing",),
        "why": ("computing",),
        "cost": ("computational",),
        "models": ("computational",),
    }
    # In a phrase too: the listing's own words, not "computing models" it never says.
    why = {r.listing_id: r.why for r in ranked(computing(), Profile(name="p", keywords=["computing models"]))["p"]}
    assert why["models"] == ("computational models",)
    assert why["plan"] == ("computing",)
    # A typed word longer than its stem by more than an ending is the listing's own when it has it.
    why = {r.listing_id: r.why for r in ranked(computing(), Profile(name="p", keywords=["computational"]))["p"]}
    assert why["cost"] == ("computational",) and why["plan"] == ("computing",)


@pytest.mark.parametrize(
    ("keyword", "means", "other_sense"),
    [
        ("reasoning", "Agents that reason about plans.", "Reasonable quality at a reasonably low cost."),
        ("relational", "Queries over relational databases.", "A relatively simple sort, and related sorts."),
        ("experience", "Agents learn from replayed experiences.", "Experiments on sorting networks."),
        ("probability", "Tail bounds on the probability of error.", "This sort is probably fast."),
        ("generalization", "Bounds on the generalization of deep networks.", "A general and generally fast sort."),
        ("complexity", "Lower bounds on circuit complexity.", "A complex sorting pipeline."),
        ("distributed", "Consensus among distributed replicas.", "Sorting samples drawn from a distribution."),
        ("consistency", "Eventual consistency of replicas.", "The pipeline consists of two sorts."),
        ("localization", "Robot localization with lidar.", "A local sorting step."),
    ],
)
def test_a_word_the_stemmer_joins_to_another_sense_matches_only_its_own(keyword, means, other_sense):
    # Snowball stems each pair alike; the second is a common word of every field (`rank.stems`).
    listings = [
        Listing(id="means", title="On it", abstract=means),
        Listing(id="other", title="Elsewhere", abstract=other_sense),
        Listing(id="none", title="Unrelated", abstract="Nothing of the kind."),
    ]
    results = ranked(listings, Profile(name="p", keywords=[keyword]), min_score=0.05)["p"]
    assert [r.listing_id for r in results] == ["means"]


def test_the_stem_overrides_keep_a_family_together():
    listings = [
        Listing(id="runs", title="Sorting benchmarks", abstract="Experiments on sorting networks."),
        Listing(id="cost", title="Cheap inference", abstract="Reasonable quality at a reasonably low cost."),
        Listing(id="none", title="Unrelated", abstract="Nothing of the kind."),
    ]
    # Snowball parts "experiments" from "experimental"; the override joins them.
    assert [r.listing_id for r in ranked(listings, Profile(name="p", keywords=["experimental"]))["p"]][:1] == ["runs"]
    assert [r.listing_id for r in ranked(listings, Profile(name="p", keywords=["reasonable"]))["p"]][:1] == ["cost"]
    snowball = snowballstemmer.stemmer("english")
    for word, own in STEM_OVERRIDES.items():
        assert own != snowball.stemWord(word), word  # each override changes a stem


def test_a_reading_kept_for_the_next_result_never_carries_one_listings_words_to_another():
    from bot.rank.why import Wording

    plan, _, cost, _ = computing()
    said = Wording(["computing"])
    assert said.phrases(["comput"], plan) == ["computing"]  # read without the listing: kept
    assert said.phrases(["comput"], cost, own={"comput": "computational"}) == ["computational"]
    assert said.phrases(["comput"], plan) == ["computing"]
    memory, web = (
        Listing(id="m", title="Memory access", abstract="."),
        Listing(id="w", title="Accessibility", abstract="."),
    )
    said = Wording(["accessibility"])
    assert said.phrases(["access"], web) == ["accessibility"]  # read from the listing: not kept
    assert said.phrases(["access"], memory) == ["access"]


def test_why_quotes_the_typed_keyword_where_the_listing_says_it():
    listings = [
        Listing(id="manet", title="Routing in ad hoc networks", abstract="Ad hoc networks route packets."),
        Listing(id="turing", title="Models of computation", abstract="Two models of computation compared."),
        Listing(id="prolog", title="Logic programs", abstract="Answer sets of logic programs."),
        Listing(id="hci", title="Human–computer interaction", abstract="A study of human–computer interaction."),
        Listing(id="misc", title="Sorting", abstract="Sorting integers quickly."),
    ]
    profile = Profile(
        name="p",
        keywords=["ad hoc networks", "models of computation", "logics of programs", "human-computer interaction", "NP"],
    )
    why = {r.listing_id: r.why for r in ranked(listings, profile)["p"]}
    # The keyword's own words, stop words and hyphens as typed: not "hoc networks / ad hoc",
    # "model computation" or "computer interaction / human computer".
    assert why["manet"] == ("ad hoc networks",)
    assert why["turing"] == ("models of computation",)
    assert why["hci"] == ("human-computer interaction",)
    # Stemmed, "logics of programs" matches "logic programs", which the listing says and the reason quotes.
    assert why["prolog"] == ("logic programs",)
    assert "misc" not in why


def test_why_joins_the_overlapping_phrases_of_a_liked_paper_as_the_listing_writes_them():
    listings = [
        Listing(
            id="liked", title="Universal Turing machines", abstract="Small universal Turing machines and tag systems."
        ),
        Listing(
            id="near", title="Tiny universal Turing machines", abstract="New universal Turing machines with few states."
        ),
        Listing(id="far", title="Graph coloring", abstract="Coloring sparse graphs quickly."),
    ]
    ((_, found),) = rank(listings, [Profile(name="p", likes=["liked"])])
    assert found[0].listing_id == "near"
    assert found[0].why[0] == "universal turing machines"  # not "universal turing", "turing machines"
    assert "turing machines" not in found[0].why and "universal turing" not in found[0].why
    # A chain never takes a word twice: "based on lattices" does not join "lattice based ciphers".
    from bot.rank.why import Wording

    listing = Listing(id="x", title="Lattice based ciphers", abstract="Ciphers based on lattices.")
    terms = ["base cipher", "lattic base", "base lattic"]
    assert Wording([]).phrases(terms, listing) == ["lattice based ciphers", "based on lattices"]


def test_why_leaves_out_two_words_of_a_liked_paper_that_the_listing_never_says_together():
    listings = [
        Listing(
            id="liked",
            title="Tilings of the hyperbolic plane",
            abstract="We solve the problem. Hyperbolic plane tilings.",
        ),
        Listing(
            id="near", title="Hyperbolic plane puzzles", abstract="An open problem. Hyperbolic plane tilings again."
        ),
        Listing(id="far", title="Graph coloring", abstract="Coloring sparse graphs quickly."),
    ]
    ((_, found),) = rank(listings, [Profile(name="p", likes=["liked"])])
    assert found[0].listing_id == "near"
    assert "hyperbolic plane" in found[0].why
    assert not any("problem hyperbolic" in reason for reason in found[0].why)  # paired across a sentence


def test_why_names_a_word_that_many_listings_say_only_when_nothing_else_explains():
    from bot.rank.ranker import common_words
    from bot.rank.vectors import document, make_vectorizer
    from bot.rank.why import Wording

    listings = [Listing(id=f"f{i}", title=f"Topic {i}", abstract="Our approach is new.") for i in range(20)]
    listings += [Listing(id="near", title="Faster lattices", abstract="Lattices: our approach.")]
    vectorizer = make_vectorizer()
    vectorizer.fit([document(item) for item in listings])
    common = common_words(vectorizer.idf_, vectorizer.get_feature_names_out(), len(listings))
    assert "approach" in common and "lattic" not in common  # in 21 of 21 listings, and in 1
    said = Wording([], common)
    assert said.phrases(["approach", "lattic"], listings[-1]) == ["lattices"]
    assert said.phrases(["approach"], listings[-1]) == ["approach"]  # the only reason: still said
    assert Wording(["approach"], common).phrases(["approach", "lattic"], listings[-1]) == ["approach", "lattices"]


def test_a_listing_with_only_a_common_word_of_a_keyword_fills_no_digest(seed_listings):
    # On the seed page's 54 papers, every paper scored above the default min_score for "diffusion
    # models" or "tool use": six say "diffusion" and one "tool", the rest only "models" or "use".
    def says(item, word):
        return word in f"{item.title} {item.abstract}".lower()

    def kept(keywords, **kwargs):
        return ranked(seed_listings, Profile(name="p", keywords=keywords), top=len(seed_listings), **kwargs)["p"]

    # A keyword's rarest word is never loose: "language" of "language models" still matches alone.
    # (Over the whole ranking: a digest's cut, relative to its best, keeps fewer of 41.)
    for keywords, word in (
        (["diffusion models"], "diffusion"),
        (["tool use"], "tool"),
        (["language models"], "language"),
    ):
        anchored = {r.listing_id for r in kept(keywords) if r.score > 0.05}
        assert anchored == {i.id for i in seed_listings if says(i, word)}
        assert {r.listing_id for r in kept(keywords, min_score=0.05)} <= anchored
    # A keyword of one word is matched however many papers say it.
    models = {r.listing_id for r in kept(["models"]) if r.score > 0.05}
    assert models == {i.id for i in seed_listings if says(i, "model")}
    # The others still rank, for `bot rank`, but after every listing that has the keyword.
    by_id = {item.id: item for item in seed_listings}
    found = [says(by_id[r.listing_id], "diffusion") for r in kept(["diffusion models"])]
    assert found == sorted(found, reverse=True) and 6 == sum(found) < len(found)
    # A liked paper asks for papers like it, whatever their words: that profile is not held to its keywords.
    tool = next(item.id for item in seed_listings if says(item, "tool"))
    liked = Profile(name="p", keywords=["tool use"], likes=[tool])
    assert len(ranked(seed_listings, liked, min_score=0.05)["p"]) == 10
    # Ranked beside profiles of other kinds (a rated one, scored apart, and one with other
    # keywords), a profile is held to its own keywords, as when ranked alone.
    ids = [item.id for item in seed_listings]
    others = [
        Profile(name="rated", keywords=["agents"], likes=ids[:3], dislikes=ids[3:6]),
        Profile(name="many", keywords=["reinforcement learning", "tool use", "benchmarks"]),
    ]
    alone = kept(["diffusion models"], min_score=0.05)
    beside = ranked(
        seed_listings, *others, Profile(name="p", keywords=["diffusion models"]), top=len(ids), min_score=0.05
    )
    assert beside["p"] == alone and len(alone) == 6


def test_reasons_are_the_same_however_many_results_are_explained_at_once(seed_listings):
    profiles = [
        Profile(name="sd", keywords=["speculative decoding", "draft model"]),
        Profile(name="vision", keywords=["image generation"], likes=[seed_listings[0].id]),
        Profile(name="all", keywords=["language models"]),
    ]
    everything = ranked(seed_listings, *profiles, top=len(seed_listings))
    few = replace(PARAMS, results_at_once=7)  # fewer than one profile's results
    assert ranked(seed_listings, *profiles, top=len(seed_listings), params=few) == everything
    assert all(r.why for results in everything.values() for r in results[:5])


def test_a_word_beside_itself_is_no_reason():
    listings = [
        Listing(id="liked", title="Scene scene understanding", abstract="The scene of the scene, understood."),
        Listing(id="twice", title="Scene scene parsing", abstract="A scene of the scene, parsed."),
        Listing(id="other", title="Robot arms", abstract="Grasping with arms."),
    ]
    ((_, found),) = rank(listings, [Profile(name="p", likes=["liked"])])
    assert [r.listing_id for r in found] == ["twice"]
    assert found[0].why == ("scene", "like: Scene scene understanding")  # never "scene scene"


def test_a_phrase_matches_its_other_word_forms():
    listings = [
        Listing(id="forms", title="Graph colorings", abstract="Colorings of sparse graphs."),
        Listing(id="loose", title="Graph drawing", abstract="Coloring is not studied here."),
    ]
    results = ranked(listings, Profile(name="p", keywords=["graph coloring"]))["p"]
    assert results[0].listing_id == "forms" and results[0].why[0] == "graph coloring"


def test_bm25_weights_saturate_with_repetition_and_fall_with_length():
    from bot.rank.vectors import make_vectorizer, weigh

    texts = ["robot arm", "robot robot robot robot arm", "robot arm " + "gripper camera sensor " * 5]
    vectorizer = make_vectorizer()
    docs, matches = weigh(vectorizer.fit_transform(texts), vectorizer.idf_)
    robot = vectorizer.vocabulary_["robot"]
    once, four_times, long = (matches[i, robot] for i in range(3))
    assert once < four_times < 4 * once and four_times < 1.0  # more mentions count, each less
    assert long < once  # the same mention weighs less in a longer listing
    assert abs(float(docs.multiply(docs).sum(axis=1).max()) - 1.0) < 1e-5  # cosine vectors stay unit length


def test_a_model_saved_before_bm25_is_fitted_again(tmp_path):
    from datetime import UTC, datetime

    from bot.rank.model import TextModel, load_model, save_model
    from bot.rank.vectors import make_vectorizer

    old = make_vectorizer().set_params(norm="l2", sublinear_tf=True)
    old.fit(["speculative decoding", "image generation"])
    save_model(TextModel(old, datetime.now(UTC), 2), tmp_path / "m.joblib")
    assert load_model(tmp_path / "m.joblib") is None


def test_keyword_scores_stay_below_one_as_min_score_expects():
    results = ranked(corpus(), Profile(name="p", keywords=["speculative decoding", "survey", "inference"]))["p"]
    assert results and all(0 < r.score < 1 for r in results)


def test_a_vote_leaves_the_scores_on_the_keywords_scale_so_min_score_keeps_the_results(seed_listings):
    # Rated profiles score cosines, which run far below a keyword query's BM25 share: once, one 👎
    # took every score of this profile under the default min_score of 0.05, and emptied its digest.
    # (Without the cut relative to the best, which is the same for every kind: only the scale is tested.)
    keywords = ["reinforcement learning", "reasoning"]
    absolute = replace(PARAMS, relative=0.0)
    alone = ranked(seed_listings, Profile(name="p", keywords=keywords), min_score=0.05, params=absolute)["p"]
    # The papers that say "reasoning" or "reinforcement"; the others only "learning", or "reasonable".
    assert len(alone) == 5
    ids = [r.listing_id for r in alone]
    for likes, dislikes in ((), ids[-1:]), (ids[:1], ()), (ids[:2], ids[-2:]):
        profile = Profile(name="p", keywords=keywords, likes=likes, dislikes=dislikes)
        kept = ranked(seed_listings, profile, min_score=0.05, top=len(seed_listings), params=absolute)["p"]
        assert set(ids) - {*likes, *dislikes} <= {r.listing_id for r in kept}, (likes, dislikes)
        # On the keywords' scale: its best papers score, on average, about what the keywords' best did.
        mean = sum(r.score for r in kept[:5]) / sum(r.score for r in alone[:5])
        assert 0.5 < mean < 2, (likes, dislikes)


def test_words_only_one_listing_uses_do_not_dilute_its_likeness_to_others():
    from bot.rank.vectors import make_vectorizer, shared_terms

    def corpus_with(extra: str) -> list[Listing]:
        return [
            Listing(id="liked", title="Graph coloring", abstract="Chromatic number of planar graphs, list coloring."),
            Listing(id="wordy", title="Graph coloring", abstract=f"The chromatic number. {extra}"),
            Listing(id="terse", title="Planar graphs", abstract="List coloring of planar graphs."),
            Listing(id="other", title="Drawing", abstract="Drawings of planar maps."),
        ]

    one_off = "zebra quokka okapi narwhal axolotl pangolin tapir wombat ibex lemur"
    listings = corpus_with(one_off)
    vectorizer = make_vectorizer()
    counts = vectorizer.fit_transform([f"{x.title}. {x.abstract}" for x in listings])
    shared = shared_terms(counts)
    assert vectorizer.vocabulary_["zebra"] not in shared.indices  # used by one listing only
    assert shared[0, vectorizer.vocabulary_["chromat"]] == counts[0, vectorizer.vocabulary_["chromat"]]
    # Words no other listing uses change nothing about how much a listing resembles the liked paper.
    like = Profile(name="p", likes=["liked"])
    plain = {r.listing_id: r.score for r in ranked(corpus_with(""), like)["p"]}
    wordy = {r.listing_id: r.score for r in ranked(listings, like)["p"]}
    assert list(wordy) == list(plain) == ["wordy", "terse", "other"]
    assert abs(wordy["wordy"] - plain["wordy"]) < 1e-6
    # A keyword still finds a word only one listing uses.
    found = ranked(listings, Profile(name="k", keywords=["okapi"]))["k"]
    assert found[0].listing_id == "wordy" and found[0].why[0] == "okapi"


def test_example_papers_borrow_the_words_of_their_nearest_listings():
    listings = [
        Listing(id="seed", title="Speculative decoding", abstract="A draft model proposes, the large model checks."),
        *(
            Listing(
                id=f"near{i}",
                title="Speculative decoding with a draft model",
                abstract=f"Verification of draft tokens raises the acceptance rate {i}.",
            )
            for i in range(3)
        ),
        Listing(id="far", title="Token verification", abstract="Acceptance rate of verified tokens."),
        Listing(id="other", title="Image segmentation", abstract="Pixels and object masks."),
        *(Listing(id=f"other{i}", title="Image segmentation", abstract=f"Object masks {i}.") for i in range(3)),
    ]
    examples = [r.listing_id for r in ranked(listings, Profile(name="p", likes=["seed"]))["p"]]
    # "far" shares no word with the example, only with the listings most like it.
    assert set(examples[:3]) == {"near0", "near1", "near2"} and examples[3] == "far"
    assert "other" not in examples
    # A dislike or two leave them examples: fewer votes than a learned model needs.
    one = [r.listing_id for r in ranked(listings, Profile(name="p", likes=["seed"], dislikes=["other"]))["p"]]
    assert one[3] == "far" and "other" not in one
    # With as many votes as a learned model needs the profile has judged more than its examples:
    # no words are guessed for it.
    votes = Profile(name="p", likes=["seed"], dislikes=["other", "other0", "other1", "other2"])
    assert LEARN_AFTER == 5 and "far" not in [r.listing_id for r in ranked(listings, votes)["p"]]


def cipher_corpus() -> list[Listing]:
    """One field written in two sets of words that only a few papers use together, and another field."""
    import random

    rng = random.Random(5)
    near, far = ["lattice", "cipher", "encryption"], ["protocol", "adversary", "signature"]
    elsewhere = ["pixels", "segmentation", "camera", "depth", "scene", "texture"]

    def text(words, n):
        return " ".join(rng.choice(words) for _ in range(n))

    listings = [Listing(id="example", title="Lattice ciphers", abstract=text(near, 12))]
    listings += [Listing(id=f"near{i}", title=text(near, 3), abstract=text(near, 12)) for i in range(10)]
    # Papers of the field that use both sets of words: the only link between the two.
    listings += [Listing(id=f"both{i}", title=text(near + far, 3), abstract=text(near + far, 16)) for i in range(4)]
    listings += [Listing(id="target", title="Protocol signatures", abstract=text(far, 12))]
    listings += [Listing(id=f"vision{i}", title=text(elsewhere, 3), abstract=text(elsewhere, 14)) for i in range(10)]
    return listings


def test_example_papers_find_their_kind_in_other_words_through_latent_topics():
    listings = cipher_corpus()
    found = ranked(listings, Profile(name="p", likes=["example"]), top=len(listings))["p"]
    order = [r.listing_id for r in found]
    # "target" shares no word with the example, nor with the papers most like it (the feedback).
    assert "target" in order and all(order.index("target") < order.index(v) for v in order if v.startswith("vision"))
    assert next(r for r in found if r.listing_id == "target").why == ("like: Lattice ciphers",)
    assert all(0 < r.score <= 1 for r in found)
    # A dislike, fewer votes than a learned model needs, leaves the liked paper an example: its
    # topics still find the target, above the field that was disliked.
    judged = Profile(name="p", likes=["example"], dislikes=["vision0"])
    one = [r.listing_id for r in ranked(listings, judged, top=len(listings))["p"]]
    assert "target" in one and all(one.index("target") < one.index(v) for v in one if v.startswith("vision"))


def test_below_its_best_matches_a_keyword_profile_ranks_papers_of_their_field_first():
    import random

    rng = random.Random(5)
    near, far = ["lattice", "cipher", "encryption"], ["protocol", "adversary", "signature"]
    elsewhere = ["pixels", "segmentation", "camera", "depth", "scene", "texture"]

    def text(words, n):
        return " ".join(rng.choice(words) for _ in range(n))

    listings = [Listing(id=f"near{i}", title=text(near, 3), abstract=text(near, 12)) for i in range(12)]
    listings += [Listing(id=f"both{i}", title=text(near + far, 3), abstract=text(near + far, 16)) for i in range(4)]
    # Two papers the typed words barely match, alike by words: one of the field (in its other
    # words) and one of another field, which matches them a little better.
    listings += [Listing(id="field", title=text(far, 3), abstract=text(far, 12) + " scheme")]
    listings += [Listing(id="other", title=text(elsewhere, 3), abstract=text(elsewhere, 8) + " scheme")]
    listings += [Listing(id=f"vision{i}", title=text(elsewhere, 3), abstract=text(elsewhere, 14)) for i in range(10)]
    found = ranked(listings, Profile(name="p", keywords=["lattice", "scheme"]), top=len(listings))["p"]
    order = [r.listing_id for r in found]
    assert all(i.startswith("near") for i in order[:10])  # what the typed words found best stays first
    assert order.index("field") < order.index("other")  # then the field's papers, by latent topics
    assert all(r.why for r in found)  # only what the words (typed or fed back) matched: each has a reason
    assert next(r for r in found if r.listing_id == "field").why == ("scheme",)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)


def test_the_learned_model_weighs_latent_topics_beside_words():
    from bot.rank.learning import learned
    from bot.rank.topics import fit_topics
    from bot.rank.vectors import cosine_vectors, document, make_vectorizer, shared_terms

    listings = cipher_corpus()
    index = {item.id: i for i, item in enumerate(listings)}
    vectorizer = make_vectorizer()
    related = cosine_vectors(shared_terms(vectorizer.fit_transform(map(document, listings))), vectorizer.idf_)
    places = fit_topics(related)
    rater = Profile(name="r", likes=["example", "near0", "near1", "near2", "near3"], dislikes=["vision0", "vision1"])
    words, on_topics = learned(related, index, [rater, Profile(name="few", likes=["example"])], lambda: places)
    assert words[0].nnz and words[1].nnz == 0 and not on_topics[1].any()  # too few ratings to learn from
    # The model learned which topic the person reads: a paper of that field in other words scores
    # above the other field's papers, by topic alone.
    by_topic = on_topics[0] @ places.T
    assert by_topic[index["target"]] > max(by_topic[index[f"vision{i}"]] for i in range(2, 10))


def test_listings_that_share_no_word_still_rank_for_every_kind_of_profile():
    import random
    import string

    rng = random.Random(0)

    def word():
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(8))

    listings = [Listing(id=str(i), title=word(), abstract=" ".join(word() for _ in range(5))) for i in range(40)]
    listings[39] = Listing(id="39", title="Graph coloring", abstract=word())
    profiles = [
        Profile(name="examples", likes=["0", "1", "2", "3", "4"]),
        Profile(name="rated", likes=["0", "1", "2"], dislikes=["5", "6", "7"]),
        Profile(name="keywords", keywords=["graph coloring"]),
    ]
    results = ranked(listings, *profiles)
    assert results["examples"] == [] and results["rated"] == []  # nothing resembles them
    assert [r.listing_id for r in results["keywords"]] == ["39"]


def test_identical_listings_rank_without_warnings(recwarn):
    same = {"title": "Graph coloring", "abstract": "Chromatic number of planar graphs."}
    listings = [Listing(id=str(i), **same) for i in range(40)]
    results = ranked(listings, Profile(name="e", likes=["0"]), Profile(name="r", likes=["0", "1"], dislikes=["2"]))
    assert len(results["e"]) == 10 and "0" not in [r.listing_id for r in results["e"]]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_neighbours_are_the_nearest_other_listings_however_many_are_found_at_once():
    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from bot.rank.neighbours import Neighbours

    NEIGHBOURS = 10

    vectors = normalize(sp.random(60, 40, density=0.2, format="csr", random_state=1, dtype=np.float32)).tocsr()
    similar = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similar, -np.inf)
    transposed = vectors.T.tocsr()
    one_by_one, all_at_once = (
        Neighbours(vectors, transposed, 120, NEIGHBOURS),
        Neighbours(vectors, transposed, 10**9, NEIGHBOURS),
    )
    rows = np.array([5, 0, 59, 5, 17])
    one_by_one.of(rows[:2])  # some rows found earlier, in another call
    for found in (one_by_one, all_at_once):
        which, weights = found.of(rows)
        assert which.shape == (len(rows), NEIGHBOURS)
        for row, near, weight in zip(rows, which, weights, strict=True):
            assert row not in near
            assert np.allclose(weight, np.maximum(similar[row, near], 0))
            assert np.allclose(np.sort(weight), np.sort(np.maximum(np.sort(similar[row])[-NEIGHBOURS:], 0)))
