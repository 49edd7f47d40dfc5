"""`bot serve`'s app over real HTTP (uvicorn in a thread on 127.0.0.1, port 0): unsubscribe by page
and by one-click POST, 👍/👎 votes, /healthz, and tokens that are bad, tampered or expired."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.links import Links
from bot.models import Listing, Profile
from bot.store import Store
from bot.web import build_app
from tests.asgi_server import serve_in_thread as serve

SECRET = "web-test-secret"
BASE = "https://papers.example.org"


@pytest.fixture
def setup(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings([Listing(id="arxiv:2611.00001", title="Quiet Lanterns <b>& co</b>", abstract="A")])
        profile = store.add_profile(Profile(name="ada", keywords=["x"], email="ada@example.org", slack_channel="#p"))
        links = Links(SECRET, BASE, feedback_max_age=3600)
        extra = [Route("/slack/events", lambda request: PlainTextResponse("slack here"), methods=["POST"])]
        with serve(build_app(store, links, extra_routes=extra)) as url, httpx.Client(base_url=url) as client:
            yield store, profile, links, client


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_healthz_and_extra_routes(setup):
    _store, _profile, _links, client = setup
    assert client.get("/healthz").text == "ok"
    assert client.post("/slack/events").text == "slack here"


def test_only_the_hosts_of_base_url_and_loopback_are_served_and_no_redirect_names_a_host(setup):
    _store, _profile, _links, client = setup
    assert client.get("/healthz", headers={"Host": "papers.example.org"}).text == "ok"
    assert client.get("/healthz", headers={"Host": "localhost:8080"}).text == "ok"
    forged = client.get("/healthz", headers={"Host": "evil.example"})
    assert forged.status_code == 400
    slash = client.get("/healthz/", headers={"Host": "papers.example.org"})
    assert slash.status_code == 404 and "location" not in slash.headers
    assert client.get("/healthz/", headers={"Host": "evil.example"}).status_code == 400


def test_a_body_over_the_cap_gets_413_and_changes_nothing(setup):
    store, profile, links, _client = setup
    reads = []

    async def reader(request):
        reads.append(len(await request.body()))
        return PlainTextResponse("read")

    extra = [Route("/slack/events", reader, methods=["POST"])]
    url = path_of(links.unsubscribe_url(profile.id, "ada@example.org"))
    app = build_app(store, links, extra_routes=extra, max_body_bytes=1000)
    with serve(app) as base, httpx.Client(base_url=base) as client:
        declared = client.post(url, content=b"x" * 5000)
        chunked = client.post("/slack/events", content=iter([b"x" * 600, b"x" * 600]))
        small = client.post("/slack/events", content=b"x" * 1000)
    assert declared.status_code == 413 and not store.profile("ada").email_unsubscribed
    assert "content-length" not in chunked.request.headers and chunked.status_code == 413
    assert small.text == "read" and reads == [1000], "the reader never got the oversized body"


def test_unsubscribe_by_page_asks_first_then_acts_once(setup):
    store, profile, links, client = setup
    url = path_of(links.unsubscribe_url(profile.id, "ada@example.org"))
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe?" in page.text
    assert f'<form method="post" action="{url}">' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.head(url).is_success
    assert not store.profile("ada").email_unsubscribed, "looking at the page changes nothing, nor does a HEAD"

    done = client.post(url)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    after = store.profile("ada")
    assert after.email_unsubscribed and after.email == "ada@example.org"
    assert after.channels == ["slack"]
    stamp = after.email_unsubscribed_at

    again = client.post(url)
    assert again.status_code == 200 and "You are unsubscribed" in again.text
    assert store.profile("ada").email_unsubscribed_at == stamp
    assert "You are unsubscribed" in client.get(url).text


def test_one_click_unsubscribe_as_mail_clients_send_it(setup):
    store, profile, links, client = setup
    url = path_of(links.unsubscribe_url(profile.id, "ada@example.org"))
    response = client.post(
        url,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert store.profile("ada").email_unsubscribed


def test_an_old_link_for_a_changed_address_leaves_the_new_one_subscribed(setup):
    store, profile, links, client = setup
    url = path_of(links.unsubscribe_url(profile.id, "old@example.org"))
    assert client.post(url).status_code == 200
    assert not store.profile("ada").email_unsubscribed


def test_opening_a_vote_link_asks_and_only_its_button_votes(setup):
    store, profile, links, client = setup
    up_url = path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", 1))
    down_url = path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", -1))
    # A mail scanner opens every link of the message, 👍 and 👎 alike, and HEADs some: no vote.
    for url, thumb in ((up_url, "👍"), (down_url, "👎")):
        assert client.head(url).is_success
        page = client.get(url)
        assert page.status_code == 200 and f'<form method="post" action="{url}">' in page.text
        assert f"<h1>{thumb} Quiet Lanterns &lt;b&gt;&amp; co&lt;/b&gt;</h1>" in page.text, "the title, escaped"
        assert "<b>" not in page.text and "“x” digest" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    assert store.feedback_votes(profile) == {}, "opening a link is no vote"
    assert "👍 More like this</button>" in client.get(up_url).text
    assert "👎 Less like this</button>" in client.get(down_url).text


def test_votes_are_recorded_for_the_reader_and_replace_each_other(setup):
    store, profile, links, client = setup
    up_url = path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", 1))
    up = client.post(up_url)
    assert up.status_code == 200 and "Thanks: 👍 noted" in up.text
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": 1}
    assert client.post(up_url).is_success
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": 1}, "the same vote twice counts once"
    down = client.post(path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", -1)))
    assert down.status_code == 200 and "Thanks: 👎 noted" in down.text
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": -1}
    assert client.get(up_url).is_success
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": -1}, "opening the 👍 link again changes nothing"

    import sqlalchemy as sa

    from bot.store.schema import feedback

    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(feedback.c.voter, feedback.c.via, feedback.c.vote)).all()
    assert [tuple(r) for r in rows] == [("email:ada@example.org", "email", -1)]


def test_a_vote_page_opened_again_says_what_the_reader_gave(setup):
    store, profile, links, client = setup
    up_url = path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", 1))
    down_url = path_of(links.feedback_url(profile.id, "ada@example.org", "arxiv:2611.00001", -1))
    assert "before" not in client.get(up_url).text, "nothing to replace before a first vote"
    client.post(up_url)

    again = client.get(up_url)
    assert again.status_code == 200 and "Your 👍 for this paper in the “x” digest is recorded." in again.text
    assert "<form" not in again.text, "nothing left to ask"
    other = client.get(down_url)
    assert f'<form method="post" action="{down_url}">' in other.text
    assert "You gave it 👍 before; this replaces that." in other.text
    # Another reader of the same digest (an address the profile once had) is asked afresh.
    theirs = path_of(links.feedback_url(profile.id, "bob@example.org", "arxiv:2611.00001", 1))
    assert "<form" in client.get(theirs).text and "before" not in client.get(theirs).text
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": 1}


def _tampered(token: str) -> str:
    return token[:-2] + ("AA" if token[-2:] != "AA" else "BB")


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("garbage", lambda links, pid: "/unsubscribe/not-a-token"),
        ("tampered", lambda links, pid: _tampered(path_of(links.unsubscribe_url(pid, "ada@example.org")))),
        ("other secret", lambda links, pid: path_of(Links("other", BASE).unsubscribe_url(pid, "ada@example.org"))),
        (
            "feedback token as unsubscribe",
            lambda links, pid: (
                "/unsubscribe/"
                + path_of(links.feedback_url(pid, "ada@example.org", "arxiv:2611.00001", 1)).rsplit("/", 1)[1]
            ),
        ),
    ],
)
def test_a_bad_unsubscribe_token_gets_400_and_changes_nothing(setup, kind, make):
    store, profile, links, client = setup
    url = make(links, profile.id)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400, kind
        assert "This link does not work" in response.text and "Nothing was changed" in response.text
    assert not store.profile("ada").email_unsubscribed


@pytest.mark.parametrize(
    ("kind", "make", "reason"),
    [
        ("garbage", lambda links, pid: "/feedback/xyz", "not valid"),
        (
            "tampered",
            lambda links, pid: _tampered(path_of(links.feedback_url(pid, "a@example.org", "arxiv:2611.00001", 1))),
            "not valid",
        ),
        (
            "expired",
            lambda links, pid: path_of(
                Links(SECRET, BASE, clock=lambda: time.time() - 7200).feedback_url(
                    pid, "a@example.org", "arxiv:2611.00001", 1
                )
            ),
            "expired",
        ),
        (
            "unsubscribe token as feedback",
            lambda links, pid: "/feedback/" + path_of(links.unsubscribe_url(pid, "ada@example.org")).rsplit("/", 1)[1],
            "not valid",
        ),
        (
            "unknown paper",
            lambda links, pid: path_of(links.feedback_url(pid, "a@example.org", "arxiv:9999.99999", 1)),
            "no longer known",
        ),
    ],
)
def test_a_bad_feedback_token_gets_400_and_records_nothing(setup, kind, make, reason):
    store, profile, links, client = setup
    url = make(links, profile.id)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400, kind
        assert reason in response.text
    assert store.feedback_votes(profile) == {}


def test_a_fresh_feedback_token_inside_its_lifetime_works(setup):
    store, profile, _links, client = setup
    recent = Links(SECRET, BASE, clock=lambda: time.time() - 1800)
    url = path_of(recent.feedback_url(profile.id, "a@example.org", "arxiv:2611.00001", 1))
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 200
    assert store.feedback_votes(profile) == {"arxiv:2611.00001": 1}


def test_a_sent_digest_is_shown_on_the_web_as_its_email_shows_it(tmp_path):
    """The "view in your browser" link of an email opens the same HTML (links signed at the same
    moment are the same), without the link to itself; a digest not sent, or a token for another
    profile or tampered with, gets a 400 page."""
    from bot.flow.deliver import email_links
    from bot.render import render_email

    links = Links(SECRET, BASE, clock=lambda: 1_800_000_000)
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings([Listing(id="arxiv:2611.00001", title="Quiet <b>Lanterns</b>", abstract="A. B.")])
        profile = store.add_profile(Profile(name="ada", keywords=["lanterns"], email="ada@example.org"))
        other = store.add_profile(Profile(name="bob", keywords=["x"], email="bob@example.org"))
        store.create_digests(profile, "2026-11-27", [("arxiv:2611.00001", 0.5, ["lanterns"])])
        [digest] = store.pending_digests()
        titles = {"lg": "arXiv cs.LG"}
        with serve(build_app(store, links, source_titles=lambda: titles)) as url, httpx.Client(base_url=url) as client:
            signed = email_links(digest, links)
            view = path_of(signed.view)
            assert client.get(view).status_code == 400, "not sent yet"
            store.mark_sent(digest.id, "250 ok")
            page = client.get(view)
            assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
            mailed = render_email(digest, links=signed, source_titles=titles).html
            assert mailed.count(signed.view) == 1 and "View in your browser" in mailed
            assert page.text == render_email(digest, links=replace(signed, view=None), source_titles=titles).html
            assert "View in your browser" not in page.text and "Quiet &lt;b&gt;Lanterns&lt;/b&gt;" in page.text
            assert client.get(path_of(links.digest_url(other.id, digest.id))).status_code == 400
            tampered = client.get(view[:-3] + "abc")
            assert tampered.status_code == 400 and "not valid" in tampered.text
            assert client.get(path_of(links.digest_url(profile.id, 999))).status_code == 400
