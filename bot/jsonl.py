"""Reading the JSON-lines files `bot rank` takes, with the line number in every complaint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.models import Listing, Profile

_PROFILE_FIELDS = {"name", "keywords", "exclude", "like", "dislike", "authors", "trend"}


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{number}: expected a JSON object")
            yield number, obj


def _strings(path: Path, number: int, obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{path}:{number}: {key!r} must be a list of strings")
    return tuple(value)


def _text(path: Path, number: int, obj: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"{path}:{number}: {key!r} must be a non-empty string")
    return value


def read_listings(path: str | Path) -> list[Listing]:
    path = Path(path)
    out: list[Listing] = []
    seen: set[str] = set()
    for number, obj in _objects(path):
        listing_id = _text(path, number, obj, "id", required=True)
        assert listing_id is not None
        if listing_id in seen:
            raise InputError(f"{path}:{number}: id {listing_id!r} appears twice")
        seen.add(listing_id)
        published = obj.get("published")
        try:
            when = datetime.fromisoformat(published) if isinstance(published, str) else None
        except ValueError:
            raise InputError(f"{path}:{number}: 'published' must be an ISO 8601 date") from None
        upvotes = obj.get("upvotes")
        if upvotes is not None and (not isinstance(upvotes, int) or isinstance(upvotes, bool)):
            raise InputError(f"{path}:{number}: 'upvotes' must be an integer")
        out.append(
            Listing(
                id=listing_id,
                title=_text(path, number, obj, "title", required=True) or "",
                abstract=_text(path, number, obj, "abstract") or "",
                authors=_strings(path, number, obj, "authors"),
                categories=_strings(path, number, obj, "categories"),
                url=_text(path, number, obj, "url"),
                source=_text(path, number, obj, "source"),
                published=when,
                upvotes=upvotes,
            )
        )
    return out


def read_profiles(path: str | Path) -> list[Profile]:
    path = Path(path)
    out: list[Profile] = []
    for number, obj in _objects(path):
        unknown = set(obj) - _PROFILE_FIELDS
        if unknown:
            raise InputError(f"{path}:{number}: unknown field(s) {', '.join(sorted(unknown))}")
        out.append(
            Profile(
                name=_text(path, number, obj, "name", required=True) or "",
                keywords=list(_strings(path, number, obj, "keywords")),
                exclude=list(_strings(path, number, obj, "exclude")),
                likes=list(_strings(path, number, obj, "like")),
                dislikes=list(_strings(path, number, obj, "dislike")),
                authors=list(_strings(path, number, obj, "authors")),
                trend=_trend(path, number, obj),
            )
        )
    return out


def _trend(path: Path, number: int, obj: dict[str, Any]) -> float:
    value = obj.get("trend", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InputError(f"{path}:{number}: 'trend' must be a number from 0 to 1")
    return float(value)


def listing_json(listing: Listing) -> dict[str, Any]:
    return {
        "id": listing.id,
        "title": listing.title,
        "abstract": listing.abstract,
        "authors": list(listing.authors),
        "categories": list(listing.categories),
        "url": listing.url,
        "source": listing.source,
        "published": listing.published.isoformat() if listing.published else None,
        "upvotes": listing.upvotes,
        "doi": listing.doi,
        "comments": listing.comments,
        "ai_summary": listing.ai_summary,
        "github_repo": listing.github_repo,
        "project_page": listing.project_page,
    }
