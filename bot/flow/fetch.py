"""Reading every configured source into the store. A broken source is reported and skipped.

Takes the sources (config and CLI-added, already merged by the door) and the store; hands each
source the shared HTTP client with the validators its last good fetch left, stores what it returns,
and records the outcome (ok, unchanged, failed) per source. Validators are saved only after the
listings are stored, so a crash between the two can never make the next run skip unseen papers.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.config import SourceConfig
from bot.errors import SourceError
from bot.models import Listing
from bot.sources import SOURCE_KINDS, NotModified, make_source, source_class, source_title
from bot.store import SourceState, Store, StoredSource

if TYPE_CHECKING:
    from bot.sources.http import HttpClient, SourceHttp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str | None = None

    @property
    def status(self) -> str:
        return self.error or ("not modified" if self.not_modified else "ok")


class Progress(Protocol):
    """Told when each source starts and ends, so a door can draw bars or print log lines."""

    def started(self, name: str) -> None: ...

    def requested(self, name: str, url: str) -> None: ...

    def finished(self, result: FetchResult) -> None: ...


def merge_sources(
    configured: Sequence[SourceConfig], stored: Sequence[StoredSource]
) -> tuple[list[SourceConfig], list[str]]:
    """The config file's sources then the added ones, and the added names hidden by a config one.

    A name in both is the config file's: it is the one a person wrote where they keep settings.
    """
    names = {s.name for s in configured}
    merged = list(configured)
    hidden = []
    for s in stored:
        if s.name in names:
            hidden.append(s.name)
            continue
        merged.append(
            SourceConfig(name=s.name, kind=s.kind, options=s.options, every=s.every, origin="store", title=s.title)
        )
    return merged, hidden


def source_titles(sources: Sequence[SourceConfig]) -> dict[str, str]:
    """Each source's name → the title readers see in a digest."""
    return {s.name: source_title(s.kind, s.options, s.title) for s in sources}


def fetch_interval(source: SourceConfig) -> int | None:
    """Seconds between fetches: the source's own `every`, else its kind's default (None: unknown kind)."""
    if source.every:
        return source.every
    return source_class(source.kind).default_interval if source.kind in SOURCE_KINDS else None


def read_source(config: SourceConfig, http: SourceHttp) -> list[Listing]:
    """Build the source and fetch it; SourceError or NotModified when there is nothing to store.

    Every listing is cleaned here, the one place all sources' listings pass, whatever their kind.
    """
    from bot.sources.common import clean_listing

    source = make_source(config.name, config.kind, config.options)
    http.min_interval = max(http.min_interval, source.min_interval)
    try:
        return [clean_listing(listing) for listing in source.fetch(http)]
    except (SourceError, NotModified):
        raise
    except Exception as exc:  # a parser bug on one odd page must not stop the other sources
        log.exception("source %s failed unexpectedly", config.name)
        raise SourceError(f"unexpected {type(exc).__name__}: {exc}") from exc


def fetch_sources(
    store: Store,
    sources: Sequence[SourceConfig],
    *,
    client: HttpClient | None = None,
    progress: Progress | None = None,
    deadline: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[FetchResult]:
    """Fetch each source in turn; one failing never stops the others, and stores nothing of its own.

    `deadline` (seconds per request, retries included) is for the client made here when none is given.
    Once `should_stop()`, the sources not yet started are left for the next run.
    """
    from bot.sources.http import DEFAULT_DEADLINE, HttpClient, SourceHttp, Validators

    own_client = client is None
    client = client or HttpClient(deadline=deadline or DEFAULT_DEADLINE)
    states = store.source_states()
    results = []
    try:
        for config in sources:
            if should_stop():
                break
            if progress:
                progress.started(config.name)
            state = states.get(config.name)
            known = {url: Validators(**v) for url, v in ((state and state.validators) or {}).items()}
            on_request = functools.partial(progress.requested, config.name) if progress else None
            result = _fetch_one(store, config, SourceHttp(client, known, on_request=on_request))
            if progress:
                progress.finished(result)
            results.append(result)
    finally:
        if own_client:
            client.close()
    return results


def _fetch_one(store: Store, config: SourceConfig, http: SourceHttp) -> FetchResult:
    """Read one source and store what it holds, with the outcome (ok, unchanged, failed)."""
    try:
        listings = read_source(config, http)
    except NotModified:
        store.record_fetch(config.name, outcome="unchanged")
        return FetchResult(config.name, not_modified=True)
    except SourceError as exc:
        store.record_fetch(config.name, outcome="failed", error=str(exc))
        return FetchResult(config.name, error=str(exc))
    counts = store.upsert_listings(listings)
    validators = {url: {"etag": v.etag, "last_modified": v.last_modified} for url, v in http.seen.items()}
    store.record_fetch(config.name, outcome="ok", new=counts.new, validators=validators)
    return FetchResult(config.name, new=counts.new, updated=counts.updated, unchanged=counts.unchanged)


def sources_due(
    sources: Sequence[SourceConfig], states: dict[str, SourceState], *, now: datetime
) -> list[SourceConfig]:
    """Sources never fetched, or last fetched at least their interval ago (`every`, else the kind's)."""
    due = []
    for source in sources:
        seconds = fetch_interval(source)
        state = states.get(source.name)
        if seconds is None or state is None or state.last_fetch_at is None:
            due.append(source)  # an unknown kind is "due": fetching it reports the error
        elif now - state.last_fetch_at >= timedelta(seconds=seconds):
            due.append(source)
    return due


class Fetcher:
    """Fetches the sources due at a moment in a thread of its own, one round at a time."""

    def __init__(
        self,
        store: Store,
        sources: Callable[[], Sequence[SourceConfig]],
        *,
        deadline: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.sources = sources
        self.deadline = deadline
        self.should_stop = should_stop
        self.results: list[FetchResult] = []
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, now: datetime) -> None:
        """Start fetching the sources due at `now`, unless a round is still running or none is due."""
        if self.running:
            return
        due = sources_due(self.sources(), self.store.source_states(), now=now)
        if due:
            self.results = []
            self._thread = threading.Thread(target=self._fetch, args=(due,), name="fetch", daemon=True)
            self._thread.start()

    def wait(self, seconds: float | None = None) -> list[FetchResult]:
        """Wait at most `seconds` (None: until it ends) for the round; its results once it has ended."""
        if self._thread is not None:
            self._thread.join(seconds)
        return [] if self.running else self.results

    def _fetch(self, due: list[SourceConfig]) -> None:
        try:
            results = fetch_sources(self.store, due, deadline=self.deadline, should_stop=self.should_stop)
        except Exception:  # the database gone, say: logged, and the next round starts afresh
            log.exception("fetching sources failed")
            return
        for r in results:
            if r.error:
                log.error("source %s failed: %s", r.source, r.error)
            else:
                log.info("source %s: %d new, %d updated, %d unchanged", r.source, r.new, r.updated, r.unchanged)
        self.results = results
