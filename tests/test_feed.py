"""Each profile's Atom feed at GET /feed/TOKEN on `bot serve`, over real HTTP, read with feedparser:
the papers it was sent, newest first, with their reasons; its link in every email and in
`bot profile show`."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from bot.flow.deliver import email_links
from bot.links import Links
from bot.models import Listing, Profile
from bot.render import render_email
from bot.store import Store
from bot.web import build_app
from tests.asgi_server import serve_in_thread as serve

SECRET = "feed-test-secret"
BASE = "https://papers.example.org"
NASTY = "Lanterns <script>alert(1)</script> & R&D"
PAPERS = [
    Listing(id="arxiv:2611.00001", title=NASTY, abstract="We light lanterns.", authors=("Ada <Lovelace>",)),
    Listing(id="title:abc", title="Seed paper", abstract="", url="https://example.org/p?a=1&b=2"),
    Listing(id="arxiv:2611.00003", title="Third\x0b paper", abstract="Later.\x01"),
    Listing(id="arxiv:2611.00009", title="Pending paper", abstract="Not sent yet."),
]


def path_of(url: str) -> str:
    return urlsplit(url).path


def send(store: Store, profile: Profile, period: str, items, when: datetime) -> None:
    store.create_digests(profile, period, items)
    for digest in store.pending_digests(profile=profile.name):
        store.mark_sent(digest.id, "250 ok", now=when)


@pytest.fixture
def setup(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings(PAPERS)
        ada = store.add_profile(Profile(name="ada", keywords=["lanterns"], email="ada@example.org", slack_channel="#p"))
        ada = store.profile("ada")
        links = Links(SECRET, BASE)
        with serve(build_app(store, links)) as url, httpx.Client(base_url=url) as client:
            yield store, ada, links, client


def test_the_feed_holds_the_papers_sent_newest_first_with_their_reasons(setup):
    store, ada, links, client = setup
    url = path_of(links.feed_url(ada.id))
    empty = feedparser.parse(client.get(url).content)
    assert empty.bozo == 0 and empty.entries == [] and empty.feed.title == "Papers on lanterns"

    day1, day2 = datetime(2026, 11, 27, 7, tzinfo=UTC), datetime(2026, 11, 28, 7, tzinfo=UTC)
    send(store, ada, "2026-11-27", [("arxiv:2611.00001", 0.9, ["lanterns", "R&D"]), ("title:abc", 0.5, [])], day1)
    send(store, ada, "2026-11-28", [("arxiv:2611.00003", 0.7, ["lanterns"])], day2)
    store.create_digests(ada, "2026-11-29", [("arxiv:2611.00009", 0.7, ["x"])])  # pending: not in the feed

    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert response.headers["referrer-policy"] == "no-referrer"
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.id.startswith("urn:uuid:")
    assert feed.feed.updated_parsed[:4] == (2026, 11, 28, 7)
    # Sent on two channels (email and Slack), each paper is in the feed once, the newest digest first.
    titles = [e.title for e in feed.entries]
    assert titles == ["Third paper", NASTY, "Seed paper"], "the title comes back as the text it was"
    third, nasty, seed = feed.entries
    assert nasty.link == "https://arxiv.org/abs/2611.00001" and seed.link == "https://example.org/p?a=1&b=2"
    assert nasty.summary == "We light lanterns.\n\nWhy: lanterns, R&D" and seed.summary == "Why: overall similarity"
    assert third.summary == "Later.\n\nWhy: lanterns", "a control character XML cannot hold is dropped"
    assert nasty.author == "Ada <Lovelace>" and nasty.updated_parsed[:3] == (2026, 11, 27)
    assert all(e.id.startswith("urn:uuid:") for e in feed.entries) and len({e.id for e in feed.entries}) == 3
    # Ids stay the same whatever token the reader holds (a fresh one is signed into every email).
    later = Links(SECRET, BASE, clock=lambda: 1_900_000_000).feed_url(ada.id)
    assert later != links.feed_url(ada.id)
    assert [e.id for e in feedparser.parse(client.get(path_of(later)).content).entries] == [e.id for e in feed.entries]


def test_a_bad_token_gets_400_an_unknown_profile_404_and_an_unsubscribed_reader_keeps_the_feed(setup):
    store, ada, links, client = setup
    send(store, ada, "2026-11-27", [("arxiv:2611.00001", 0.9, ["lanterns"])], datetime(2026, 11, 27, tzinfo=UTC))
    url = path_of(links.feed_url(ada.id))
    tampered = client.get(url[:-3] + ("abc" if not url.endswith("abc") else "abd"))
    assert tampered.status_code == 400 and "not valid" in tampered.text
    assert client.get(path_of(Links("another-secret", BASE).feed_url(ada.id))).status_code == 400
    digest_token = path_of(links.digest_url(ada.id, 1)).rsplit("/", 1)[1]
    assert client.get("/feed/" + digest_token).status_code == 400, "a token for another purpose"
    assert client.get(path_of(links.feed_url(9999))).status_code == 404

    assert store.unsubscribe_email(ada.id, "ada@example.org")
    kept = feedparser.parse(client.get(url).content)
    assert kept.bozo == 0 and [e.title for e in kept.entries] == [NASTY]


def test_each_email_links_the_feed_in_html_and_text(setup):
    store, ada, links, _client = setup
    store.create_digests(ada, "2026-11-27", [("arxiv:2611.00001", 0.9, ["lanterns"])])
    [email_digest] = [d for d in store.pending_digests() if d.channel == "email"]
    signed = email_links(email_digest, links)
    assert signed.feed and links.read_feed(path_of(signed.feed).rsplit("/", 1)[1]) == ada.id
    rendered = render_email(email_digest, links=signed)
    assert f'href="{signed.feed}"' in rendered.html and ">Atom feed</a>" in rendered.html
    assert f"Atom feed of every paper you were sent: {signed.feed}" in rendered.text


def test_profile_show_prints_the_feed_link_when_links_are_on(workdir, bot, monkeypatch):
    assert bot("profile", "add", "ada", "--keywords", "lanterns").exit_code == 0
    assert "feed:" not in bot("profile", "show", "ada").output, "no base_url, no secret: no links"
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + f'\n[web]\nbase_url = "{BASE}"\n')
    monkeypatch.setenv("BOT_SECRET", "x" * 40)
    shown = bot("profile", "show", "ada")
    assert shown.exit_code == 0, shown.output
    [line] = [line for line in shown.output.splitlines() if line.startswith("feed:")]
    url = line.split()[-1]
    assert url.startswith(f"{BASE}/feed/")
    assert Links("x" * 40, BASE).read_feed(url.rsplit("/", 1)[1]) == 1
    assert "feed" not in bot("profile", "show", "ada", "--json").output
