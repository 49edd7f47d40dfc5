"""Ranking at scale: 10,000 listings × 10,000 keyword profiles, top 20, beside a bare sparse product.

    python benchmarks/rank_speed.py [--listings 10000] [--profiles 10000] [--top 20]

Both sides start from the same saved vectorizer (fitted once, as `bot digest` keeps it) and the
same files, and each runs in its own child process, so each peak RSS is that process's own:

- bare: transform the listings, one query row per profile (its keywords' TF-IDF, normalised),
  one scipy sparse product profiles × listings and `argpartition` for the top 20. Nothing else.
- bot: `bot.rank.rank(..., model=saved)`, everything a digest gets: Rocchio vectors, pseudo-
  relevance feedback, favourite authors, excluded words, the reasons for every result.

Times are of the work only (reading the files and loading the model are left out of both).
Then: adding a day of 1,000 new listings to an existing store of the 10,000 (upsert into SQLite)
and vectorizing them with the saved model (transform only, no refit); and the time and peak
memory of the weekly refit on the default window of 50,000 listings.

Listings and profiles are made as in benchmarks/rank_scale.py (real arXiv titles, sentences of
real abstracts of the same category); files go to benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import json
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
model = joblib.load(model_path) if kind != "fit" else None
start = time.perf_counter()
if kind == "fit":
    from datetime import UTC, datetime
    from bot.rank.model import fit_model
    model = fit_model(listings, now=datetime.now(UTC))
    count = len(model.vectorizer.vocabulary_)
elif kind == "bare":
    import numpy as np, scipy.sparse as sp
    from sklearn.preprocessing import normalize
    from bot.rank.vectors import document
    vec = model.vectorizer
    docs = vec.transform([document(x) for x in listings]).tocsr()
    texts, rows, cols = [], [], []
    for r, p in enumerate(profiles):
        for k in p.keywords:
            rows.append(r); cols.append(len(texts)); texts.append(k)
    assign = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(profiles), len(texts)))
    queries = normalize(assign @ vec.transform(texts))
    scores = (queries @ docs.T).toarray()
    best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    count = best.shape[0]
else:
    from bot.rank import rank
    count = sum(1 for _ in rank(listings, profiles, top=top, model=model))
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "profiles": count}))
"""


def child(kind: str, listings: Path, profiles: Path, model: Path, top: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(HERE.parent), kind, str(listings), str(profiles), str(model), str(top)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def keyword_only(path: Path) -> Path:
    """The same profiles with keywords only: the issue's 10,000 keyword profiles."""
    out = path.with_name(path.stem + "-keywords.jsonl")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    out.write_text("".join(json.dumps({"name": r["name"], "keywords": r["keywords"]}) + "\n" for r in rows))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--day", type=int, default=1_000, help="new listings added to the store afterwards")
    parser.add_argument("--window", type=int, default=50_000, help="listings the vectorizer is fitted on; 0 skips")
    args = parser.parse_args()

    from bot.jsonl import read_listings
    from bot.rank.model import fit_model, save_model
    from bot.store import Store

    listings_path, profiles_path = make_files(args.listings + args.day, args.profiles)
    profiles_path = keyword_only(profiles_path)
    everything = read_listings(listings_path)
    stored, day = everything[: args.listings], everything[args.listings :]
    stored_path = CACHE / f"stored-{args.listings}.jsonl"
    with listings_path.open(encoding="utf-8") as src:
        stored_path.write_text("".join(line for _, line in zip(range(args.listings), src, strict=False)))

    start = time.perf_counter()
    model = fit_model(stored, now=datetime.now(UTC))
    fit_seconds = time.perf_counter() - start
    model_path = CACHE / "text-model.joblib"
    save_model(model, model_path)
    print(
        f"{args.listings:,} listings × {args.profiles:,} keyword profiles, top {args.top}; "
        f"vectorizer fitted once in {fit_seconds:.1f} s ({len(model.vectorizer.vocabulary_):,} terms)"
    )
    print(f"{'':<34}{'seconds':>10}{'peak RSS MiB':>15}")
    results = {}
    for kind, label in (("bare", "bare sparse product + argpartition"), ("bot", "bot rank (saved vectorizer)")):
        results[kind] = r = child(kind, stored_path, profiles_path, model_path, args.top)
        print(f"{label:<34}{r['seconds']:>10.2f}{r['peak_mib']:>15.0f}")
    ratio = results["bot"]["seconds"] / results["bare"]["seconds"]
    print(f"bot / bare: {ratio:.2f}× the time (target ≤ 2×), peak {results['bot']['peak_mib']:.0f} MiB (target < 2048)")

    db = CACHE / "speed-store.db"
    db.unlink(missing_ok=True)
    with Store(f"sqlite:///{db}") as store:
        store.upsert_listings(stored)
        start = time.perf_counter()
        store.upsert_listings(day)
        upsert = time.perf_counter() - start
        start = time.perf_counter()
        from bot.rank.vectors import document

        model.vectorizer.transform([document(x) for x in store.listings(ids=[x.id for x in day])])
        transform = time.perf_counter() - start
    db.unlink(missing_ok=True)
    print(f"a day of {len(day):,} new listings: {upsert:.2f} s into the store, {transform:.2f} s to vectorize")
    if args.window:
        window_path, _ = make_files(args.window, 1)
        r = child("fit", window_path, profiles_path, model_path, args.top)
        print(
            f"refit on a window of {args.window:,} listings: {r['seconds']:.1f} s, {r['profiles']:,} terms kept, "
            f"peak {r['peak_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
