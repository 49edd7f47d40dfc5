"""A profile's Atom feed: the papers it was sent, newest first, each with its abstract and reasons.

Built with feedgen, which writes the XML through lxml, so untrusted titles and abstracts are
escaped as text; only characters XML cannot hold at all are dropped first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from bot.models import Profile
from bot.render.text import arxiv_id, title_url
from bot.store.deliveries import SentPaper
from bot.strings import one_line

# XML 1.0 has no place for these control characters, even escaped; lxml refuses a string holding one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _urn(*parts: object) -> str:
    """A stable Atom id: the same profile and paper get the same id whatever token the reader holds."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))).urn


def _summary(paper: SentPaper) -> str:
    why = ", ".join(paper.item.why) or "overall similarity"
    abstract = _xml_text(paper.item.listing.abstract).strip()
    return f"{abstract}\n\nWhy: {_xml_text(why)}" if abstract else f"Why: {_xml_text(why)}"


def atom_feed(profile: Profile, papers: Sequence[SentPaper], *, base_url: str, self_url: str) -> bytes:
    """The feed as UTF-8 Atom XML; `base_url` (of `bot serve`) makes the ids, `self_url` is the feed's link."""
    fg = FeedGenerator()
    fg.id(_urn(base_url, "feed", profile.id))
    fg.title(_xml_text(f"Papers on {profile.display_title}" if not profile.title else profile.display_title))
    fg.link(href=self_url, rel="self")
    fg.updated(papers[0].sent_at if papers else profile.created_at or datetime(1970, 1, 1, tzinfo=UTC))
    fg.author(name="paper-digest bot")  # Atom wants an author for each entry; a paper's own are added to it
    # feedgen writes entries in reverse order of adding: add the oldest first, so the newest heads the feed.
    for paper in reversed(papers):
        listing = paper.item.listing
        found = arxiv_id(listing)
        entry = fg.add_entry()
        entry.id(_urn(base_url, "feed", profile.id, listing.id))
        entry.title(_xml_text(one_line(listing.title)) or "(untitled)")
        entry.link(href=f"https://arxiv.org/abs/{found}" if found else title_url(listing))
        entry.updated(paper.sent_at)
        if listing.published:
            entry.published(listing.published)
        for name in listing.authors:
            if author := _xml_text(one_line(name)):
                entry.author(name=author)
        entry.summary(_summary(paper))
    return fg.atom_str(pretty=True, encoding="UTF-8")
