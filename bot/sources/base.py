"""The contract every source kind implements: read one place, return listings. Never touch the store.

A source is given a `SourceHttp` (the shared client, with what the source's server said last time)
and returns the listings the place holds now. It raises `SourceError` with a one-line reason when
the place cannot be read, and `NotModified` when the server answered 304 to its conditional GET.
Parsing is a separate, pure function in each module (bytes in, listings out) so tests feed it
recorded responses.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from bot.errors import SourceError
from bot.models import Listing

if TYPE_CHECKING:  # the client (httpx) is imported only by the sources that fetch
    from bot.sources.http import SourceHttp

#: How often a source is fetched unless its config says otherwise (seconds); the scheduler reads it.
DEFAULT_INTERVAL = 6 * 3600


class NotModified(Exception):  # a condition, like StopIteration, not an error
    """The server says nothing changed since our last fetch (HTTP 304)."""


class Source(ABC):
    """One configured source. `fetch` returns what the source holds now, or raises SourceError."""

    kind: ClassVar[str]
    #: option name → required?  Unknown options are refused so a typo is not silently ignored.
    options: ClassVar[Mapping[str, bool]] = {}
    #: Seconds between fetches when the config does not say; sources that change daily say so here.
    default_interval: ClassVar[int] = DEFAULT_INTERVAL
    #: Seconds the server asks between two requests to it (arXiv: 3); the HTTP client keeps to it.
    min_interval: ClassVar[float] = 0.0
    #: Whole-number options: name → (default, lowest, highest). Checked when the source is made, so
    #: `bot source add` refuses a bad value at once, and a config-file source at its first fetch.
    numbers: ClassVar[Mapping[str, tuple[int, int, int]]] = {}

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        unknown = set(options) - set(self.options)
        if unknown:
            raise SourceError(f"source {name!r} ({self.kind}): unknown option(s) {', '.join(sorted(unknown))}")
        missing = [key for key, required in self.options.items() if required and key not in options]
        if missing:
            raise SourceError(f"source {name!r} ({self.kind}): missing option(s) {', '.join(missing)}")
        self.name = name
        self.config = dict(options)
        if "url" in self.config:
            check_url(name, self.config["url"])
        for key in self.numbers:
            self._int(key)

    @abstractmethod
    def fetch(self, http: SourceHttp) -> list[Listing]:
        """Read the source; raise SourceError with a one-line reason when it cannot be read."""

    def _strings(self, key: str) -> list[str]:
        """An option that may be one string or a list of strings (categories, for instance)."""
        value = self.config.get(key) or []
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourceError(f"source {self.name!r}: {key} must be a string or a list of strings")
        return value

    def _int(self, key: str) -> int:
        """A whole-number option within its range in `numbers`; a string of digits counts (`--option`)."""
        default, low, high = self.numbers[key]
        value = self.config.get(key, default)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SourceError(f"source {self.name!r}: {key} must be a whole number from {low} to {high}")
        return value


def check_url(name: str, url: Any) -> None:
    """SourceError unless `url` is an http(s) URL with a host and no control characters.

    A control character (a pasted line break, a NUL) would be cut or re-encoded on the way to the
    server, so the source would read somewhere other than what `bot source list` shows."""
    if not isinstance(url, str):
        raise SourceError(f"source {name!r}: url must be a string")
    if bad := next((ch for ch in url if unicodedata.category(ch) == "Cc"), None):
        raise SourceError(
            f"source {name!r}: url {url!r} holds a control character (U+{ord(bad):04X}); give the URL on one line"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"source {name!r}: url {url!r}: only http and https URLs can be fetched")
    if not parts.hostname:
        raise SourceError(f"source {name!r}: url {url!r} names no host; give a full URL like https://example.org/feed")
