"""Email digests through a real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS with a throwaway CA,
a login, and what the server received parsed back: MIME, headers, links, escaping, retries."""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import time_machine

from bot.errors import DeliveryError
from bot.flow.channels import Channels
from bot.flow.compose import compose_digests
from bot.flow.deliver import deliver_pending
from bot.flow.settings import Settings
from bot.links import Links
from bot.models import Listing, Profile
from bot.notify import Delivery, SmtpNotifier, tls_context
from bot.store import Store
from tests.smtp_server import PASSWORD, USER, smtp_server

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
AFTER_RETRY_DELAY = NOW + timedelta(minutes=2)  # a temporary failure waits a minute before its next try
SENDER = "Paper digest <papers@digest.example.org>"
SECRET = "test-secret-for-links"
BASE = "https://papers.example.org"
EVIL_TITLE = 'Quasar lattices <script>alert("x")</script> & <b>bold</b> <a href="javascript:x">click</a>'
INJECTED_TITLE = "Quasar lattice decoding\r\nBcc: victim@example.org\nX-Injected: yes"


def papers() -> list[Listing]:
    return [
        Listing(
            id="arxiv:2611.00001",
            title=EVIL_TITLE,
            abstract="We study quasar lattices. <img src=x onerror=alert(1)> A markup-laden abstract.",
            authors=("Ada <Lovelace>", "Grace Hopper"),
            url="https://arxiv.org/abs/2611.00001",
            source="hf-daily",
            upvotes=42,
        ),
        Listing(
            id="arxiv:2611.00002",
            title=INJECTED_TITLE,
            abstract="Quasar lattice decoding with a header injection attempt in the title.",
            authors=("Alan Turing",),
            url="https://arxiv.org/abs/2611.00002",
            source="arxiv",
        ),
        Listing(id="arxiv:2611.00003", title="Unrelated gardening", abstract="Tomatoes and roses.", source="rss"),
    ]


@pytest.fixture
def filled(tmp_path) -> Store:
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings(papers(), now=NOW)
        yield store


def add(store: Store, name: str, address: str, keywords: str = "quasar lattice") -> Profile:
    return store.add_profile(Profile(name=name, keywords=[keywords], email=address))


def compose(store: Store) -> None:
    compose_digests(store, store.profiles(), Settings(message_domain="digest.example.org"), now=NOW)


def notifier(server, **overrides) -> SmtpNotifier:
    options = dict(
        host=server.host,
        port=server.port,
        security=server.security,
        username=USER,
        password=PASSWORD,
        context=tls_context(str(server.ca_file)) if server.ca_file else None,
        timeout=10,
        attempts=3,
        backoff=0,
    )
    return SmtpNotifier(**{**options, **overrides})


def deliver(store: Store, smtp: SmtpNotifier, links: Links | None = None, now: datetime = NOW):
    """Deliver what is ready with the clock standing at `now` (deliveries read the clock themselves)."""
    with time_machine.travel(now, tick=False):
        channels = Channels({"email": smtp}, links=links, unsubscribe_mailto="unsubscribe@digest.example.org")
        titles = {"hf-daily": "Hugging Face Daily Papers"}  # "arxiv" has none: a source removed since
        return deliver_pending(store, channels, Settings(sender=SENDER), source_titles=titles)


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self.style_tags = 0

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []
        if tag == "style":
            self.style_tags += 1

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def stored_message_ids(store: Store) -> dict[int, str]:
    import sqlalchemy as sa

    from bot.store.schema import digests

    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(digests.c.id, digests.c.message_id)).all())


def test_a_batch_goes_over_one_verified_starttls_connection_with_login(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    add(filled, "bob", "bob@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        outcomes = deliver(filled, notifier(server), Links(SECRET, BASE))
    assert [o.error for o in outcomes] == [None, None]
    assert [r.rcpt_tos for r in server.handler.received] == [["ada@example.org"], ["bob@example.org"]]
    assert {r.session for r in server.handler.received} == {0}, "one connection carries the whole batch"
    assert all(r.tls and r.authenticated for r in server.handler.received)
    assert server.handler.received[0].mail_from == "papers@digest.example.org"
    assert [s.state for s in filled.digest_summaries()] == ["sent", "sent"]
    assert "accepted it for ada@example.org" in outcomes[0].receipt


def test_the_received_message_has_the_promised_structure_headers_and_links(tmp_path, filled):
    profile = add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        deliver(filled, notifier(server), Links(SECRET, BASE))
    (received,) = server.handler.received
    msg = received.message

    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == SENDER and msg["To"] == "ada@example.org"
    assert msg["Date"] == "Fri, 27 Nov 2026 07:00:00 +0000"
    assert msg["Message-ID"] == next(iter(stored_message_ids(filled).values()))
    assert re.fullmatch(r"<[^<>@\s]+@digest\.example\.org>", msg["Message-ID"])
    # The subject says what is inside, on one line, the injected header names only as text.
    assert msg["Subject"].startswith("2 papers for you · ") and msg["Subject"].endswith(" and 1 more")
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert len(received.rcpt_tos) == 1

    # RFC 8058 one-click unsubscribe: an https link and a mailto, and the POST marker.
    https, mailto = re.fullmatch(r"<([^>]+)>, <([^>]+)>", str(msg["List-Unsubscribe"])).groups()
    assert https.startswith(f"{BASE}/unsubscribe/")
    assert mailto == "mailto:unsubscribe@digest.example.org?subject=unsubscribe"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire the URL stays a URL (no RFC 2047 encoded-words a mail client could not follow),
    # and every line is 7-bit and within RFC 5322's 998 characters.
    assert f"\r\nList-Unsubscribe: <{https}>, <{mailto}>\r\n".encode() in received.raw
    assert all(len(line) <= 998 and line.isascii() for line in received.raw.split(b"\r\n"))
    links = Links(SECRET, BASE)
    assert links.read_unsubscribe(urlsplit(https).path.rsplit("/", 1)[1]).address == "ada@example.org"

    html = msg.get_body(("html",)).get_content()
    assert len(html.encode()) < 100_000
    parser = Anchors()
    parser.feed(html)
    assert parser.style_tags == 0, "CSS is inlined, no <style> left for clients to drop"
    assert 'style="' in html
    by_text = dict((text, href) for href, text in parser.links)
    # Titles linked, markup shown as text, a javascript: link nowhere.
    assert by_text[" ".join(EVIL_TITLE.split())] == "https://arxiv.org/abs/2611.00001"
    assert (
        by_text["Quasar lattice decoding Bcc: victim@example.org X-Injected: yes"] == "https://arxiv.org/abs/2611.00002"
    )
    assert "<script>" not in html and "<b>bold" not in html and "<img" not in html
    assert not [href for href, _ in parser.links if not href.startswith("https://")]
    assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    # Authors, the source's title and upvotes where there are some (never a source's name); the reason it matched.
    assert "Ada &lt;Lovelace&gt;, Grace Hopper · Hugging Face Daily Papers · ▲ 42 upvotes" in html
    assert ">Alan Turing</p>" in html and "Why:" in html
    assert "hf-daily" not in html and "arxiv ·" not in html
    # 👍/👎 per paper, each a signed vote for this profile, paper and address; unsubscribe in the footer.
    votes = [links.read_feedback(urlsplit(h).path.rsplit("/", 1)[1]) for h, _ in parser.links if "/feedback/" in h]
    assert sorted((v.listing_id, v.vote) for v in votes) == [
        ("arxiv:2611.00001", -1),
        ("arxiv:2611.00001", 1),
        ("arxiv:2611.00002", -1),
        ("arxiv:2611.00002", 1),
    ]
    assert {(v.profile_id, v.address) for v in votes} == {(profile.id, "ada@example.org")}
    assert by_text["Unsubscribe"] == https
    view = links.read_digest(urlsplit(by_text["View in your browser"]).path.rsplit("/", 1)[1])
    assert view.profile_id == profile.id

    text = msg.get_body(("plain",)).get_content()
    assert EVIL_TITLE in text and f"Unsubscribe: {https}" in text


def test_without_a_secret_the_email_has_no_links_and_still_goes(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        (outcome,) = deliver(filled, notifier(server), links=None)
    assert outcome.error is None
    msg = server.handler.received[0].message
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None
    html = msg.get_body(("html",)).get_content()
    assert "/feedback/" not in html and "Unsubscribe" not in html


def test_try_again_later_then_success_sends_the_same_message_id(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    (stored,) = stored_message_ids(filled).values()
    with smtp_server(tmp_path) as server:
        server.handler.data_replies = ["451 4.3.0 Mailbox busy, try again later"]
        (outcome,) = deliver(filled, notifier(server))
    assert outcome.error is None
    assert server.handler.attempts == [stored, stored]
    assert [r.message["Message-ID"] for r in server.handler.received] == [stored]
    (summary,) = filled.digest_summaries()
    assert (summary.state, summary.attempts) == ("sent", 1)


def test_a_lost_connection_is_reopened_and_the_message_sent_once(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    add(filled, "bob", "bob@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        server.handler.data_replies = ["drop"]
        outcomes = deliver(filled, notifier(server))
    assert [o.error for o in outcomes] == [None, None]
    assert [r.rcpt_tos for r in server.handler.received] == [["ada@example.org"], ["bob@example.org"]]
    assert server.handler.attempts[0] == server.handler.attempts[1] == server.handler.received[0].message["Message-ID"]
    assert len(server.handler.sessions) == 2, "a new connection after the drop, kept for the rest of the batch"


def test_a_refused_recipient_fails_for_good_and_the_batch_goes_on(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    add(filled, "bob", "bob@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        server.handler.refuse["ada@example.org"] = "550 5.1.1 <ada@example.org>: Recipient address rejected"
        outcomes = deliver(filled, notifier(server))
    assert "550 5.1.1 <ada@example.org>: Recipient address rejected" in outcomes[0].error
    assert outcomes[1].error is None
    assert [r.rcpt_tos for r in server.handler.received] == [["bob@example.org"]]
    assert server.handler.attempts == [server.handler.received[0].message["Message-ID"]], "a 5xx is never retried"
    assert [(s.profile, s.state) for s in filled.digest_summaries()] == [("ada", "failed"), ("bob", "sent")]


def test_a_server_that_keeps_saying_later_leaves_the_digest_for_the_next_run(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    (stored,) = stored_message_ids(filled).values()
    with smtp_server(tmp_path) as server:
        server.handler.data_replies = ["452 4.3.1 Insufficient system storage"] * 2
        (first,) = deliver(filled, notifier(server, attempts=2))
        assert "after 2 tries: 452 4.3.1 Insufficient system storage" in first.error
        (summary,) = filled.digest_summaries()
        assert (summary.state, summary.attempts) == ("pending", 1)
        assert deliver(filled, notifier(server, attempts=2)) == []  # waiting out the retry delay
        (second,) = deliver(filled, notifier(server, attempts=2), now=AFTER_RETRY_DELAY)
    assert second.error is None
    assert server.handler.attempts == [stored, stored, stored]
    assert [r.message["Message-ID"] for r in server.handler.received] == [stored]


def test_a_server_certificate_from_an_unknown_ca_is_refused(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        # The system's CAs do not know the throwaway one: STARTTLS must fail, not send in the clear.
        (outcome,) = deliver(filled, notifier(server, context=ssl.create_default_context()))
    assert "certificate this bot does not trust" in outcome.error and "ca_file" in outcome.error
    assert server.handler.attempts == []
    assert filled.digest_summaries()[0].state == "pending"


def test_a_wrong_password_names_the_setting_to_check(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        (outcome,) = deliver(filled, notifier(server, password="wrong"))
    assert "refused the login of 'digest-bot'" in outcome.error and "SMTP_PASSWORD" in outcome.error
    assert "wrong" not in outcome.error
    assert server.handler.attempts == [] and filled.digest_summaries()[0].state == "pending"


def test_implicit_tls_works_too(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    # aiosmtpd warns against AUTH without STARTTLS (it cannot tell implicit TLS apart): no login here.
    with smtp_server(tmp_path, security="ssl", auth=False) as server:
        (outcome,) = deliver(filled, notifier(server, username=None))
    assert outcome.error is None and server.handler.received[0].tls


def test_a_connection_refused_is_temporary(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = SmtpNotifier(host="127.0.0.1", port=port, security="none", attempts=2, backoff=0, timeout=5)
    from email.message import EmailMessage

    message = EmailMessage()
    message["To"] = "a@example.org"
    message["From"] = "b@example.org"
    message.set_content("x")
    with pytest.raises(DeliveryError) as caught:
        smtp.send(Delivery(digest_id=1, channel="email", profile="p", period="2026-11-27", email=message))
    assert caught.value.temporary and "after 2 tries" in str(caught.value)
    assert "PASSWORD" not in repr(smtp)


def test_a_busy_mailbox_at_rcpt_is_retried_and_a_plain_local_relay_works(tmp_path, filled):
    add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.refuse["ada@example.org"] = "450 4.2.1 Mailbox busy"
        smtp = notifier(server, username=None, attempts=2)
        (first,) = deliver(filled, smtp)
        assert first.error.endswith("after 2 tries: 450 4.2.1 Mailbox busy")
        assert filled.digest_summaries()[0].state == "pending"
        del server.handler.refuse["ada@example.org"]
        (second,) = deliver(filled, smtp, now=AFTER_RETRY_DELAY)
    assert second.error is None
    (received,) = server.handler.received
    assert not received.tls and not received.authenticated


def test_a_line_starting_with_from_reaches_the_reader_as_written(tmp_path, filled):
    """No mbox quoting on the way: a paper titled "From ..." whose abstract starts "From" (and a line
    of the HTML) is not received as ">From ..." in either part."""
    title = "From quasar lattices to crystals"
    abstract = "From quasars we go to lattices."
    filled.upsert_listings([Listing(id="arxiv:2611.00004", title=title, abstract=abstract, source="rss")], now=NOW)
    add(filled, "ada", "ada@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        (outcome,) = deliver(filled, notifier(server))
    assert outcome.error is None
    (received,) = server.handler.received
    html = received.message.get_body(("html",)).get_content()
    text = received.message.get_body(("plain",)).get_content()
    for lines in (received.raw.decode().splitlines(), html.splitlines(), text.splitlines()):
        assert not [line for line in lines if line.lstrip().startswith(">From")]
    assert re.search(rf"^{abstract}", html, re.MULTILINE), "it starts a line, where mbox quoting would strike"
    assert title in text and abstract in text and abstract in html


def test_a_server_that_stops_answering_mid_message_leaves_the_rest_of_the_batch_untried(tmp_path, filled):
    """A timeout on a connection that worked: every other message would wait as long, so they wait
    for the next run instead, with no attempt counted."""
    add(filled, "ada", "ada@example.org")
    add(filled, "bob", "bob@example.org")
    compose(filled)
    with smtp_server(tmp_path) as server:
        server.handler.delay = 1.0  # DATA answers after the client has given up
        (outcome,) = deliver(filled, notifier(server, timeout=0.3, attempts=1))
    assert outcome.channel_down and outcome.will_retry and "timed out" in outcome.error
    assert [(s.profile, s.state, s.attempts) for s in filled.digest_summaries()] == [
        ("ada", "pending", 1),
        ("bob", "pending", 0),
    ]
