"""Each source parser on its recorded fixture: time per parse, beside the bare library in the same run.

The baseline is the library alone with nothing around it (json.loads; defusedxml's ElementTree;
feedparser.parse; BeautifulSoup's find), so the difference is what our safety check (defusedxml
before feedparser), field extraction and normalisation cost. Best of 5 rounds of N parses each.

    python benchmarks/parse_sources.py [--rounds 5] [--number 20]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import defusedxml.ElementTree
import feedparser
from bs4 import BeautifulSoup

from bot.sources.arxiv_api import parse_arxiv_atom
from bot.sources.arxiv_rss import parse_arxiv_rss
from bot.sources.feed import parse_feed
from bot.sources.hf_daily import parse_daily_papers
from bot.sources.html import parse_hf_papers_page

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def best(func: Callable[[], object], rounds: int, number: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20)
    args = parser.parse_args()
    hf = (FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json").read_bytes()
    api = (FIXTURES / "arxiv_api_2026-04_testing_m100.body.xml").read_bytes()
    rss = (FIXTURES / "arxiv_rss_2026-04-27_cs.AI_trimmed.xml").read_bytes()
    page = (FIXTURES / "hf_papers_page_2024-08-01.html").read_bytes()
    cases = [
        ("hf_daily (30 papers, 166 KB)", lambda: parse_daily_papers(hf), lambda: json.loads(hf)),
        (
            "arxiv_api (100 entries, 232 KB)",
            lambda: parse_arxiv_atom(api),
            lambda: defusedxml.ElementTree.fromstring(api),
        ),
        ("arxiv_rss (3 items, 7 KB)", lambda: parse_arxiv_rss(rss), lambda: feedparser.parse(rss)),
        ("feed on arxiv_api (100 entries)", lambda: parse_feed(api), lambda: feedparser.parse(api)),
        (
            "html hf_papers (13 papers, 223 KB)",
            lambda: parse_hf_papers_page(page),
            lambda: BeautifulSoup(page, "html.parser").find(attrs={"data-target": "DailyPapers"}),
        ),
    ]
    print(f"{'parser':38} {'ours ms':>9} {'bare ms':>9} {'ratio':>6}")
    for name, ours, bare in cases:
        t_ours, t_bare = best(ours, args.rounds, args.number), best(bare, args.rounds, args.number)
        print(f"{name:38} {t_ours * 1000:9.2f} {t_bare * 1000:9.2f} {t_ours / t_bare:6.2f}")


if __name__ == "__main__":
    main()
