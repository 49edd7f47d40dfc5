"""A digest as Slack Block Kit messages, every untrusted string escaped for mrkdwn.

Takes a `Digest` and hands back chat.postMessage payloads (without channel or metadata, which the
notifier adds). The first message opens with the header (date, profile, how many papers, the best
one); each paper is a section (linked title, authors · source · upvotes, a one or two sentence
summary), a context line saying why it matched, and 👍 / 👎 / "More like this" buttons whose values
carry the profile and listing id. Slack's limits are the constants below; a digest that would pass
them becomes several messages, in reading order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot.models import Digest, DigestItem, Listing
from bot.render.text import AI_SUMMARY_LABEL, meta_line, paper_links, title_url
from bot.strings import sentences, shorten

# Slack's limits (api.slack.com/reference/block-kit). MAX_BLOCK_CHARS counts the JSON of one message's
# blocks: Slack has refused messages with `msg_blocks_too_long` at about 13k characters.
MAX_BLOCKS = 50
MAX_BLOCK_CHARS = 12_000
MAX_SECTION_CHARS = 3_000
MAX_CONTEXT_CHARS = 3_000
MAX_HEADER_CHARS = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_TEXT_CHARS = 4_000  # the top-level `text` (notification fallback) Slack recommends at most

# Our own choices: how much of each paper a reader sees before clicking through.
SUMMARY_SENTENCES = 2
SUMMARY_CHARS = 300
AI_SUMMARY_CHARS = 300
META_CHARS = 500
TITLE_CHARS = 250

# The buttons under every paper; the Slack app registers a handler for each action id.
ACTION_UP = "paper_vote_up"
ACTION_DOWN = "paper_vote_down"
ACTION_MORE = "paper_more_like_this"
BUTTONS = ((ACTION_UP, "👍"), (ACTION_DOWN, "👎"), (ACTION_MORE, "More like this"))


def escape_mrkdwn(text: str) -> str:
    """The three characters Slack parses as control sequences; escaped, `<!channel>` pings no one."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Everything a URL may hold except `<`, `>` and `|`, which would end Slack's <url|label> early.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def _link(url: str, label: str) -> str:
    return f"<{escape_mrkdwn(quote(url, safe=_URL_SAFE))}|{escape_mrkdwn(label)}>"


def summary(abstract: str, *, most: int = SUMMARY_SENTENCES, limit: int = SUMMARY_CHARS) -> str:
    """The first one or two sentences of an abstract, cut to `limit` characters."""
    return sentences(abstract, limit, most=most)


def button_value(profile: str, listing_id: str) -> str:
    """What a click hands back to the Slack app: which profile votes on which listing."""
    value = json.dumps({"profile": profile, "listing": listing_id}, separators=(",", ":"))
    if len(value) > MAX_BUTTON_VALUE:  # cannot happen with stored names (≤ 64) and ids (≤ 200)
        raise ValueError(f"button value too long for listing {listing_id[:40]!r}")
    return value


def parse_button_value(value: str) -> tuple[str, str] | None:
    """(profile, listing id) from a button's value, or None when it is not one of ours."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    profile, listing = data.get("profile"), data.get("listing")
    return (profile, listing) if isinstance(profile, str) and isinstance(listing, str) else None


def _title(item: DigestItem) -> str:
    title = shorten(item.listing.title, TITLE_CHARS)
    url = title_url(item.listing)
    return _link(url, title) if url else escape_mrkdwn(title)


def _section_text(position: int, item: DigestItem, sources: Mapping[str, str]) -> str:
    """Title, authors · source · date, links, summary and the labelled AI summary, within Slack's limit.
    Links come before the long texts so that a cut at the limit never breaks a <url|label>."""
    listing = item.listing
    lines = [f"*{position}. {_title(item)}*"]
    if meta := meta_line(listing, sources):
        lines.append(escape_mrkdwn(shorten(meta, META_CHARS)))
    # The title links to the paper's page already: the links under it say only what else there is.
    if links := [(label, url) for label, url in paper_links(listing) if url != title_url(listing)]:
        lines.append(" · ".join(_link(url, label) for label, url in links))
    if listing.abstract:
        lines.append(escape_mrkdwn(summary(listing.abstract)))
    if listing.ai_summary:
        lines.append(f"_{AI_SUMMARY_LABEL}:_ {escape_mrkdwn(shorten(listing.ai_summary, AI_SUMMARY_CHARS))}")
    return "\n".join(lines)[:MAX_SECTION_CHARS]


def _item_blocks(
    position: int, item: DigestItem, profile: str, sources: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    listing = item.listing
    text = _section_text(position, item, sources or {})
    why = escape_mrkdwn(", ".join(item.why) or "overall similarity")
    context = f"*Why:* {why} · score {item.score:.2f}"[:MAX_CONTEXT_CHARS]
    value = button_value(profile, listing.id)
    buttons = [
        {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label[:MAX_BUTTON_TEXT], "emoji": True},
            "value": value,
        }
        for action_id, label in BUTTONS
    ]
    assert len(buttons) <= MAX_ACTIONS_ELEMENTS
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        # The block id names the paper, so a click handler can find its block in the message.
        {"type": "actions", "block_id": f"paper-{position}"[:MAX_BLOCK_ID], "elements": buttons},
    ]


def _header_blocks(digest: Digest) -> list[dict[str, Any]]:
    n = len(digest.items)
    when = f"week {digest.period}" if "W" in digest.period else digest.period
    title = digest.profile.display_title
    header_text = f"📚 {shorten(title, MAX_HEADER_CHARS - 40)} · {when}"[:MAX_HEADER_CHARS]
    line = f"*{n} new paper{'s' if n != 1 else ''}* for *{escape_mrkdwn(title)}* · {when}"
    if n:
        line += f"\nBest match: {_title(digest.items[0])}"
    return [
        {"type": "header", "text": {"type": "plain_text", "text": header_text, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": line[:MAX_SECTION_CHARS]}},
        {"type": "divider"},
    ]


def _size(blocks: list[dict[str, Any]]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def render_slack(digest: Digest, *, source_titles: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One or more chat.postMessage payloads (without the channel), in reading order; sources show by
    their title in `source_titles`, never by name."""
    n = len(digest.items)
    count = f"{n} new paper{'s' if n != 1 else ''}" if n else "No new papers"
    fallback = f"{count} for {digest.profile.display_title} · {digest.period}"
    if n:
        fallback += ": " + shorten(digest.items[0].listing.title, 120)
    fallback = escape_mrkdwn(fallback)

    messages: list[list[dict[str, Any]]] = [_header_blocks(digest)]
    for position, item in enumerate(digest.items, start=1):
        blocks = _item_blocks(position, item, digest.profile.name, source_titles)
        candidate = messages[-1] + blocks
        if len(candidate) > MAX_BLOCKS or _size(candidate) > MAX_BLOCK_CHARS:
            messages.append(blocks)
        else:
            messages[-1] = candidate
    total = len(messages)
    return [
        {
            "text": (fallback if i == 0 else f"{fallback} (part {i + 1} of {total})")[:MAX_TEXT_CHARS],
            "blocks": blocks,
        }
        for i, blocks in enumerate(messages)
    ]


def preview_blocks(
    profile: str,
    heading: str,
    items: Sequence[tuple[Listing, float, Sequence[str]]],
    source_titles: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A short ranked list (`/papers preview`) in the digest's own shape, buttons included."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(heading)}}]
    for position, (listing, score, why) in enumerate(items, start=1):
        item = DigestItem(listing=listing, score=score, why=tuple(why))
        blocks += _item_blocks(position, item, profile, source_titles)
    if len(blocks) > MAX_BLOCKS or _size(blocks) > MAX_BLOCK_CHARS:
        raise ValueError(f"a preview of {len(items)} papers does not fit in one Slack message")
    return blocks
