"""The shared HTTP client against a real local server: pacing, retries, Retry-After, 304, size cap."""

import gzip
import subprocess
import sys
import time
import zlib

import httpx
import pytest

from bot import __version__
from bot.errors import SourceError
from bot.sources.http import HttpClient, SourceHttp, Validators
from tests.feed_server import Reply


def test_it_names_the_bot_and_its_version(feed_server, http_client):
    url = feed_server.serve("/feed", Reply(body=b"ok"))
    assert http_client.get(url).body == b"ok"
    assert feed_server.hits("/feed")[0].headers["User-Agent"].startswith(f"paper-digest-bot/{__version__} ")


def test_a_429_is_retried_after_the_wait_the_server_asks_for(feed_server, http_client, clock):
    url = feed_server.serve("/api", Reply(429, b"slow down", {"Retry-After": "7"}), Reply(body=b"[]"))
    assert http_client.get(url).body == b"[]"
    assert len(feed_server.hits("/api")) == 2
    assert clock.sleeps == [7.0]  # Retry-After (7 s) beats the first backoff step (2 s)


def test_5xx_is_retried_with_exponential_backoff_then_reported(feed_server, http_client, clock):
    url = feed_server.serve("/api", Reply(500, b"oops"))
    with pytest.raises(SourceError, match=r"/api: HTTP 500 \(gave up after 4 attempts\)"):
        http_client.get(url)
    assert len(feed_server.hits("/api")) == 4
    assert clock.sleeps == [2.0, 4.0, 8.0]


def test_a_retry_after_too_long_for_this_run_is_not_waited_for(feed_server, http_client, clock):
    url = feed_server.serve("/api", Reply(503, b"", {"Retry-After": "86400"}))
    with pytest.raises(SourceError, match="Retry-After asks for 86400 s"):
        http_client.get(url)
    assert clock.sleeps == [] and len(feed_server.hits("/api")) == 1


def test_a_404_is_not_retried(feed_server, http_client, clock):
    with pytest.raises(SourceError, match=r"/gone: HTTP 404 Not Found$"):
        http_client.get(feed_server.url("/gone"))
    assert clock.sleeps == [] and len(feed_server.hits("/gone")) == 1


def test_one_host_is_asked_at_most_once_per_interval(feed_server, clock):
    url = feed_server.serve("/q", Reply(body=b"x"))
    with HttpClient(clock=clock, sleep=clock.sleep, min_interval={"127.0.0.1": 3.0}) as client:
        client.get(url)
        clock.now += 1.0  # a second passes doing other work
        client.get(url)
        client.get(url)
    assert clock.sleeps == [2.0, 3.0]


def test_a_conditional_get_costs_one_304(feed_server, http_client):
    url = feed_server.serve(
        "/feed", Reply(body=b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"})
    )
    first = SourceHttp(http_client)
    assert first.get(url, conditional=True).status == 200
    assert first.seen == {url: Validators('"v1"', "Wed, 25 Nov 2026 10:00:00 GMT")}
    again = SourceHttp(http_client, first.seen)
    response = again.get(url, conditional=True)
    assert response.not_modified and response.body == b""
    headers = feed_server.hits("/feed")[1].headers
    assert headers["If-None-Match"] == '"v1"' and headers["If-Modified-Since"] == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert again.seen == first.seen  # kept for next time


def test_a_body_over_the_cap_is_dropped_while_streaming(feed_server, clock):
    endless = feed_server.serve("/big", Reply(body=b"x" * 65536, repeat=200))  # 13 MB, no Content-Length
    declared = feed_server.serve("/declared", Reply(body=b"y" * 300_000))
    with HttpClient(max_bytes=1_000_000, clock=clock, sleep=clock.sleep) as client:
        with pytest.raises(SourceError, match=r"/big: body is over the 1,000,000-byte cap"):
            client.get(endless)
        assert len(client.get(declared).body) == 300_000
    small = HttpClient(max_bytes=100_000, clock=clock, sleep=clock.sleep)
    with small, pytest.raises(SourceError, match=r"/declared: body of 300,000 bytes is over the 100,000-byte cap"):
        small.get(declared)


def test_a_server_that_never_answers_times_out(feed_server, clock):
    url = feed_server.serve("/slow", Reply(body=b"late", delay=2.0))
    client = HttpClient(timeout=httpx.Timeout(0.2), retries=0, clock=clock, sleep=clock.sleep)
    with client, pytest.raises(SourceError, match=r"/slow: timed out \(ReadTimeout\) \(gave up after 1 attempt\)"):
        client.get(url)


def test_a_server_trickling_its_body_is_given_up_at_the_deadline(feed_server):
    url = feed_server.serve("/trickle", Reply(body=b"<rss>" + b" " * 100, trickle=0.1))  # 10 s in all
    started = time.monotonic()
    with HttpClient(deadline=1.0) as client, pytest.raises(SourceError) as failed:
        client.get(url)
    assert str(failed.value) == f"{url}: no complete answer within the 1-second deadline ([fetch] deadline_seconds)"
    assert time.monotonic() - started < 5  # not the 10 s the body takes
    assert len(feed_server.hits("/trickle")) == 1  # a deadline is not retried


def test_a_server_trickling_its_headers_is_given_up_at_the_deadline(feed_server):
    url = feed_server.serve("/trickle", Reply(trickle=0.05, trickle_headers=True))  # 50 s of headers
    started = time.monotonic()
    with HttpClient(deadline=1.0) as client, pytest.raises(SourceError, match="within the 1-second deadline"):
        client.get(url)
    assert time.monotonic() - started < 5
    assert len(feed_server.hits("/trickle")) == 1


def test_a_server_too_slow_to_answer_is_given_up_at_the_deadline_not_after_every_retry(feed_server, clock):
    url = feed_server.serve("/slow", Reply(body=b"late", delay=3.0))
    started = time.monotonic()
    client = HttpClient(timeout=httpx.Timeout(20.0), deadline=0.5)
    with client, pytest.raises(SourceError, match=r"/slow: no complete answer within the 0.5-second deadline"):
        client.get(url)
    assert time.monotonic() - started < 2.5
    assert len(feed_server.hits("/slow")) == 1


def test_no_retry_is_waited_for_that_would_end_past_the_deadline(feed_server, clock):
    url = feed_server.serve("/api", Reply(503, b"", {"Retry-After": "120"}))
    with HttpClient(clock=clock, sleep=clock.sleep, deadline=60.0) as client, pytest.raises(SourceError) as failed:
        client.get(url)
    assert str(failed.value).endswith(
        "/api: HTTP 503 (gave up after 1 attempt: another would end past the 60-second deadline)"
    )
    assert clock.sleeps == [] and len(feed_server.hits("/api")) == 1


def test_nothing_listening_is_a_connection_failure(clock):
    client = HttpClient(retries=1, clock=clock, sleep=clock.sleep)
    with client, pytest.raises(SourceError, match=r"connection failed: .* \(gave up after 2 attempts\)"):
        client.get("http://127.0.0.1:9/feed")
    assert clock.sleeps == [2.0]


def test_a_redirect_to_a_file_url_is_refused_at_once(feed_server, http_client, clock):
    url = feed_server.serve("/moved", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    with pytest.raises(SourceError, match=r"/moved: refused a redirect to a URL that is not http or https"):
        http_client.get(url)
    assert len(feed_server.hits("/moved")) == 1 and clock.sleeps == []


# The child's peak RSS is VmHWM, not getrusage's ru_maxrss: that one keeps the high-water mark of
# the process before its exec, a fork of this (large) test process.
CHILD = """
import sys
from bot.errors import SourceError
from bot.sources.http import HttpClient
with HttpClient(retries=0) as client:
    try:
        print(len(client.get(sys.argv[1]).body))
    except SourceError as exc:
        print(exc)
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:")))
"""


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MB of zeros gzipped twice: about a kilobyte on the wire."""
    inner = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    return gzip.compress(b"".join([*(inner.compress(zeros) for _ in range(megabytes)), inner.flush()]))


def test_a_nested_gzip_bomb_is_refused_before_it_fills_memory(feed_server):
    url = feed_server.serve("/bomb", Reply(body=gzip_bomb(512), headers={"Content-Encoding": "gzip, gzip"}))
    # A child process, so its peak memory is the fetch's alone.
    child = subprocess.run([sys.executable, "-c", CHILD, url], capture_output=True, text=True, timeout=60)
    error, peak_mb = child.stdout.splitlines()
    assert error == f"{url}: body is over the 20,971,520-byte cap", child.stderr
    assert int(peak_mb) < 200, f"peak RSS {peak_mb} MB"


def test_gzip_and_deflate_bodies_are_read_and_other_encodings_refused(feed_server, http_client):
    text = b"<rss>" + b"paper " * 10_000 + b"</rss>"
    twice = feed_server.serve(
        "/gz", Reply(body=gzip.compress(gzip.compress(text)), headers={"Content-Encoding": "gzip, gzip"})
    )
    deflated = feed_server.serve("/zz", Reply(body=zlib.compress(text), headers={"Content-Encoding": "deflate"}))
    brotli = feed_server.serve("/br", Reply(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    broken = feed_server.serve("/bad", Reply(body=b"not gzip", headers={"Content-Encoding": "gzip"}))
    assert http_client.get(twice).body == text and http_client.get(deflated).body == text
    assert feed_server.hits("/gz")[0].headers["Accept-Encoding"] == "gzip, deflate"
    with pytest.raises(SourceError, match=r"/br: the body is in an encoding we do not read \(br\)"):
        http_client.get(brotli)
    with pytest.raises(SourceError, match=r"/bad: the body is not valid gzip \(Error -3"):
        http_client.get(broken)
