"""`seed_page`: a Hugging Face Daily Papers page saved as text, the offline default source.

The format: a page header (ending with the page's date, e.g. "Mar 14"), then each paper as a title
paragraph followed by an abstract paragraph, paragraphs separated by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from bot.errors import SourceError
from bot.keys import listing_key
from bot.models import Listing
from bot.sources.base import Source

if TYPE_CHECKING:
    from bot.sources.http import SourceHttp

_DATE_LINE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}(, \d{4})?$")
_HEADER_SEARCH = 12  # the header is a handful of short lines; never look for it deep in the page
_MAX_TITLE = 400  # longer than any real title: a paragraph this long is an abstract out of place


def parse_seed_page(text: str, *, source: str = "seed_page") -> list[Listing]:
    """Parse the page text into listings; raise SourceError naming the line where the format breaks."""
    paragraphs = _paragraphs(text)
    start = 0
    for index, (_line, para) in enumerate(paragraphs[:_HEADER_SEARCH]):
        if _DATE_LINE.match(para):
            start = index + 1
            break
    body = paragraphs[start:]
    if not body:
        raise SourceError("the page holds no papers")
    out = []
    for i in range(0, len(body), 2):
        line, title = body[i]
        if len(title) > _MAX_TITLE:
            raise SourceError(f"line {line}: expected a title, found a paragraph of {len(title)} characters")
        if i + 1 >= len(body):
            raise SourceError(f"line {line}: title {title[:60]!r} has no abstract after it")
        _, abstract = body[i + 1]
        out.append(Listing(id=listing_key(title=title), title=title, abstract=abstract, source=source))
    return out


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line number, text joined to one line) for each blank-line separated paragraph."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line:
            if not current:
                first = number
            current.append(line)
        elif current:
            out.append((first, " ".join(current)))
            current = []
    if current:
        out.append((first, " ".join(current)))
    return out


class SeedPageSource(Source):
    kind = "seed_page"
    options: ClassVar[Mapping[str, bool]] = {"path": True}

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self._open().close()  # refuse a path that cannot be read when the source is added

    def _open(self) -> IO[bytes]:
        path = Path(self.config["path"])
        try:
            return path.open("rb")
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from exc

    def fetch(self, http: SourceHttp | None = None) -> list[Listing]:
        # Reads a local file: the HTTP client is not used.
        with self._open() as file:
            try:
                text = file.read().decode("utf-8")
            except OSError as exc:
                raise SourceError(f"cannot read {file.name}: {exc.strerror}") from exc
            except UnicodeDecodeError as exc:
                raise SourceError(f"{file.name} is not UTF-8 text (byte {exc.start})") from exc
        return parse_seed_page(text, source=self.name)
