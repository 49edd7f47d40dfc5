import email
import json
from datetime import UTC, datetime
from email import policy

from bot.flow.deliver import prepare
from bot.links import Links
from bot.models import Digest, DigestItem, Listing, Profile
from bot.render import EmailLinks, build_message, escape_mrkdwn, render_email, render_slack, subject_line
from bot.render.email import MAX_HTML_BYTES
from bot.render.slack import MAX_BLOCKS

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
EVIL = 'Fast <script>alert("x")</script> & <!channel> <https://evil.example|click>'


def digest_of(*listings: Listing, channel: str = "email", profile: Profile | None = None) -> Digest:
    profile = profile or Profile(name="p", keywords=["x"], email="p@example.org", slack_channel="#papers")
    items = tuple(DigestItem(listing=item, score=0.5, why=("speculative decoding", "<b>why</b>")) for item in listings)
    return Digest(
        id=7, profile=profile, channel=channel, period="2026-11-27", items=items, message_id="<id@host>", created_at=NOW
    )


def evil_listing() -> Listing:
    return Listing(
        id="x",
        title=EVIL,
        abstract="Abstract with <img src=x onerror=alert(1)> & more.",
        authors=("<b>Mallory</b>",),
        url="https://arxiv.org/abs/2403.09612",
        upvotes=12,
    )


def test_html_escapes_untrusted_text():
    html = render_email(digest_of(evil_listing())).html
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    # css-inline re-serialises the HTML: a quote in text needs no escaping, markup stays escaped.
    assert 'Fast &lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;!channel&gt;' in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
    assert 'href="https://arxiv.org/abs/2403.09612"' in html
    assert "▲ 12 upvotes" in html


def test_plain_text_keeps_the_title_as_written():
    text = render_email(digest_of(evil_listing())).text
    assert EVIL in text
    assert "https://arxiv.org/abs/2403.09612" in text


def test_only_http_links_reach_a_digest():
    listing = Listing(id="x", title="T", abstract="A", url="javascript:alert(1)")
    rendered = render_email(digest_of(listing))
    assert "javascript:" not in rendered.html and "javascript:" not in rendered.text
    blocks = json.dumps(render_slack(digest_of(listing)))
    assert "javascript:" not in blocks


def test_slack_mrkdwn_escapes_control_characters():
    (message,) = render_slack(digest_of(evil_listing()))
    dumped = json.dumps(message)
    assert "<!channel>" not in dumped
    assert "evil.example|click>" not in dumped
    section = message["blocks"][3]["text"]["text"]
    assert section.startswith("*1. <https://arxiv.org/abs/2403.09612|Fast &lt;script&gt;")
    assert "&amp; &lt;!channel&gt; &lt;https://evil.example|click&gt;>*" in section
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in section
    assert "&lt;!channel&gt;" in message["text"]
    assert escape_mrkdwn("a & <b>") == "a &amp; &lt;b&gt;"


def test_a_long_digest_is_split_into_messages_within_slacks_limits():
    listings = [Listing(id=str(i), title=f"Paper {i}", abstract="word " * 100) for i in range(40)]
    messages = render_slack(digest_of(*listings))
    assert len(messages) > 1
    assert all(len(m["blocks"]) <= MAX_BLOCKS for m in messages)
    sections = [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section"][1:]
    assert [s.split(".")[0] for s in sections] == [f"*{i}" for i in range(1, 41)]


def test_a_title_with_line_breaks_and_a_header_injection_stays_in_the_subject():
    listing = Listing(id="x", title="Line one\nBcc: victim@example.org\r\nX-Evil: 1", abstract="A")
    d = digest_of(listing)
    msg = build_message(
        render_email(d), sender="Bot <bot@example.org>", to="p@example.org", message_id="<id@host>", date=NOW
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "1 paper for you · Line one Bcc: victim@example.org X-Evil: 1"
    assert "\n" not in subject_line(d)


def test_the_email_is_multipart_alternative_text_first():
    delivery = prepare(digest_of(evil_listing()), sender="Bot <bot@example.org>", abstract_chars=100, now=NOW)
    parsed = email.message_from_bytes(delivery.email.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["To"] == "p@example.org"
    assert parsed["Message-ID"] == "<id@host>"
    assert parsed["Date"] == "Fri, 27 Nov 2026 07:00:00 +0000"
    assert delivery.slack == ()


def test_an_outbox_only_digest_carries_both_forms():
    profile = Profile(name="p", keywords=["x"])
    delivery = prepare(
        digest_of(evil_listing(), channel="outbox", profile=profile), sender="b@x.org", abstract_chars=100, now=NOW
    )
    assert delivery.email is not None and delivery.email["To"] is None
    assert len(delivery.slack) == 1 and "channel" not in delivery.slack[0]


def test_a_slack_digest_is_addressed_to_its_channel():
    delivery = prepare(digest_of(evil_listing(), channel="slack"), sender="b@x.org", abstract_chars=100, now=NOW)
    assert delivery.email is None
    assert delivery.slack[0]["channel"] == "#papers"


def test_the_subject_says_what_is_inside_on_one_line():
    listings = [
        Listing(
            id="a", title="Chimera: lossless decoding\n  method for accelerating large language models", abstract=""
        )
    ]
    listings += [Listing(id=str(i), title=f"Paper {i}", abstract="") for i in range(11)]
    assert subject_line(digest_of(*listings)) == (
        "12 papers for you · Chimera: lossless decoding method for accelerating large… and 11 more"
    )
    assert subject_line(digest_of(listings[0])) == (
        "1 paper for you · Chimera: lossless decoding method for accelerating large…"
    )


def test_fifty_long_papers_stay_under_gmails_clipping_size():
    long = "Lorem ipsum dolor sit amet, consectetur adipiscing elit " * 40
    listings = [
        Listing(
            id=f"arxiv:2611.{i:05d}",
            title=("A very long title about speculative decoding " * 5) + str(i),
            abstract=long,
            authors=tuple(f"Author {j}" for j in range(20)),
            url=f"https://arxiv.org/abs/2611.{i:05d}",
            source="hf-daily",
            upvotes=100 + i,
        )
        for i in range(50)
    ]
    digest = digest_of(*listings)
    links = EmailLinks(
        unsubscribe="https://papers.example.org/unsubscribe/" + "t" * 120,
        votes={item.id: ("https://papers.example.org/feedback/" + "u" * 160,) * 2 for item in listings},
    )
    rendered = render_email(digest, abstract_chars=2000, links=links)
    assert len(rendered.html.encode("utf-8")) <= MAX_HTML_BYTES
    # Every paper is still there, with its title linked; abstracts were shortened to make room, and
    # the links under each paper (its PDF) left out.
    assert rendered.html.count('href="https://arxiv.org/abs/2611.') == 50
    assert rendered.html.count("/feedback/") == 100
    alone = render_email(digest_of(listings[0]), abstract_chars=2000).html
    assert long[:1000] in alone and 'href="https://arxiv.org/pdf/2611.00000"' in alone
    assert "arxiv.org/pdf/" not in rendered.html
    assert long[:1000] not in rendered.html and "Lorem ipsum dolor" in rendered.html


def test_fifty_papers_with_giant_fields_stay_under_the_clip_with_the_unsubscribe_link():
    links_of = Links("render-test-secret-0123456789abcdefghij", "https://papers.example.org")
    giant = "Speculative decoding & <b>draft</b> models " * 2500  # 100,000 characters
    listings = [
        Listing(
            id=f"arxiv:2611.{i:05d}",
            title=f"{i} {giant}",
            abstract=giant,
            authors=(giant, "x" * 100_000, "Ada Lovelace"),
            url="https://arxiv.org/abs/" + "9" * 100_000,
            source="hf-daily",
            upvotes=7,
        )
        for i in range(50)
    ]
    profile = Profile(name="p", keywords=["x"], email="p@example.org")
    items = tuple(DigestItem(listing=item, score=0.5, why=(giant, "y" * 100_000)) for item in listings)
    digest = Digest(id=7, profile=profile, channel="email", period="2026-11-27", items=items, created_at=NOW)
    unsubscribe = links_of.unsubscribe_url(1, "p@example.org")
    votes = {
        item.id: (
            links_of.feedback_url(1, "p@example.org", item.id, 1),
            links_of.feedback_url(1, "p@example.org", item.id, -1),
        )
        for item in listings
    }
    links = EmailLinks(unsubscribe=unsubscribe, votes=votes)
    html = render_email(digest, abstract_chars=2000, links=links).html
    assert len(html.encode("utf-8")) <= MAX_HTML_BYTES
    assert html.count(f'href="{unsubscribe}"') == 2, "in the footer, and first of all links"
    assert html.index(unsubscribe) < html.index("/feedback/")
    assert html.count("/feedback/") == 100 and "arxiv.org/abs/999" not in html, "no link longer than a real one"
    assert all(f">{i}.</span>" in html for i in range(1, 51))
    assert all(f"{i} Speculative decoding" in html for i in range(50))
