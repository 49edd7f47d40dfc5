"""A digest as Slack Block Kit messages, every untrusted string escaped for mrkdwn.

Slack's limits are constants here; a digest that would pass them becomes several messages, in order.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.models import Digest, DigestItem
from bot.render.text import meta_line, one_line, safe_url, shorten

MAX_BLOCKS = 50
MAX_BLOCK_CHARS = 12_000  # Slack has refused messages at about 13k characters of blocks
MAX_SECTION_CHARS = 3_000
MAX_HEADER_CHARS = 150
SUMMARY_CHARS = 300


def escape_mrkdwn(text: str) -> str:
    """The three characters Slack parses as control sequences; escaped, `<!channel>` pings no one."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Everything a URL may hold except `<`, `>` and `|`, which would end Slack's <url|label> early.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def _link(url: str, label: str) -> str:
    return f"<{escape_mrkdwn(quote(url, safe=_URL_SAFE))}|{escape_mrkdwn(label)}>"


def _item_blocks(position: int, item: DigestItem) -> list[dict[str, Any]]:
    listing = item.listing
    title = one_line(listing.title)
    url = safe_url(listing.url)
    heading = f"*{position}. {_link(url, title)}*" if url else f"*{position}. {escape_mrkdwn(title)}*"
    lines = [heading]
    if meta := meta_line(listing):
        lines.append(escape_mrkdwn(meta))
    if listing.abstract:
        lines.append(escape_mrkdwn(shorten(listing.abstract, SUMMARY_CHARS)))
    text = "\n".join(lines)[:MAX_SECTION_CHARS]
    why = escape_mrkdwn(", ".join(item.why) or "overall similarity")
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Why:* {why} · score {item.score:.2f}"}]},
    ]


def render_slack(digest: Digest) -> list[dict[str, Any]]:
    """One or more chat.postMessage payloads (without the channel), in reading order."""
    n = len(digest.items)
    header_text = f"Papers for {digest.profile.name} · {digest.period}"[:MAX_HEADER_CHARS]
    header = {"type": "header", "text": {"type": "plain_text", "text": header_text, "emoji": True}}
    fallback = f"{n} new paper{'s' if n != 1 else ''} for {digest.profile.name}"
    if n:
        fallback += ": " + escape_mrkdwn(shorten(digest.items[0].listing.title, 80))

    messages: list[list[dict[str, Any]]] = [[header]]
    size = len(str(header))
    for position, item in enumerate(digest.items, start=1):
        blocks = _item_blocks(position, item)
        extra = sum(len(str(b)) for b in blocks)
        if len(messages[-1]) + len(blocks) > MAX_BLOCKS or size + extra > MAX_BLOCK_CHARS:
            messages.append([])
            size = 0
        messages[-1].extend(blocks)
        size += extra
    return [
        {"text": fallback if i == 0 else f"{fallback} (part {i + 1})", "blocks": blocks}
        for i, blocks in enumerate(messages)
    ]
