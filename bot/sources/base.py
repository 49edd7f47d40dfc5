"""The contract every source kind implements: read one place, return listings. Never touch the store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from bot.errors import SourceError
from bot.models import Listing


class Source(ABC):
    """One configured source. `fetch` returns what the source holds now, or raises SourceError."""

    kind: ClassVar[str]
    #: option name → required?  Unknown options are refused so a typo is not silently ignored.
    options: ClassVar[Mapping[str, bool]] = {}

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        unknown = set(options) - set(self.options)
        if unknown:
            raise SourceError(f"source {name!r} ({self.kind}): unknown option(s) {', '.join(sorted(unknown))}")
        missing = [key for key, required in self.options.items() if required and key not in options]
        if missing:
            raise SourceError(f"source {name!r} ({self.kind}): missing option(s) {', '.join(missing)}")
        self.name = name
        self.config = dict(options)

    @abstractmethod
    def fetch(self) -> list[Listing]:
        """Read the source; raise SourceError with a one-line reason when it cannot be read."""
