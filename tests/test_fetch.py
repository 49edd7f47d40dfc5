"""`fetch_sources` against a real local HTTP server: bad input of every kind, 304, one paper from three sources.

Each bad answer must leave that source recorded as failed with a one-line reason, everything stored
before untouched, and the other sources fetched all the same.
"""

import json
import re

import httpx
import pytest

from bot.config import SourceConfig
from bot.flow.fetch import fetch_sources
from bot.models import Listing
from bot.sources.http import HttpClient
from tests.conftest import FIXTURES
from tests.feed_server import Reply

RSS_CL = (FIXTURES / "arxiv_rss_2026-04-27_cs.CL_trimmed.xml").read_bytes()
RSS_AI = (FIXTURES / "arxiv_rss_2026-04-27_cs.AI_trimmed.xml").read_bytes()
HF_API = (FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json").read_bytes()
ARXIV_NEW = (FIXTURES / "arxiv_api_2026-06_transformer_cat-cs.LG.xml").read_bytes()
ERROR_400 = json.loads((FIXTURES / "arxiv_api_2026-04_error_400_bad_id.recorded.json").read_text())["body"].encode()

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"""
HTML_ERROR = b"""<!DOCTYPE html>
<html><head><title>503 Service Temporarily Unavailable</title></head><body>Try later</body></html>"""
KNOWN = Listing(id="arxiv:1801.05533", title="Stored before", abstract="Must survive.", upvotes=5)


def feed(name: str, url: str) -> SourceConfig:
    return SourceConfig(name=name, kind="feed", options={"url": url})


def hf(name: str, url: str) -> SourceConfig:
    return SourceConfig(name=name, kind="hf_daily", options={"url": url})


def external_entity(server) -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "'
        + server.url("/secret").encode()
        + b'">]><rss version="2.0"><channel><title>&secret;</title></channel></rss>'
    )


def wrong_encoding() -> bytes:
    # Declares ASCII, holds UTF-8 ("Müller"): the bytes contradict the declaration.
    return RSS_CL.replace(b"<rss ", b'<?xml version="1.0" encoding="us-ascii"?>\n<rss ', 1).replace(
        b"Anamta Khan", "Anamta Müller".encode()
    )


BAD_INPUT = {
    "timeout": (feed, lambda s: Reply(body=RSS_CL, delay=2.0), r"timed out \(ReadTimeout\)"),
    "404": (feed, lambda s: Reply(404, b"<html><title>Not Found</title></html>"), r"HTTP 404 Not Found$"),
    "500": (feed, lambda s: Reply(500, b"Internal error"), r"HTTP 500 \(gave up after 4 attempts\)"),
    "html error page": (
        feed,
        lambda s: Reply(200, HTML_ERROR, {"Content-Type": "text/html"}),
        r"expected an RSS or Atom feed, got an HTML page \('503 Service Temporarily Unavailable'\)",
    ),
    "truncated xml": (feed, lambda s: Reply(body=RSS_CL[: len(RSS_CL) // 2]), r"malformed XML \(.*line \d+"),
    "malformed xml": (feed, lambda s: Reply(body=b"<rss><channel><item></channel></rss>"), r"mismatched tag"),
    "wrong declared encoding": (feed, lambda s: Reply(body=wrong_encoding()), r"says it is us-ascii: is it\?"),
    "entity-expansion bomb": (feed, lambda s: Reply(body=BOMB), r"declares entities \('lol'; a possible"),
    "external entity": (feed, lambda s: Reply(body=external_entity(s)), r"external entity \('secret' → http"),
    "over the size cap": (
        feed,
        lambda s: Reply(body=b"<rss>" + b" " * 65536, repeat=40),
        r"over the 1,000,000-byte cap",
    ),
    "truncated json": (hf, lambda s: Reply(body=HF_API[:5000]), r"malformed JSON \(.* at line 1, column \d+\)"),
    "json not utf-8": (
        hf,
        lambda s: Reply(body='[{"title": "Café"}]'.encode("latin-1"), headers={"Content-Type": "application/json"}),
        r"expected Hugging Face Daily Papers JSON in UTF-8, got an invalid byte at offset 15",
    ),
    "json nested too deeply": (hf, lambda s: Reply(body=b"[" * 100_000), r"got JSON nested too deeply to read$"),
    "html instead of json": (hf, lambda s: Reply(body=HTML_ERROR), r"got an HTML page"),
    "json instead of a feed": (feed, lambda s: Reply(body=HF_API), r"expected an RSS or Atom feed, got JSON"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_fails_that_source_alone_and_loses_nothing(case, feed_server, store, clock):
    make, reply, reason = BAD_INPUT[case]
    store.upsert_listings([KNOWN])
    before = store.listings()
    bad = make("bad", feed_server.serve("/bad", reply(feed_server)))
    good = feed("good", feed_server.serve("/good", Reply(body=RSS_AI)))
    with HttpClient(timeout=httpx.Timeout(0.3), max_bytes=1_000_000, clock=clock, sleep=clock.sleep) as client:
        results = fetch_sources(store, [bad, good], client=client)
    failed, ok = results
    assert failed.error is not None and "\n" not in failed.error
    assert failed.error.startswith(feed_server.url("/bad")), failed.error
    assert re.search(reason, failed.error), failed.error
    assert (ok.error, ok.new) == (None, 3)
    states = store.source_states()
    assert (states["bad"].last_outcome, states["bad"].last_error) == ("failed", failed.error)
    assert states["good"].last_outcome == "ok"
    kept = {item.id: item for item in store.listings()}
    assert [kept[item.id] for item in before] == before
    assert feed_server.hits("/secret") == []  # no parser ever fetched anything by itself


def test_a_feed_with_an_external_dtd_is_read_without_fetching_the_dtd(feed_server, store, http_client):
    body = RSS_CL.replace(b"<rss ", b'<!DOCTYPE rss SYSTEM "' + feed_server.url("/x.dtd").encode() + b'">\n<rss ', 1)
    (result,) = fetch_sources(store, [feed("f", feed_server.serve("/f", Reply(body=body)))], client=http_client)
    assert (result.error, result.new) == (None, 3)
    assert feed_server.hits("/x.dtd") == []


def test_an_unchanged_source_costs_one_304_and_stores_nothing(feed_server, store, http_client):
    url = feed_server.serve("/rss", Reply(body=RSS_AI, headers={"ETag": '"abc"'}))
    source = SourceConfig(name="ai", kind="arxiv_rss", options={"url": url})
    (first,) = fetch_sources(store, [source], client=http_client)
    assert (first.new, first.not_modified) == (3, False)
    assert store.source_states()["ai"].validators == {url: {"etag": '"abc"', "last_modified": None}}
    (again,) = fetch_sources(store, [source], client=http_client)
    assert (again.new, again.not_modified, again.error, again.status) == (0, True, None, "not modified")
    hits = feed_server.hits("/rss")
    assert len(hits) == 2 and hits[1].headers["If-None-Match"] == '"abc"'
    assert store.source_states()["ai"].last_outcome == "unchanged"


def test_a_429_with_retry_after_is_waited_for_and_the_source_succeeds(feed_server, store, http_client, clock):
    url = feed_server.serve("/hf", Reply(429, b"", {"Retry-After": "5"}), Reply(body=HF_API))
    (result,) = fetch_sources(store, [hf("hf", url)], client=http_client)
    assert (result.error, result.new) == (None, 30)
    assert clock.sleeps == [5.0]


def test_the_same_paper_from_three_sources_is_one_listing_with_the_richest_fields(feed_server, store, http_client):
    # The recorded responses share no paper, so MiniMax Sparse Attention (2606.13392, on Hugging Face)
    # is put in the place of the first paper of the arXiv API answer (as v2) and of the RSS feed.
    api = ARXIV_NEW.replace(b"2606.13677v1", b"2606.13392v2")
    rss = RSS_AI.replace(b"2604.21935", b"2606.13392")
    sources = [
        hf("hf", feed_server.serve("/hf", Reply(body=HF_API))),
        SourceConfig(
            name="api",
            kind="arxiv_api",
            options={"url": feed_server.serve("/api", Reply(body=api)), "query": "all:transformer", "max_results": 5},
        ),
        SourceConfig(name="rss", kind="arxiv_rss", options={"url": feed_server.serve("/rss", Reply(body=rss))}),
    ]
    results = fetch_sources(store, sources, client=http_client)
    assert [(r.source, r.new, r.updated, r.unchanged, r.error) for r in results] == [
        ("hf", 30, 0, 0, None),
        ("api", 4, 1, 0, None),  # arXiv enriches it with categories and a longer abstract
        ("rss", 2, 0, 1, None),  # the RSS item adds nothing the other two had not given
    ]
    items = {i.id: i for i in store.listings()}
    assert len(items) == 36
    msa = items["arxiv:2606.13392"]
    assert msa.title == "MiniMax Sparse Attention" and msa.source == "hf"
    assert (msa.upvotes, msa.comments, msa.github_repo) == (103, 4, "https://github.com/MiniMax-AI/MSA")
    assert msa.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG")  # from arXiv; RSS adds nothing new
    assert msa.authors[:2] == ("Xunhao Lai", "Weiqi Xu")
    # A later version of a stored paper is the same listing, not a new one.
    feed_server.serve("/api", Reply(body=api.replace(b"2606.13392v2", b"2606.13392v3")))
    (again,) = fetch_sources(store, [sources[1]], client=http_client)
    assert (again.new, again.updated + again.unchanged) == (0, 5)


def arxiv_page(n: int) -> bytes:
    """The recorded page of 5 entries of 28946, its ids changed to make it page n of the results."""
    return re.sub(rb"2606\.135(\d\d)", rb"2606.2%d\1" % n, re.sub(rb"2606\.136(\d\d)", rb"2606.3%d\1" % n, ARXIV_NEW))


def test_arxiv_api_pages_at_most_once_every_3_seconds(feed_server, store, clock):
    url = feed_server.serve("/api", *(Reply(body=arxiv_page(n)) for n in range(4)))  # there is always a next page
    source = SourceConfig(
        name="api", kind="arxiv_api", options={"url": url, "categories": ["cs.LG"], "max_results": 15, "page_size": 5}
    )
    with HttpClient(clock=clock, sleep=clock.sleep, min_interval={}) as client:
        (result,) = fetch_sources(store, [source], client=client)
    assert (result.error, result.new) == (None, 15)
    hits = feed_server.hits("/api")
    assert [h.query["start"] for h in hits] == [["0"], ["5"], ["10"]]
    assert hits[0].query["search_query"] == ["cat:cs.LG"] and hits[0].query["max_results"] == ["5"]
    assert clock.sleeps == [3.0, 3.0]


def test_arxiv_api_paging_stops_at_the_first_page_that_brings_nothing_new(feed_server, store, clock):
    # arXiv has answered every page of a query with the same 5 papers while promising 28946.
    url = feed_server.serve("/api", Reply(body=ARXIV_NEW))
    source = SourceConfig(name="api", kind="arxiv_api", options={"url": url, "query": "all:x", "page_size": 5})
    with HttpClient(clock=clock, sleep=clock.sleep, min_interval={}) as client:
        (result,) = fetch_sources(store, [source], client=client)
    assert (result.error, result.new) == (None, 5)
    assert len(feed_server.hits("/api")) == 2  # the second page repeats the first: no third request


def test_an_arxiv_api_error_is_reported_in_arxivs_words(feed_server, store, http_client):
    url = feed_server.serve("/api", Reply(400, ERROR_400))
    source = SourceConfig(name="api", kind="arxiv_api", options={"url": url, "query": "id:abc"})
    (result,) = fetch_sources(store, [source], client=http_client)
    assert result.error.endswith("the arXiv API refused the query: incorrect id format for abc")


def test_a_journal_feed_joins_the_arxiv_listing_by_doi(feed_server, store, http_client):
    # The recorded API answer has no <arxiv:doi>; one is added to its first entry, as arXiv writes it.
    api = ARXIV_NEW.replace(
        b'<arxiv:primary_category term="cs.RO"/>',
        b'<arxiv:primary_category term="cs.RO"/>\n    <arxiv:doi>10.1109/TRO.2026.12345</arxiv:doi>',
        1,
    )
    journal = b"""<?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>IEEE T-RO</title>
      <item><title>Mana: dexterous manipulation of articulated tools (journal version)</title>
        <link>https://doi.org/10.1109/tro.2026.12345</link></item>
    </channel></rss>"""
    sources = [
        SourceConfig(
            name="api",
            kind="arxiv_api",
            options={"url": feed_server.serve("/api", Reply(body=api)), "query": "all:transformer", "max_results": 5},
        ),
        feed("journal", feed_server.serve("/journal", Reply(body=journal))),
    ]
    api_result, journal_result = fetch_sources(store, sources, client=http_client)
    assert (api_result.new, journal_result.new, journal_result.updated + journal_result.unchanged) == (5, 0, 1)
    mana = next(i for i in store.listings() if i.id == "arxiv:2606.13677")
    assert (mana.doi, mana.title) == ("10.1109/tro.2026.12345", "Mana: Dexterous Manipulation of Articulated Tools")


def test_hf_daily_reads_pages_of_100_until_a_short_one(feed_server, store, http_client):
    items = json.loads(HF_API)
    # A full first page: the 30 recorded papers and 70 copies under other ids (derived for paging only).
    full = items + [item | {"paper": item["paper"] | {"id": f"2699.{n:05d}"}} for n, item in enumerate(items * 3)][:70]
    url = feed_server.serve("/hf", Reply(body=json.dumps(full).encode()), Reply(body=HF_API))
    source = SourceConfig(name="hf", kind="hf_daily", options={"url": url, "date": "2026-06-12"})
    (result,) = fetch_sources(store, [source], client=http_client)
    assert (result.error, result.new, result.unchanged) == (None, 100, 0)
    hits = feed_server.hits("/hf")
    assert [h.query for h in hits] == [
        {"limit": ["100"], "date": ["2026-06-12"]},
        {"limit": ["100"], "date": ["2026-06-12"], "p": ["1"]},
    ]


def test_an_empty_weekend_feed_is_a_quiet_success(feed_server, store, http_client):
    weekend = (FIXTURES / "arxiv_rss_2026-08-01_cs.CL_weekend_empty.xml").read_bytes()
    source = SourceConfig(name="cl", kind="arxiv_rss", options={"url": feed_server.serve("/rss", Reply(body=weekend))})
    (result,) = fetch_sources(store, [source], client=http_client)
    assert (result.error, result.new, result.status) == (None, 0, "ok")
    assert store.source_states()["cl"].last_outcome == "ok"


def test_control_characters_and_bidi_overrides_are_stripped_from_every_kind_of_source(feed_server, store, http_client):
    # U+202E (right-to-left override) can make a title read backwards; BEL and NUL ring or cut a terminal.
    paper = json.loads(HF_API)[0]
    paper["paper"] |= {
        "title": "Tr\u0000ansformers \u202eredocne\u202c \u2067isolated\u2069 \x07ring",
        "summary": "Line one,\n\ttabbed;\x1b[31m red\x7f\x9b.",
        "authors": [{"name": "Ada\u0008 Lovelace\u202d"}, {"name": "\u2066\u0007"}],
        "ai_summary": "Summary\u0000.",
    }
    rss = b"""<?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Lab</title>
      <item><title>\xe2\x80\xaeMirrored\xe2\x80\xac title\xc2\x85</title><link>https://lab.example.org/p/1</link>
        <description>An abstract \xe2\x81\xa6with an isolate\xe2\x81\xa9.</description>
        <dc:creator>Grace \xe2\x80\xaeHopper</dc:creator></item>
    </channel></rss>"""
    sources = [
        hf("hf", feed_server.serve("/hf", Reply(body=json.dumps([paper]).encode()))),
        feed("lab", feed_server.serve("/lab", Reply(body=rss))),
    ]
    assert [r.error for r in fetch_sources(store, sources, client=http_client)] == [None, None]
    items = {i.source: i for i in store.listings()}
    hf_item, lab = items["hf"], items["lab"]
    assert hf_item.title == "Transformers redocne isolated ring"
    assert hf_item.abstract == "Line one, tabbed;[31m red."
    assert (hf_item.authors, hf_item.ai_summary) == (("Ada Lovelace",), "Summary.")
    assert (lab.title, lab.abstract) == ("Mirrored title", "An abstract with an isolate.")
    assert lab.authors == ("Grace Hopper",)
