"""Profiles that learn: each interest form, votes moving the ranking, why, the saved vectorizer, memory."""

import json
import random
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.feedback import with_feedback
from bot.models import Listing, Profile
from bot.rank import rank
from bot.rank.model import current_model, fit_model, load_model, save_model
from bot.rank.params import PARAMS
from bot.rank.stems import STEMS
from tests.conftest import ROOT

LEARN_AFTER = PARAMS.learn_after


# Two fields that share the word "decoding": a keyword profile cannot tell them apart, votes can.
# Abstracts vary in length, as real ones do (equal lengths would tie every BM25 score).
def words(text: str) -> list[str]:
    return text.split()


TOPICS = {
    "llm": words(
        "speculative draft model language model tokens inference latency transformer "
        "acceptance rate verification parallel sampling autoregressive generation"
    ),
    "channel": words(
        "channel LDPC codes belief propagation error correction bit error rate "
        "polar codes noisy channel codeword syndrome"
    ),
    "vision": words("image segmentation convolutional pixels object detection camera scenes video frames"),
}


def make_corpus(per_topic: int = 30, seed: int = 3) -> list[Listing]:
    rng = random.Random(seed)
    listings = []
    for topic, words in TOPICS.items():
        for i in range(per_topic):
            title = " ".join(rng.sample(words, 4)) + " decoding" * (topic != "vision")
            abstract = " ".join(rng.choice(words) for _ in range(rng.randint(30, 50)))
            abstract += " decoding" if topic != "vision" else ""
            listings.append(Listing(id=f"{topic}-{i}", title=title, abstract=abstract, authors=(f"Author {topic}",)))
    return listings


def order(listings, profile, **kwargs):
    ((_, results),) = rank(listings, [profile], top=len(listings), **kwargs)
    return [r.listing_id for r in results]


def share(ids, topic, n=10):
    return sum(i.startswith(topic) for i in ids[:n]) / n


def test_keywords_alone_find_their_field():
    ids = order(make_corpus(), Profile(name="p", keywords=["belief propagation", "LDPC codes"]))
    assert share(ids, "channel") == 1.0


def test_example_papers_alone_find_their_field():
    ids = order(make_corpus(), Profile(name="p", likes=["vision-0", "vision-1"]))
    assert share(ids, "vision") == 1.0
    assert not {"vision-0", "vision-1"} & set(ids)


def test_votes_teach_an_ambiguous_keyword_which_field_is_meant():
    listings = make_corpus()
    plain = order(listings, Profile(name="p", keywords=["decoding"]))
    assert share(plain, "llm", 20) < 0.5  # "decoding" alone does not say which field
    votes = {f"llm-{i}": 1 for i in range(3)} | {f"channel-{i}": -1 for i in range(3)}
    assert len(votes) >= LEARN_AFTER  # enough ratings for the learned model
    taught = with_feedback(Profile(name="p", keywords=["decoding"]), votes)
    ids = order(listings, taught)
    assert share(ids, "llm", 20) == 1.0
    assert not set(votes) & set(ids)  # rated papers are never offered again


def test_a_single_vote_already_moves_the_ranking_the_right_way():
    listings = make_corpus()
    profile = Profile(name="p", keywords=["decoding"])
    before = order(listings, profile)
    after = order(listings, with_feedback(profile, {"channel-0": 1}))
    mean_position = lambda ids: sum(n for n, i in enumerate(ids) if i.startswith("channel")) / 29  # noqa: E731
    assert mean_position(after) < mean_position(before)


def test_a_few_clicks_do_not_erase_the_typed_keywords():
    listings = make_corpus()
    # Keywords say channel coding; five likes point at vision. The keywords' papers must stay on top.
    profile = Profile(name="p", keywords=["LDPC codes", "belief propagation"], likes=[f"vision-{i}" for i in range(5)])
    ids = order(listings, profile)
    assert share(ids, "channel", 5) == 1.0
    assert share(ids, "vision", 40) >= 0.2  # and the likes still bring their own field in


def test_favourite_authors_raise_and_excluded_words_sink():
    listings = make_corpus()
    assert not any(i.startswith("vision") for i in order(listings, Profile(name="p", keywords=["decoding"])))
    profile = Profile(name="p", keywords=["decoding"], authors=["author vision"])
    ((_, results),) = rank(listings, [profile], top=len(listings))
    followed = [r for r in results if r.listing_id.startswith("vision")]
    assert len(followed) == 30 and all("author: Author vision" in r.why for r in followed)
    by_id = {item.id: item for item in listings}
    mentions = {i for i, item in by_id.items() if "LDPC" in f"{item.title} {item.abstract}"}
    assert mentions & set(order(listings, Profile(name="p", keywords=["decoding"])))
    assert not mentions & set(order(listings, Profile(name="p", keywords=["decoding"], exclude=["LDPC"])))


def test_the_trend_lifts_upvoted_papers_only_for_profiles_that_ask():
    listings = make_corpus()
    fifth = order(listings, Profile(name="p", keywords=["speculative decoding"]))[4]
    voted = [Listing(**{**item.__dict__, "upvotes": 500 if item.id == fifth else 1}) for item in listings]
    assert order(voted, Profile(name="p", keywords=["speculative decoding"]))[4] == fifth  # no trend asked: no change
    ((_, results),) = rank(voted, [Profile(name="p", keywords=["speculative decoding"], trend=1.0)], top=5)
    assert results[0].listing_id == fifth
    assert "trending: 500 upvotes" in results[0].why
    # The trend never brings in what does not match: no vision paper, however many votes.
    loud = [Listing(**{**item.__dict__, "upvotes": 10_000 if item.id.startswith("vision") else 0}) for item in listings]
    ((_, results),) = rank(loud, [Profile(name="p", keywords=["speculative decoding"], trend=1.0)], top=10)
    assert not any(r.listing_id.startswith("vision") for r in results)


def test_why_names_the_phrase_the_liked_paper_and_the_author_never_a_stop_word():
    listings = make_corpus()
    profile = Profile(name="p", keywords=["belief propagation"], likes=["channel-0"], authors=["Author channel"])
    ((_, results),) = rank(listings, [profile], top=10)
    for r in results:
        assert "author: Author channel" in r.why
        assert "belief propagation" in r.why or any(w.startswith("like: ") for w in r.why)
        terms = [w for w in r.why if ":" not in w]
        assert terms and not any(word in ENGLISH_STOP_WORDS for t in terms for word in t.split())
    assert any(f"like: {listings[30].title}" in r.why for r in results)  # channel-0 is the 31st listing


# --- the saved vectorizer ------------------------------------------------------------------------


def test_a_saved_vectorizer_ranks_new_listings_and_old_ones_still_rank_after_a_refresh(tmp_path):
    old = make_corpus(per_topic=10)
    path = tmp_path / "model.joblib"
    then = datetime(2026, 11, 1, tzinfo=UTC)
    fitted = current_model(path, lambda n: old[:n], window=1000, max_age=timedelta(days=7), now=then)
    assert fitted is not None and path.exists() and fitted.documents == len(old)
    # The next day a new field appears: the saved vectorizer has never seen its words, yet a profile
    # that asks for them finds its papers at once, not after the refresh.
    new = [
        Listing(id=f"new-{i}", title="quantum annealing decoding", abstract="quantum annealing qubits decoding")
        for i in range(5)
    ]
    store = old + new
    next_day = then + timedelta(days=1)
    same = current_model(path, lambda n: store[-n:], window=1000, max_age=timedelta(days=7), now=next_day)
    assert same is not None and same.fitted_at == then  # fresh: loaded, not refitted
    assert "quantum" not in same.vectorizer.vocabulary_
    profile = Profile(name="p", keywords=["quantum annealing", "belief propagation"])
    ((_, results),) = rank(store, [profile], top=len(store), model=same)
    ids = [r.listing_id for r in results]
    assert {f"new-{i}" for i in range(5)} <= set(ids[:10])
    assert "quantum annealing" in results[0].why
    assert "quantum" not in same.vectorizer.vocabulary_  # the saved model itself is left as it was

    later = then + timedelta(days=8)
    refreshed = current_model(path, lambda n: store[-n:], window=1000, max_age=timedelta(days=7), now=later)
    assert refreshed is not None and refreshed.fitted_at == later and load_model(path).fitted_at == later
    ((_, results),) = rank(store, [profile], top=len(store), model=refreshed)
    ids = [r.listing_id for r in results]
    assert {"new-0", "new-1"} <= set(ids[:5])
    assert sum(i.startswith("channel") for i in ids) == 10  # the old listings still rank


def test_a_phrase_the_saved_vectorizer_never_saw_is_still_matched_as_a_phrase():
    # Its words are known, from two fields that never met in the window: the paper that says the
    # phrase must come before the one that only repeats its two words apart.
    model = fit_model(make_corpus(per_topic=10), now=datetime.now(UTC))
    assert {"parallel", "code"} <= model.vectorizer.vocabulary_.keys()
    assert "parallel code" not in model.vectorizer.vocabulary_
    phrase = Listing(id="phrase", title="Parallel codes in one pass", abstract="We decode parallel codes.")
    apart = Listing(
        id="apart",
        title="Codes for parallel channels",
        abstract="Codes run on parallel links; each of the codes is parallel, and codes are long.",
    )
    profile = Profile(name="p", keywords=["parallel codes"])
    ((_, results),) = rank([apart, phrase], [profile], model=model)
    assert [r.listing_id for r in results] == ["phrase", "apart"]
    assert results[0].why == ("parallel codes",)


def test_a_word_the_saved_vectorizer_never_saw_can_be_excluded():
    model = fit_model(make_corpus(per_topic=10), now=datetime.now(UTC))
    assert "survey" not in model.vectorizer.vocabulary_
    new = [
        Listing(id="survey", title="Speculative decoding: a survey", abstract="We survey speculative decoding."),
        Listing(id="method", title="Speculative decoding with two drafts", abstract="Speculative decoding, faster."),
    ]
    profile = Profile(name="p", keywords=["speculative decoding"], exclude=["survey"])
    ((_, results),) = rank(new, [profile], model=model)
    assert [r.listing_id for r in results] == ["method"]


def test_the_vectorizer_is_fitted_on_the_newest_window_only(tmp_path):
    listings = make_corpus(per_topic=20)
    asked = []

    def recent(n):
        asked.append(n)
        return listings[:n]

    model = current_model(tmp_path / "m.joblib", recent, window=25, max_age=timedelta(days=1), now=datetime.now(UTC))
    assert asked == [25] and model.documents == 25


def test_with_a_saved_vectorizer_why_still_shows_the_listings_own_word_and_the_model_is_unchanged():
    listings = [
        *make_corpus(per_topic=10),
        Listing(id="cost", title="Cheap inference", abstract="Computational quality at a computational cost."),
        Listing(id="plan", title="Planning by computing", abstract="Agents that compute plans."),
    ]
    model = fit_model(listings, now=datetime.now(UTC))
    analyzer = model.vectorizer.analyzer
    results = next(rank(listings, [Profile(name="p", keywords=["computing"])], model=model))[1]
    why = {r.listing_id: r.why for r in results}
    assert why["plan"] == ("computing",) and why["cost"] == ("computational",)
    assert model.vectorizer.analyzer is analyzer  # the saved model read the listings through a copy


def test_an_unreadable_saved_model_is_fitted_again(tmp_path):
    path = tmp_path / "m.joblib"
    path.write_bytes(b"not a model")
    assert load_model(path) is None
    model = fit_model(make_corpus(per_topic=5), now=datetime.now(UTC))
    save_model(model, path)
    assert load_model(path).documents == 15


def test_a_model_saved_with_other_stems_is_fitted_again(tmp_path):
    # Saved before `vectors.STEM_OVERRIDES`: its vocabulary has "reason" for "reasonable".
    path = tmp_path / "m.joblib"
    model = fit_model(make_corpus(per_topic=5), now=datetime.now(UTC))
    del model.vectorizer.analyzer.stems
    save_model(model, path)
    assert load_model(path) is None
    current = current_model(
        path, lambda n: make_corpus(per_topic=5), window=50, max_age=timedelta(days=1), now=datetime.now(UTC)
    )
    assert current.vectorizer.analyzer.stems == STEMS and load_model(path) is not None


def test_digest_saves_the_vectorizer_and_refit_fits_it_again(workdir, bot):
    bot("fetch")
    bot("profile", "add", "sd", "--keywords", "speculative decoding")
    assert bot("digest", "--dry-run").exit_code == 0
    saved = workdir / "data" / "text-model.joblib"
    assert saved.exists()
    first = load_model(saved).fitted_at
    refit = bot("refit")
    assert refit.exit_code == 0 and refit.output.startswith("Fitted on ")
    assert load_model(saved).fitted_at > first
    dry = bot("digest", "--dry-run").output
    assert "speculative decoding" in dry


# --- memory at scale -----------------------------------------------------------------------------

# Ranking holds the profile × listing scores `RankParams.cells` at a time (`bot.rank.ranker`), so what it adds
# to memory does not grow with profiles × listings. It is set small here, so a quick run shows it:
# 1,000 profiles × 2,000 listings in chunks of 80 profiles. Measured: ranking one profile adds 24 MiB
# (the listings' vectors and topics), 1,000 add 28 MiB; with chunking disabled they add 73 MiB. The
# peak is the child's VmHWM, reset (clear_refs) just before ranking, so building and fitting the
# listings do not hide it. `benchmarks/rank_scale.py --listings 100000` shows a whole run at scale.
MEMORY_CHILD = textwrap.dedent(
    """
    import json, random, sys
    from datetime import UTC, datetime
    sys.path.insert(0, sys.argv[1])
    from bot.models import Listing, Profile
    from bot.rank import rank
    from bot.rank.model import fit_model
    from bot.rank.params import RankParams

    params = RankParams(cells=int(sys.argv[2]))
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(20000)]
    listings = [
        Listing(id=str(i), title=" ".join(rng.choices(vocab, k=8)), abstract=" ".join(rng.choices(vocab, k=60)))
        for i in range(2000)
    ]
    model = fit_model(listings, now=datetime.now(UTC))
    profiles = [Profile(name=f"p{i}", keywords=[" ".join(rng.choices(vocab, k=2)), rng.choice(vocab)])
                for i in range(1000)]

    def mib(key):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith(key))

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from what is resident now
    before = mib("VmRSS")
    returned = sum(len(results) for _, results in rank(listings, profiles, top=20, model=model, params=params))
    print(json.dumps({"added_mib": mib("VmHWM") - before, "returned": returned}))
    """
)
CELLS = 160_000
ADDED_BOUND_MIB = 48


def test_ranking_many_profiles_holds_their_scores_a_chunk_at_a_time():
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(ROOT), str(CELLS)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["returned"] == 20_000
    assert result["added_mib"] < ADDED_BOUND_MIB, result


@pytest.mark.parametrize("trend", [-0.1, 1.5, "high"])
def test_rank_files_refuse_a_bad_trend(tmp_path, bot, trend):
    (tmp_path / "l.jsonl").write_text(json.dumps({"id": "1", "title": "t", "abstract": "a"}) + "\n")
    (tmp_path / "p.jsonl").write_text(json.dumps({"name": "p", "keywords": ["t"], "trend": trend}) + "\n")
    result = bot("rank", "--listings", str(tmp_path / "l.jsonl"), "--profiles", str(tmp_path / "p.jsonl"))
    assert result.exit_code == 2 and "'trend' must be a number from 0 to 1" in result.stderr
