"""The plain data passed between rooms: listings, profiles, ranked results and digests.

No room hands another its internals; these dataclasses are the whole vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class Profile:
    """Whose interests these are, what they are, and where and when digests go."""

    name: str
    keywords: list[str] = field(default_factory=list)
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
    # How much community interest (upvotes, where the source has them) lifts a matching paper: 0 = none.
    trend: float = 0.0
    id: int | None = None

    @property
    def channels(self) -> list[str]:
        """Where this profile's digests go; with no address they stay in the local outbox."""
        channels = []
        if self.email:
            channels.append("email")
        if self.slack_channel:
            channels.append("slack")
        return channels or ["outbox"]


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
