"""Source kinds, registered in one visible place: a new kind is one module and one entry here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import SourceError
from bot.sources.base import Source
from bot.sources.seed_page import SeedPageSource

SOURCE_KINDS: dict[str, type[Source]] = {
    SeedPageSource.kind: SeedPageSource,
}


def make_source(name: str, kind: str, options: Mapping[str, Any]) -> Source:
    try:
        cls = SOURCE_KINDS[kind]
    except KeyError:
        raise SourceError(
            f"source {name!r}: unknown kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})"
        ) from None
    return cls(name, options)


__all__ = ["SOURCE_KINDS", "Source", "make_source"]
