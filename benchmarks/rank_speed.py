"""`bot rank` beside the bare method it builds on, in the same process, on the same data.

    python benchmarks/rank_speed.py [--listings 10000] [--profiles 2000] [--top 20] [--runs 3]

1. From scratch: 10,000 listings × 2,000 keyword profiles, top 20, as `bot rank` runs with no saved
   model. The bare side: scikit-learn's `TfidfVectorizer` fitted on the listings (words and
   two-word phrases, English stop words, `min_df=2`, sublinear tf), each profile's keywords
   transformed, summed and normalised, one sparse product profiles × listings and `argpartition`
   for the top 20. Nothing else. The bot side: `bot.rank.rank(listings, profiles, top=20)`, with
   everything a digest gets (stemming, acronyms, BM25, feedback, topics, the reasons of every
   result). The target is at most twice the bare time.
2. The daily path: a model saved from the 10,000 listings (`fit_model`), then 1,000 new listings ×
   10,000 keyword profiles, `rank(..., model=saved)`, beside the bare transform with the same saved
   vectorizer, product and `argpartition`.

Each run is a child process that does the bare side and then the bot side, so both see the same
load on the machine; the medians of `--runs` runs are printed (wall and CPU seconds), with the
median of the runs' ratios. Peak RSS is the child's after each side (the bot's includes the bare
side's if that was higher). Reading files and loading the model are left out of the times.

Then: adding a day of 1,000 new listings to a store of the 10,000 (upsert into SQLite) and
vectorizing them with the saved model; the weekly refit on the default window of 50,000 listings
(`--window 0` skips it); and radon's cyclomatic complexity of bot/rank/ (`pip install -e .[bench]`).

Listings and profiles are made as in benchmarks/rank_scale.py (real arXiv titles, sentences of
real abstracts of the same category); files go to benchmarks/.cache/. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from rank_scale import CACHE, make_files  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import joblib
sys.path.insert(0, sys.argv[1])
from bot.jsonl import read_listings, read_profiles
kind, listings_path, profiles_path, model_path, top = sys.argv[2:7]
top = int(top)
listings = read_listings(listings_path)
profiles = read_profiles(profiles_path)
model = joblib.load(model_path) if kind == "daily" else None
out = {}


def timed(name, work):
    start, cpu = time.perf_counter(), time.process_time()
    count = work()
    out[name] = {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "count": count,
    }


def bare():
    import numpy as np, scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize
    from bot.rank.vectors import document
    if model is None:
        vec = TfidfVectorizer(
            stop_words="english", ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32
        )
        docs = vec.fit_transform([document(x) for x in listings])
    else:
        vec = model.vectorizer
        docs = vec.transform([document(x) for x in listings])
    texts, rows, cols = [], [], []
    for r, p in enumerate(profiles):
        for k in p.keywords:
            rows.append(r); cols.append(len(texts)); texts.append(k)
    assign = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(profiles), len(texts)))
    queries = normalize(assign @ vec.transform(texts))
    scores = (queries @ docs.T.tocsr()).toarray()
    best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    return int(best.shape[0])


def bot():
    from bot.rank import rank
    return sum(1 for _ in rank(listings, profiles, top=top, model=model))


if kind == "fit":
    from datetime import UTC, datetime
    from bot.rank.model import fit_model
    timed("fit", lambda: len(fit_model(listings, now=datetime.now(UTC)).vectorizer.vocabulary_))
else:
    timed("bare", bare)
    timed("bot", bot)
print(json.dumps(out))
"""


def child(kind: str, listings: Path, profiles: Path, model: Path, top: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(HERE.parent), kind, str(listings), str(profiles), str(model), str(top)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def keyword_only(path: Path, count: int) -> Path:
    """The first `count` profiles, keywords only: the issue's keyword profiles."""
    out = path.with_name(f"{path.stem}-keywords-{count}.jsonl")
    rows = [json.loads(line) for _, line in zip(range(count), path.open(encoding="utf-8"), strict=False)]
    out.write_text("".join(json.dumps({"name": r["name"], "keywords": r["keywords"]}) + "\n" for r in rows))
    return out


def head(path: Path, count: int, name: str, skip: int = 0) -> Path:
    """Lines `skip` to `skip + count` of a JSON-lines file, as a file of their own."""
    out = CACHE / name
    with path.open(encoding="utf-8") as src:
        lines = [line for i, line in enumerate(src) if skip <= i < skip + count]
    out.write_text("".join(lines), encoding="utf-8")
    return out


def compare(title: str, kind: str, files: tuple[Path, Path, Path], top: int, runs: int, target: str = "") -> None:
    """`runs` children of `kind`, each the bare side then the bot side; prints the medians."""
    results = [child(kind, *files, top) for _ in range(runs)]
    print(title)
    print(f"{'':<36}{'seconds':>10}{'CPU s':>10}{'peak RSS MiB':>15}")
    for side, label in (("bare", "bare scikit-learn + product"), ("bot", "bot rank")):
        seconds = statistics.median(r[side]["seconds"] for r in results)
        cpu = statistics.median(r[side]["cpu"] for r in results)
        peak = max(r[side]["peak_mib"] for r in results)
        print(f"{label:<36}{seconds:>10.2f}{cpu:>10.2f}{peak:>15.0f}")
    ratios = [r["bot"]["seconds"] / r["bare"]["seconds"] for r in results]
    cpu_ratios = [r["bot"]["cpu"] / r["bare"]["cpu"] for r in results]
    print(
        f"bot / bare: {statistics.median(ratios):.2f}× the time, {statistics.median(cpu_ratios):.2f}× the CPU "
        f"(median of {runs} runs: {', '.join(f'{x:.2f}' for x in ratios)}){target}"
    )


def complexity(package: Path) -> None:
    """radon's cyclomatic complexity of every function in `package`: those above 10, and the largest."""
    try:
        from radon.complexity import cc_rank, cc_visit
    except ImportError:
        print("radon is not installed (pip install -e '.[bench]'): no complexity report")
        return
    blocks = [
        (block.complexity, f"{path.relative_to(package.parent.parent)}:{block.lineno} {block.fullname}")
        for path in sorted(package.glob("*.py"))
        for block in cc_visit(path.read_text(encoding="utf-8"))
    ]
    blocks.sort(reverse=True)
    over = [b for b in blocks if b[0] > 15]
    print(
        f"radon cyclomatic complexity of {package.relative_to(package.parent.parent)}/: {len(blocks)} blocks, "
        f"mean {statistics.mean(c for c, _ in blocks):.1f}, {len(over)} above 15 (the limit)"
    )
    for score, name in blocks:
        if score > 10:
            print(f"  {cc_rank(score)} {score:>3}  {name}")


def day_in_store(stored: list, day: list, model) -> None:
    from bot.rank.vectors import document
    from bot.store import Store

    db = CACHE / "speed-store.db"
    db.unlink(missing_ok=True)
    with Store(f"sqlite:///{db}") as store:
        store.upsert_listings(stored)
        start = time.perf_counter()
        store.upsert_listings(day)
        upsert = time.perf_counter() - start
        start = time.perf_counter()
        model.vectorizer.transform([document(x) for x in store.listings(ids=[x.id for x in day])])
        transform = time.perf_counter() - start
    db.unlink(missing_ok=True)
    print(f"a day of {len(day):,} new listings: {upsert:.2f} s into the store, {transform:.2f} s to vectorize")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--profiles", type=int, default=2_000, help="keyword profiles ranked from scratch")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="children per comparison; medians are printed")
    parser.add_argument("--day", type=int, default=1_000, help="new listings of the daily path")
    parser.add_argument("--daily-profiles", type=int, default=10_000, help="keyword profiles of the daily path")
    parser.add_argument("--window", type=int, default=50_000, help="listings the vectorizer is fitted on; 0 skips")
    args = parser.parse_args()

    from bot.jsonl import read_listings
    from bot.rank.model import fit_model, save_model

    listings_path, profiles_path = make_files(args.listings + args.day, max(args.profiles, args.daily_profiles))
    stored_path = head(listings_path, args.listings, f"stored-{args.listings}.jsonl")
    day_path = head(listings_path, args.day, f"day-{args.day}.jsonl", skip=args.listings)
    model_path = CACHE / "text-model.joblib"
    compare(
        f"from scratch: {args.listings:,} listings × {args.profiles:,} keyword profiles, top {args.top}",
        "scratch",
        (stored_path, keyword_only(profiles_path, args.profiles), model_path),
        args.top,
        args.runs,
        "; target ≤ 2×",
    )

    stored = read_listings(stored_path)
    start = time.perf_counter()
    model = fit_model(stored, now=datetime.now(UTC))
    fit_seconds = time.perf_counter() - start
    save_model(model, model_path)
    print(
        f"\nsaved model fitted on the {args.listings:,} listings in {fit_seconds:.1f} s "
        f"({len(model.vectorizer.vocabulary_):,} terms)"
    )
    compare(
        f"daily: {args.day:,} new listings × {args.daily_profiles:,} keyword profiles, saved model, top {args.top}",
        "daily",
        (day_path, keyword_only(profiles_path, args.daily_profiles), model_path),
        args.top,
        args.runs,
    )
    print()
    day_in_store(stored, read_listings(day_path), model)
    if args.window:
        window_path, _ = make_files(args.window, 1)
        r = child("fit", window_path, profiles_path, model_path, args.top)["fit"]
        print(
            f"refit on a window of {args.window:,} listings: {r['seconds']:.1f} s, {r['count']:,} terms kept, "
            f"peak {r['peak_mib']:.0f} MiB"
        )
    print()
    complexity(HERE.parent / "bot" / "rank")


if __name__ == "__main__":
    main()
