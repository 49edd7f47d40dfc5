"""The Slack rendering of a digest: header, one block group per paper with buttons, Slack's limits."""

import json

from bot.models import Digest, DigestItem, Listing, Profile
from bot.render.slack import (
    ACTION_DOWN,
    ACTION_MORE,
    ACTION_UP,
    MAX_ACTION_ID,
    MAX_ACTIONS_ELEMENTS,
    MAX_BLOCK_CHARS,
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    parse_button_value,
    render_slack,
    summary,
)

ABSTRACT = (
    "We propose a draft model that speeds up decoding by three times. It needs no extra training. "
    "A third sentence that the digest leaves out. And a fourth."
)


def paper(i: int, **changes) -> Listing:
    fields = dict(
        id=f"arxiv:2411.{i:05d}",
        title=f"Paper {i}: " + "a rather long title about speculative decoding " * 3,
        abstract=ABSTRACT + " filler" * 300,
        authors=tuple(f"Author {j} Surname" for j in range(12)),
        url=f"https://arxiv.org/abs/2411.{i:05d}",
        source="hf-daily",
        upvotes=i,
    )
    fields.update(changes)
    return Listing(**fields)


def digest_of(*listings: Listing, name: str = "slack-c0123") -> Digest:
    profile = Profile(name=name, keywords=["decoding"], slack_channel="C0123")
    items = tuple(
        DigestItem(listing=x, score=0.9 - i / 100, why=("speculative decoding", "draft model"))
        for i, x in enumerate(listings)
    )
    return Digest(id=3, profile=profile, channel="slack", period="2026-11-27", items=items)


def blocks_of(messages):
    return [b for m in messages for b in m["blocks"]]


def test_the_first_message_opens_with_date_profile_count_and_best_paper():
    (message,) = render_slack(digest_of(paper(1), paper(2)))
    header, intro = message["blocks"][0], message["blocks"][1]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert "decoding" in header["text"]["text"] and "2026-11-27" in header["text"]["text"]
    assert intro["text"]["text"].startswith(
        "*2 new papers* for *decoding* · 2026-11-27\nBest match: <https://arxiv.org/abs/2411.00001|Paper 1:"
    )
    assert message["text"].startswith("2 new papers for decoding · 2026-11-27: Paper 1:")


def test_each_paper_has_linked_title_authors_source_upvotes_links_summary_why_and_three_buttons():
    (message,) = render_slack(digest_of(paper(7)), source_titles={"hf-daily": "Hugging Face Daily Papers"})
    section, context, actions = message["blocks"][3:6]
    text = section["text"]["text"]
    assert text.startswith("*1. <https://arxiv.org/abs/2411.00007|Paper 7:")
    assert (
        "Author 0 Surname, Author 1 Surname, Author 2 Surname, Author 3 Surname et al. · Hugging Face Daily Papers"
        " · ▲ 7 upvotes\n<https://arxiv.org/pdf/2411.00007|PDF>\n" in text
    )
    assert text.endswith("speeds up decoding by three times. It needs no extra training.")
    assert context["elements"][0]["text"] == "*Why:* speculative decoding, draft model · score 0.90"
    assert [e["action_id"] for e in actions["elements"]] == [ACTION_UP, ACTION_DOWN, ACTION_MORE]
    assert [e["text"]["text"] for e in actions["elements"]] == ["👍", "👎", "More like this"]
    assert {parse_button_value(e["value"]) for e in actions["elements"]} == {("slack-c0123", "arxiv:2411.00007")}


def test_a_summary_is_one_or_two_sentences_and_never_longer_than_asked():
    assert (
        summary(ABSTRACT)
        == "We propose a draft model that speeds up decoding by three times. It needs no extra training."
    )
    assert summary("One sentence only without a stop") == "One sentence only without a stop"
    long_first = "word " * 200 + ". Second."
    assert len(summary(long_first, limit=100)) <= 100 and summary(long_first, limit=100).endswith("…")


def test_forty_papers_are_split_into_messages_within_every_limit_in_order():
    messages = render_slack(digest_of(*(paper(i) for i in range(1, 41))))
    assert len(messages) >= 3
    for m in messages:
        assert len(m["blocks"]) <= MAX_BLOCKS
        assert len(json.dumps(m["blocks"], ensure_ascii=False)) <= MAX_BLOCK_CHARS
        for block in m["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
            if block["type"] == "actions":
                assert len(block["elements"]) <= MAX_ACTIONS_ELEMENTS
                for button in block["elements"]:
                    assert len(button["text"]["text"]) <= MAX_BUTTON_TEXT
                    assert len(button["value"]) <= MAX_BUTTON_VALUE
                    assert len(button["action_id"]) <= MAX_ACTION_ID
        # A paper is never cut in two: each message holds whole section-context-actions groups.
        papers = [b["type"] for b in m["blocks"] if b["type"] in ("context", "actions")]
        assert papers == ["context", "actions"] * (len(papers) // 2)
    positions = [b["text"]["text"].split(".")[0] for b in blocks_of(messages)[3:] if b["type"] == "section"]
    assert positions == [f"*{i}" for i in range(1, 41)]
    assert [m["text"].rsplit("(", 1)[-1] for m in messages[1:]] == [
        f"part {i} of {len(messages)})" for i in range(2, len(messages) + 1)
    ]
    block_ids = [b["block_id"] for m in messages for b in m["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)) == 40


def test_a_title_cannot_ping_the_channel_or_forge_a_link():
    evil = paper(1, title="Fast & <!channel> <http://evil.example|click> a<b", authors=("<@U123>",))
    dumped = json.dumps(render_slack(digest_of(evil)))
    assert "<!channel>" not in dumped and "<http://evil" not in dumped and "<@U123>" not in dumped
    (message,) = render_slack(digest_of(evil))
    title = "Fast &amp; &lt;!channel&gt; &lt;http://evil.example|click&gt; a&lt;b"
    assert message["blocks"][3]["text"]["text"].startswith(f"*1. <https://arxiv.org/abs/2411.00001|{title}>*")
    assert f"Best match: <https://arxiv.org/abs/2411.00001|{title}>" in message["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt;" in message["text"] and "<!channel>" not in message["text"]
    assert "&lt;@U123&gt;" in message["blocks"][3]["text"]["text"]


def test_a_url_cannot_break_out_of_its_link():
    sneaky = paper(1, url="https://example.org/a|b><!channel>")
    text = render_slack(digest_of(sneaky))[0]["blocks"][3]["text"]["text"]
    assert "<!channel>" not in text
    assert text.startswith("*1. <https://example.org/a%7Cb%3E%3C!channel%3E|")


def test_an_empty_digest_is_just_the_header():
    (message,) = render_slack(digest_of())
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "divider"]
    assert message["text"] == "No new papers for decoding · 2026-11-27"
