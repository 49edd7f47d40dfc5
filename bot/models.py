"""The plain data passed between rooms: listings, profiles, ranked results and digests.

No room hands another its internals; these dataclasses are the whole vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.strings import shorten

# A profile's title made from its keywords names at most this many, in at most this many characters.
TITLE_KEYWORDS = 3
TITLE_CHARS = 80


@dataclass(frozen=True)
class Listing:
    """One paper or post. `id` is its stable key (see `bot.keys.listing_key`)."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    upvotes: int | None = None
    # The DOI, when a source names one (arXiv's journal DOI, a journal feed): joins the same paper across keys.
    doi: str | None = None
    # Hugging Face Daily Papers adds these; other sources leave them empty and the merge keeps them.
    comments: int | None = None
    ai_summary: str | None = None
    github_repo: str | None = None
    project_page: str | None = None


@dataclass
class Profile:
    """Whose interests these are, what they are, and where and when digests go."""

    name: str
    keywords: list[str] = field(default_factory=list)
    # What readers see (headings, footers); None: made from the keywords. The name stays internal.
    title: str | None = None
    exclude: list[str] = field(default_factory=list)
    likes: list[str] = field(default_factory=list)
    dislikes: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    email: str | None = None
    slack_channel: str | None = None
    top: int = 10
    min_score: float = 0.05
    schedule: str = "daily"
    send_at: str = "08:00"
    tz: str = "UTC"
    weekday: str = "mon"  # for weekly digests
    skip_weekends: bool = False
    send_empty: bool = False  # send "nothing new today" rather than nothing
    # Set when the reader followed an unsubscribe link; the address is kept (so `bot profile show`
    # says what happened) but gets no more email. Giving an address again with `bot profile edit
    # --email` clears it.
    email_unsubscribed_at: datetime | None = None
    # How much community interest (upvotes, where the source has them) lifts a matching paper: 0 = none.
    trend: float = 0.0
    id: int | None = None
    created_at: datetime | None = None

    @property
    def display_title(self) -> str:
        """The title, else the first keywords ("speculative decoding, draft model"), else a plain phrase."""
        if self.title:
            return self.title
        if self.keywords:
            return shorten(", ".join(self.keywords[:TITLE_KEYWORDS]), TITLE_CHARS)
        return "your interests"

    @property
    def email_unsubscribed(self) -> bool:
        return self.email_unsubscribed_at is not None

    @property
    def channels(self) -> list[str]:
        """Where this profile's digests go; with no address they stay in the local outbox.

        An address that unsubscribed is no channel, and a profile left with none gets no digest."""
        channels = []
        if self.email and not self.email_unsubscribed:
            channels.append("email")
        if self.slack_channel:
            channels.append("slack")
        if channels:
            return channels
        return [] if self.email_unsubscribed else ["outbox"]


@dataclass(frozen=True)
class RankedListing:
    """One listing's score for one profile, and the few reasons it matched."""

    listing_id: str
    score: float
    why: tuple[str, ...]


@dataclass(frozen=True)
class DigestItem:
    listing: Listing
    score: float
    why: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    """The listings one profile receives for one period through one channel."""

    id: int
    profile: Profile
    channel: str
    period: str
    items: tuple[DigestItem, ...]
    message_id: str | None = None
    created_at: datetime | None = None
    attempts: int = 0
