"""The real endpoints are asked the way their owners ask: right URL and parameters, arXiv paced at 3 s.

The internet is replaced by httpx's MockTransport (the edge, not our code), which records each
request and answers with the recorded fixture of that endpoint.
"""

import httpx

from bot.config import SourceConfig
from bot.flow.fetch import read_source
from bot.sources.http import HttpClient, SourceHttp, retry_after
from tests.conftest import FIXTURES

BODIES = {
    "huggingface.co": (FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json").read_bytes(),
    "export.arxiv.org": (FIXTURES / "arxiv_api_2026-06_transformer_cat-cs.LG.xml").read_bytes(),
    "rss.arxiv.org": (FIXTURES / "arxiv_rss_2026-04-27_cs.AI_trimmed.xml").read_bytes(),
}


def fetch(config: SourceConfig, clock):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=BODIES[request.url.host])

    with HttpClient(transport=httpx.MockTransport(answer), clock=clock, sleep=clock.sleep) as client:
        listings = read_source(config, SourceHttp(client))
    return listings, seen


def test_hf_daily_asks_the_daily_papers_api(clock):
    listings, seen = fetch(SourceConfig("hf", "hf_daily", {"date": "2026-06-12"}), clock)
    assert len(listings) == 30
    assert [str(r.url) for r in seen] == ["https://huggingface.co/api/daily_papers?limit=100&date=2026-06-12"]
    assert seen[0].headers["User-Agent"].startswith("paper-digest-bot/")


def test_arxiv_api_asks_export_arxiv_org_newest_first_one_page_every_3_seconds(clock):
    config = SourceConfig(
        "api",
        "arxiv_api",
        {"query": 'all:"speculative decoding"', "categories": ["cs.CL", "cs.LG"], "max_results": 10, "page_size": 5},
    )
    listings, seen = fetch(config, clock)
    assert len(listings) == 5  # every page answered is the same 5 papers: the second brings none new, and ends it
    assert [r.url.host for r in seen] == ["export.arxiv.org", "export.arxiv.org"]
    assert dict(seen[0].url.params) == {
        "search_query": '(all:"speculative decoding") AND (cat:cs.CL OR cat:cs.LG)',
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": "0",
        "max_results": "5",
    }
    assert seen[1].url.params["start"] == "5"
    assert clock.sleeps == [3.0]


def test_arxiv_rss_asks_for_all_categories_in_one_feed(clock):
    listings, seen = fetch(SourceConfig("rss", "arxiv_rss", {"categories": ["cs.AI", "cs.LG"]}), clock)
    assert len(listings) == 3
    assert [str(r.url) for r in seen] == ["https://rss.arxiv.org/rss/cs.AI+cs.LG"]


def test_retry_after_as_an_http_date():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert retry_after("Fri, 27 Nov 2026 07:00:30 GMT", now) == 30.0
    assert retry_after("Fri, 27 Nov 2026 06:59:00 GMT", now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_a_configured_url_keeps_its_own_query(clock):
    _, seen = fetch(
        SourceConfig("hf", "hf_daily", {"url": "https://huggingface.co/api/daily_papers?sort=trending"}), clock
    )
    assert [str(r.url) for r in seen] == ["https://huggingface.co/api/daily_papers?sort=trending&limit=100"]
