"""What every parser shares: safe XML, strict JSON, an HTML-page check, one-line text, dates, and
the cleaning every listing gets at ingest (`clean_listing`: no control characters, no bidi overrides).

Takes response bytes, hands back parsed values or a `SourceError` whose one line says what was
wrong with the body. XML is parsed with defusedxml, which refuses entity declarations (the
"billion laughs" bomb) and external entities before they expand or fetch anything; feedparser is
only ever handed bytes that passed this check.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from bot.errors import SourceError
from bot.models import Listing
from bot.strings import one_line

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SNIFF = 4096
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


# Characters that print nothing but can hide or reorder text in a digest: C0 and C1 controls (NUL,
# BEL, ESC...) and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), as
# in the "Trojan Source" attack. Tab, line feed and the other whitespace controls become spaces.
# A translate table: unicodedata has no "is a control" test that spares whitespace.
_WHITESPACE_CONTROLS = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85"
_INVISIBLE = {
    code: (" " if chr(code) in _WHITESPACE_CONTROLS else None)
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def clean_text(text: str) -> str:
    """`text` without control characters or bidi controls, on one line."""
    return one_line(text.translate(_INVISIBLE))


def clean_listing(listing: Listing) -> Listing:
    """The listing's words (title, abstract, authors, summary) as `clean_text` makes them."""
    return dataclasses.replace(
        listing,
        title=clean_text(listing.title),
        abstract=clean_text(listing.abstract),
        authors=tuple(name for name in map(clean_text, listing.authors) if name),
        ai_summary=clean_text(listing.ai_summary) or None if listing.ai_summary else None,
    )


def refuse_html(body: bytes, expected: str) -> None:
    """An HTML page where a feed or JSON was expected is usually an error or login page: say so."""
    head = body[:_SNIFF].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        title = _HTML_TITLE.search(head)
        shown = one_line(title.group(1).decode("utf-8", "replace"))[:80] if title else ""
        raise SourceError(f"expected {expected}, got an HTML page" + (f" ({shown!r})" if shown else ""))


def parse_xml(body: bytes, expected: str) -> Element:
    """The root element of a well-formed, entity-free XML document."""
    refuse_html(body, expected)
    if not body.strip():
        raise SourceError(f"expected {expected}, got an empty body")
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        raise SourceError(f"expected {expected}, got JSON (is the kind right for this URL?)")
    try:
        return defusedxml.ElementTree.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            target = exc.sysid or exc.pubid
            raise SourceError(f"refused XML with an external entity ({exc.name!r} → {target})") from None
        raise SourceError(
            f"refused XML that declares entities ({exc.name!r}; a possible entity-expansion bomb)"
        ) from None
    except defusedxml.ExternalReferenceForbidden as exc:
        raise SourceError(f"refused XML with an external reference ({exc.sysid or exc.pubid})") from None
    except defusedxml.DefusedXmlException as exc:
        raise SourceError(f"refused unsafe XML ({type(exc).__name__})") from None
    except ParseError as exc:
        declared = _DECLARED_ENCODING.match(body)
        hint = ""
        if declared and "invalid token" in str(exc):
            hint = f"; the document says it is {declared.group(1).decode()}: is it?"
        raise SourceError(f"malformed XML ({exc}{hint})") from None


def parse_json(body: bytes, expected: str) -> Any:
    """JSON is UTF-8 by definition (RFC 8259); other bytes are refused rather than guessed at."""
    refuse_html(body, expected)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"expected {expected} in UTF-8, got an invalid byte at offset {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:  # json recurses once per [ or {: 100,000 of them exhaust the stack
        raise SourceError(f"expected {expected}, got JSON nested too deeply to read") from None


def parse_when(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 ("2026-06-11T17:59:49Z") or RFC 822 (RSS pubDate)."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_text(value: Any) -> str | None:
    return one_line(value) or None if isinstance(value, str) else None
