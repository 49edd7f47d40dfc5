"""`bot rank` on 10,000 listings and 1,000 profiles: wall time and peak memory, beside a baseline.

The baseline, measured in the same run and on the same files, is the bare method with nothing
around it: the same TF-IDF fit, keyword vectors summed per profile, one sparse product, argpartition
for the top 20. No reasons, no exclusions, no JSON out. Both run as child processes, so each peak
RSS is that process's own.

    python benchmarks/rank_scale.py [--listings 10000] [--profiles 1000] [--top 20]

The listings are recombined from the 1,000 real arXiv records in benchmarks/data/ (each a real
title and sentences from real abstracts of the same category), so vocabulary and phrase statistics
look like arXiv's. Files are written to benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "arxiv-cs-2016-03.jsonl"
CACHE = HERE / ".cache"

BASELINE = r"""
import json, sys
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
listings = [json.loads(l) for l in open(sys.argv[1])]
profiles = [json.loads(l) for l in open(sys.argv[2])]
top = int(sys.argv[3])
vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
docs = vec.fit_transform([f"{x['title']}. {x['title']}. {x['abstract']}" for x in listings])
index = {x["id"]: i for i, x in enumerate(listings)}
rows = []
for p in profiles:
    parts = [normalize(vec.transform(p.get("keywords", [])).sum(axis=0).A)] if p.get("keywords") else []
    if p.get("like"):
        parts.append(normalize(docs[[index[i] for i in p["like"]]].mean(axis=0).A))
    rows.append(sp.csr_matrix(normalize(sum(parts))))
queries = sp.vstack(rows).tocsr()
scores = (queries @ docs.T).toarray()
best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
print(best.shape)
"""


def make_files(n_listings: int, n_profiles: int, seed: int = 7) -> tuple[Path, Path]:
    CACHE.mkdir(exist_ok=True)
    listings_path = CACHE / f"listings-{n_listings}.jsonl"
    profiles_path = CACHE / f"profiles-{n_profiles}-{n_listings}.jsonl"
    rng = random.Random(seed)
    records = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    by_category: dict[str, list[str]] = {}
    for r in records:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", r["abstract"]) if len(s) > 20]
        by_category.setdefault(r["categories"][0], []).extend(sentences)
    listings = []
    for i in range(n_listings):
        base = rng.choice(records)
        pool = by_category[base["categories"][0]]
        listings.append(
            {
                "id": f"syn-{i}",
                "title": base["title"],
                "abstract": " ".join(rng.sample(pool, min(len(pool), rng.randint(4, 8)))),
                "authors": rng.sample(base["authors"], len(base["authors"])),
                "categories": base["categories"],
            }
        )
    stop = {"a", "an", "the", "of", "for", "and", "in", "on", "to", "with", "via", "by", "from", "using"}
    profiles = []
    for i in range(n_profiles):
        title_words = [w for w in re.findall(r"[A-Za-z][a-z-]+", rng.choice(records)["title"]) if w.lower() not in stop]
        phrases = [" ".join(title_words[j : j + 2]) for j in range(0, max(1, len(title_words) - 1), 2)][:3]
        profile: dict = {"name": f"p{i}", "keywords": phrases or ["networks"]}
        if i % 5 == 0:
            profile["like"] = [f"syn-{rng.randrange(n_listings)}" for _ in range(5)]
        if i % 10 == 0:
            profile["exclude"] = ["survey"]
            profile["authors"] = rng.choice(records)["authors"][:1]
        profiles.append(profile)
    listings_path.write_text("".join(json.dumps(x) + "\n" for x in listings), encoding="utf-8")
    profiles_path.write_text("".join(json.dumps(p) + "\n" for p in profiles), encoding="utf-8")
    return listings_path, profiles_path


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one child process."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--profiles", type=int, default=1_000)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    listings, profiles = make_files(args.listings, args.profiles)
    bot = [
        sys.executable,
        "-m",
        "bot",
        "rank",
        "--listings",
        str(listings),
        "--profiles",
        str(profiles),
        "--top",
        str(args.top),
    ]
    baseline = [sys.executable, "-c", BASELINE, str(listings), str(profiles), str(args.top)]
    print(f"{args.listings:,} listings × {args.profiles:,} profiles, top {args.top}")
    print(f"{'':<28}{'seconds':>10}{'peak RSS MiB':>15}")
    for name, cmd in (("baseline (bare product)", baseline), ("bot rank", bot)):
        seconds, rss = measure(cmd)
        print(f"{name:<28}{seconds:>10.1f}{rss:>15.0f}")


if __name__ == "__main__":
    main()
