"""The pipeline every door calls: fetch what is due, compose (or preview) digests, deliver them.

Built once from the configuration, it owns the store, the settings and the channels (notifiers and
link signer), so a door (the CLI, `bot run`, the Slack app) says what to do, never how: no setting is
handed on one by one, and `/papers preview` ranks exactly as `bot digest --preview` does.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import Config, SourceConfig
from bot.flow.channels import Channels, make_channels
from bot.flow.compose import ComposedDigest, compose_digests, due_periods, text_model
from bot.flow.deliver import DeliveryOutcome, deliver_pending
from bot.flow.fetch import Fetcher, FetchResult, Progress, fetch_sources, merge_sources, source_titles
from bot.flow.periods import Occurrence, next_due
from bot.flow.settings import Settings
from bot.models import Profile
from bot.store import DigestSummary, SourceState, Store

if TYPE_CHECKING:
    from bot.rank.model import TextModel

log = logging.getLogger("bot.run")


@dataclass
class TickReport:
    fetched: list[FetchResult] = field(default_factory=list)
    composed: list[ComposedDigest] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # profile, period, reason
    delivered: list[DeliveryOutcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.error for r in self.fetched) or any(o.error and not o.will_retry for o in self.delivered)


@dataclass(frozen=True)
class ProfileStatus:
    profile: Profile
    latest: list[DigestSummary]  # the deliveries of its latest period, one per channel
    next_send: Occurrence | None  # None: it has no channel left, so no digest is made for it


@dataclass(frozen=True)
class Status:
    profiles: list[ProfileStatus]
    sources: list[tuple[SourceConfig, SourceState | None]]
    failed: list[DigestSummary]
    retrying: list[DigestSummary]  # pending after a temporary failure


def _no_channels() -> Channels:
    raise RuntimeError("this pipeline was built without channels: it cannot deliver")


class Pipeline:
    """Fetching, composing and delivering over one store, with one set of settings and channels."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        sources: Sequence[SourceConfig] = (),
        channels: Callable[[], Channels] = _no_channels,
    ) -> None:
        self.store = store
        self.settings = settings
        self.configured_sources = tuple(sources)
        self._make_channels = channels

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Pipeline:
        return cls(
            store,
            Settings.from_config(config),
            sources=config.sources,
            channels=functools.partial(make_channels, config),
        )

    @functools.cached_property
    def channels(self) -> Channels:
        """The notifiers and link signer, made on first use: reading, composing and previewing need none,
        and the door that delivers asks first, so a bad setting (a weak BOT_SECRET) is refused before any work."""
        return self._make_channels()

    def sources(self) -> tuple[list[SourceConfig], list[str]]:
        """The config file's sources then the added ones, and the added names a config one hides."""
        return merge_sources(self.configured_sources, self.store.stored_sources())

    def source_titles(self) -> dict[str, str]:
        """Each source's name → the title readers see in a digest."""
        return source_titles(self.sources()[0])

    def fetch(self, sources: Sequence[SourceConfig], *, progress: Progress | None = None) -> list[FetchResult]:
        return fetch_sources(self.store, sources, progress=progress, deadline=self.settings.fetch_deadline)

    def fetcher(self, should_stop: Callable[[], bool] = lambda: False) -> Fetcher:
        """Fetches the sources due at each tick in a thread of its own (see `tick`)."""
        return Fetcher(
            self.store, lambda: self.sources()[0], deadline=self.settings.fetch_deadline, should_stop=should_stop
        )

    def compose(self, profiles: Sequence[Profile], *, now: datetime, dry_run: bool = False) -> list[ComposedDigest]:
        """Each profile's digest for its current period (made by hand), or what it would be."""
        return compose_digests(self.store, profiles, self.settings, now=now, dry_run=dry_run)

    def preview(self, profile: Profile, *, now: datetime, top: int | None = None) -> ComposedDigest:
        """The digest the profile would get now, even if this period's is made; records nothing.

        `top` shows only its first papers. An unsubscribed address still gets a preview: it was asked for.
        """
        shown = replace(profile, email_unsubscribed_at=None)
        (composed,) = compose_digests(self.store, [shown], self.settings, now=now, dry_run=True, ignore_composed=True)
        return replace(composed, profile=profile, items=composed.items[:top])

    def deliver(
        self,
        *,
        profile: str | None = None,
        owner: str | None = None,
        include_waiting: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> list[DeliveryOutcome]:
        return deliver_pending(
            self.store,
            self.channels,
            self.settings,
            profile=profile,
            owner=owner,
            include_waiting=include_waiting,
            should_stop=should_stop,
            source_titles=self.source_titles(),
        )

    def tick(
        self,
        *,
        now: datetime,
        owner: str,
        should_stop: Callable[[], bool] = lambda: False,
        fetcher: Fetcher | None = None,
    ) -> TickReport:
        """Fetch what is due, make the digests due, deliver what is ready.

        Without a `fetcher` (`bot run --once`) the tick's own fetching is waited for before it returns,
        after delivering; `bot run` passes one that outlives ticks, so a slow source holds no tick back.
        """
        report = TickReport()
        own_fetcher = fetcher is None
        fetcher = fetcher or self.fetcher(should_stop)
        fetcher.start(now)
        report.skipped, report.composed = self._compose_due(now, fetcher, should_stop)
        report.delivered = self.deliver(owner=owner, should_stop=should_stop)
        _log_deliveries(report.delivered)
        if own_fetcher:
            report.fetched = fetcher.wait()
        return report

    def _compose_due(
        self, now: datetime, fetcher: Fetcher, should_stop: Callable[[], bool]
    ) -> tuple[list[tuple[str, str, str]], list[ComposedDigest]]:
        """Record the periods missed beyond catch-up as skipped, and compose the ones due."""
        profiles = self.store.profiles()
        periods = due_periods(self.store, profiles, now=now, catch_up=self.settings.catch_up)
        if periods.due:  # the papers being fetched make these digests if they come in time
            fetcher.wait(self.settings.digest_wait_seconds)
        by_name = {p.name: p for p in profiles}
        skipped = []
        for name, (occurrence, reason) in periods.late.items():
            if self.store.record_skipped(by_name[name], occurrence.period, reason, due_at=occurrence.due_at, now=now):
                skipped.append((name, occurrence.period, reason))
                log.warning("skipped %s %s: %s", name, occurrence.period, reason)
        if not periods.due or should_stop():
            return skipped, []
        composed = compose_digests(self.store, profiles, self.settings, now=now, periods=periods.due)
        for c in composed:
            log.info("digest %s %s: %s, %d papers", c.profile.name, c.period, c.status, len(c.items))
        return skipped, composed

    def status(self, now: datetime) -> Status:
        """Each profile's latest digest and next send, each source's last fetch, the failed deliveries."""
        summaries = self.store.digest_summaries()
        latest = _latest_periods(summaries)
        profiles = [
            ProfileStatus(p, latest.get(p.name, []), _next_send(p, latest.get(p.name, []), now))
            for p in self.store.profiles()
        ]
        states = self.store.source_states()
        sources = [(s, states.get(s.name)) for s in self.sources()[0]]
        failed = [s for s in summaries if s.state == "failed"]
        retrying = [s for s in summaries if s.state == "pending" and s.last_error]
        return Status(profiles, sources, failed, retrying)

    def refit(self, now: datetime) -> TextModel | None:
        """Fit the text model again on the newest listings and save it; None with nothing to fit."""
        return text_model(self.store, self.settings, now=now, force=True)


def _latest_periods(summaries: Sequence[DigestSummary]) -> dict[str, list[DigestSummary]]:
    """Each profile's deliveries of its latest period, by profile name."""
    latest: dict[str, list[DigestSummary]] = {}
    for s in summaries:
        if s.profile not in latest or latest[s.profile][0].period < s.period:
            latest[s.profile] = [s]
        elif latest[s.profile][0].period == s.period:
            latest[s.profile].append(s)
    return latest


def _next_send(profile: Profile, latest: list[DigestSummary], now: datetime) -> Occurrence | None:
    if not profile.channels:  # its only address unsubscribed: no digest is made for it
        return None
    when = next_due(profile, now)
    if latest and latest[0].period == when.period:  # made early by hand (`bot digest`): its time sends nothing
        when = next_due(profile, when.due_at)
    return when


def _log_deliveries(outcomes: Sequence[DeliveryOutcome]) -> None:
    for o in outcomes:
        where = f"delivery {o.digest.id} ({o.digest.profile.name} via {o.digest.channel}, {o.digest.period})"
        if o.receipt:
            log.info("sent %s → %s", where, o.receipt)
        elif o.will_retry:
            log.warning("%s failed, will retry: %s", where, o.error)
        else:
            log.error("%s failed: %s", where, o.error)
