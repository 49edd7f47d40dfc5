"""The HTML digest in a real browser: headless Chromium (Debian's `chromium`) lays out the inlined
email, without any <style> block, at 375 px (a phone) and 1024 px wide; nothing may overflow
horizontally and every title must be visible. The page a 👍 link opens is held to the same.

Headless Chromium will not make a window narrower than 500 px, so the digest is shown in an iframe
of exactly the width under test, whose viewport is then that wide; a script in the outer page
measures it and writes the result into the DOM, which `--dump-dom` prints. Without Chromium the
tests are skipped with a note, unless TEST_BROWSER=required (CI sets it): then they fail.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest

from bot.flow.deliver import email_links
from bot.links import Links
from bot.models import Digest, DigestItem, Listing, Profile
from bot.render import render_email
from bot.render.text import one_line
from bot.store import Store
from bot.web import build_app
from tests.asgi_server import serve_in_thread

REQUIRED = os.environ.get("TEST_BROWSER") == "required"
LONG_WORD = "Hyper" + "parameter" * 20  # 185 characters with no place to break
MARGIN = 8  # px between a web page's content and the screen's edge, at least
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--virtual-time-budget=10000",  # let the iframe load and the probe run before the DOM is dumped
]

PROBE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="f" src="/digest.html" style="border:0;width:{width}px;height:30000px"></iframe>
<script>
window.addEventListener("load", () => {{
  const w = document.getElementById("f").contentWindow, d = w.document;
  const boxes = (selector) => [...d.querySelectorAll(selector)].map((el) => {{
    const r = el.getBoundingClientRect(), s = w.getComputedStyle(el);
    return {{text: el.textContent.trim().replace(/\\s+/g, " "), left: r.left, right: r.right, top: r.top,
             width: r.width, height: r.height, clipped: el.scrollWidth > el.clientWidth + 1,
             shown: s.visibility === "visible" && s.display !== "none" && el.checkVisibility()}};
  }});
  const titles = boxes("h2"), headings = boxes("h1"), buttons = boxes("button");
  const votes = [...d.querySelectorAll(".votes")].map((p) => [...p.querySelectorAll("a")].map(
    (a) => a.getBoundingClientRect().top));
  const mains = boxes("main");
  const links = [...d.querySelectorAll("a")].map((a) => a.href);
  const wide = [...d.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > w.innerWidth + 1)
    .map((el) => el.tagName + "." + el.className);
  document.body.setAttribute("data-probe", JSON.stringify({{
    viewport: w.innerWidth, clientWidth: d.documentElement.clientWidth,
    scrollWidth: d.documentElement.scrollWidth, bodyScrollWidth: d.body.scrollWidth,
    styleTags: d.querySelectorAll("style").length, titles, headings, buttons, links, wide, votes, mains}}));
}});
</script></body></html>
"""


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if REQUIRED:
        pytest.fail("TEST_BROWSER=required but no Chromium found (apt-get install chromium, or set CHROMIUM=path)")
    pytest.skip("no Chromium here: apt-get install chromium (or set CHROMIUM=path) to run the browser checks")


@contextmanager
def serve(pages: dict[str, str]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(browser: str, digest_html: str, width: int, tmp_path) -> dict:
    with serve({"/digest.html": digest_html, "/probe.html": PROBE.format(width=width)}) as url:
        out = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={tmp_path / f'profile-{width}'}", "--dump-dom", f"{url}/probe.html"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    found = re.search(r'data-probe="([^"]*)"', out.stdout)
    assert found, f"Chromium printed no probe result (exit {out.returncode}): {out.stderr[-2000:]}"
    return json.loads(html_lib.unescape(found.group(1)))


def sample_digest(seed_listings) -> Digest:
    listings = [
        *seed_listings[:10],
        Listing(
            id="evil",
            title='Quasar <script>alert("x")</script> & <b>bold</b> lattices\nwith a break',
            abstract="Markup <img src=x onerror=alert(1)> in the abstract.",
            authors=("A. <Author>",),
            url="https://arxiv.org/abs/2611.00001",
            upvotes=7,
        ),
        Listing(
            id="long",
            title=f"{LONG_WORD} tuning at scale",
            abstract=f"An abstract with one very long word: {LONG_WORD}.",
            authors=tuple(f"Author Number{i}" for i in range(12)),
            url="https://example.org/" + "x" * 300,
        ),
    ]
    profile = Profile(name="phone-reader", keywords=["x"], email="reader@example.org", id=1)
    items = tuple(DigestItem(listing=item, score=0.5, why=("speculative decoding", "draft model")) for item in listings)
    return Digest(
        id=1,
        profile=profile,
        channel="email",
        period="2026-11-27",
        items=items,
        message_id="<x@example.org>",
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
    )


@pytest.mark.parametrize("width", [375, 1024])
def test_the_inlined_digest_fits_and_shows_every_title(width, seed_listings, tmp_path):
    browser = chromium()
    digest = sample_digest(seed_listings)
    links = email_links(digest, Links("secret", "https://papers.example.org"))
    html = render_email(digest, links=links).html
    assert "<style" not in html, "the email must not depend on a <style> block"

    result = measure(browser, html, width, tmp_path)
    assert result["viewport"] == result["clientWidth"] == width, "the whole width is the page's, no scrollbar"
    assert result["styleTags"] == 0
    assert result["scrollWidth"] <= width and result["bodyScrollWidth"] <= width, result["wide"]
    assert result["wide"] == []
    expected = [one_line(item.listing.title) for item in digest.items]
    assert [re.sub(r"^\d+\. ", "", t["text"]) for t in result["titles"]] == expected
    for title in result["titles"]:
        assert title["shown"] and title["width"] > 0 and title["height"] > 0, title
        assert title["left"] >= 0 and title["right"] <= width, title
        assert not title["clipped"], title
    assert "https://arxiv.org/abs/2611.00001" in result["links"]
    assert sum("/feedback/" in href for href in result["links"]) == 2 * len(digest.items)
    assert len(result["votes"]) == len(digest.items)
    for up, down in result["votes"]:
        assert up == down, "the 👍 and 👎 buttons sit on one line"
    assert any("/unsubscribe/" in href for href in result["links"])


@pytest.mark.parametrize("width", [375, 1024])
def test_the_vote_page_fits_and_its_button_shows(width, tmp_path):
    """The page a 👍 link opens, fetched from `bot serve`'s app over HTTP, with a title that has a
    word too long for a phone's line: the title wraps and the button is on screen."""
    browser = chromium()
    links = Links("secret", "https://papers.example.org")
    title = f"{LONG_WORD} tuning <i>at</i> scale"
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings([Listing(id="arxiv:2611.00002", title=title, abstract="A")])
        profile = store.add_profile(Profile(name="phone-reader", keywords=["x"], email="reader@example.org"))
        vote_path = urlsplit(links.feedback_url(profile.id, "reader@example.org", "arxiv:2611.00002", 1)).path
        with serve_in_thread(build_app(store, links)) as url:
            page = httpx.get(url + vote_path)
    assert page.status_code == 200

    result = measure(browser, page.text, width, tmp_path)
    assert result["viewport"] == width
    assert result["scrollWidth"] <= width and result["wide"] == [], result["wide"]
    [heading] = result["headings"]
    assert heading["text"] == f"👍 {title}", "the title as text, its markup escaped"
    assert heading["shown"] and not heading["clipped"] and heading["right"] <= width, heading
    [button] = result["buttons"]
    assert button["text"] == "👍 More like this"
    assert button["shown"] and button["width"] > 0 and button["left"] >= 0 and button["right"] <= width, button
    assert_margins(result, width)


def assert_margins(result: dict, width: int) -> None:
    """The page's card keeps clear of the screen's edges, on a phone too."""
    [main] = result["mains"]
    assert main["left"] >= MARGIN and main["right"] <= width - MARGIN, main


def test_the_unsubscribe_page_keeps_a_margin_on_a_phone(tmp_path):
    browser = chromium()
    links = Links("secret", "https://papers.example.org")
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        profile = store.add_profile(Profile(name="phone-reader", keywords=["x"], email="reader@example.org"))
        path = urlsplit(links.unsubscribe_url(profile.id, "reader@example.org")).path
        with serve_in_thread(build_app(store, links)) as url:
            page = httpx.get(url + path)
    assert page.status_code == 200 and "Unsubscribe?" in page.text
    result = measure(browser, page.text, 375, tmp_path)
    assert result["scrollWidth"] <= 375 and result["wide"] == [], result["wide"]
    assert_margins(result, 375)


def test_the_probe_sees_a_page_that_overflows(tmp_path):
    """The check above can fail: a page with a fixed 600 px element overflows a 375 px viewport."""
    browser = chromium()
    page = '<html><body><h2>Wide</h2><div style="width:600px">x</div></body></html>'
    result = measure(browser, page, 375, tmp_path)
    assert result["viewport"] == 375
    assert result["scrollWidth"] > 375 and result["wide"] == ["DIV."]
