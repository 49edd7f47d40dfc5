"""The clock door: `bot run` ticks with APScheduler; each tick fetches the sources that are due,
makes the digests whose send time has passed, and delivers what is ready.

The database, not the scheduler, is the source of truth: a tick asks the store what is due, so a
restart, a crash or a second process changes nothing about what is sent. APScheduler is only the
metronome (one interval job, never two at once).

Sources are fetched in a thread of their own (`Fetcher`), one round at a time: a tick with digests
due waits for them at most `[fetch] digest_wait_seconds`, so their new papers make the digests when
they come in time, and a slow source never holds a digest back longer than that. In `bot run` a
round may outlast its tick; later ticks deliver meanwhile and start no second round.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from types import FrameType

from bot.channels import Channels
from bot.config import Config, SourceConfig
from bot.deliver import DeliveryOutcome, deliver_pending, process_owner, retry_policy
from bot.digest import ComposedDigest, compose_digests, due_periods
from bot.fetch import FetchResult, fetch_interval, fetch_sources, merge_sources
from bot.store import SourceState, Store

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

    def __init__(self, config: Config, store: Store, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self.store = store
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
        sources, _hidden = merge_sources(self.config.sources, self.store.stored_sources())
        due = sources_due(sources, self.store.source_states(), now=now)
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
            results = fetch_sources(
                self.store, due, deadline=self.config.fetch.deadline_seconds, should_stop=self.should_stop
            )
        except Exception:  # the database gone, say: logged, and the next round starts afresh
            log.exception("fetching sources failed")
            return
        for r in results:
            if r.error:
                log.error("source %s failed: %s", r.source, r.error)
            else:
                log.info("source %s: %d new, %d updated, %d unchanged", r.source, r.new, r.updated, r.unchanged)
        self.results = results


def tick(
    config: Config,
    store: Store,
    channels: Channels,
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
    fetcher = fetcher or Fetcher(config, store, should_stop)
    fetcher.start(now)

    profiles = store.profiles()
    periods = due_periods(store, profiles, now=now, catch_up=timedelta(hours=config.schedule.catch_up_hours))
    if periods.due:  # the papers being fetched make these digests if they come in time
        fetcher.wait(config.fetch.digest_wait_seconds)
    by_name = {p.name: p for p in profiles}
    for name, (occurrence, reason) in periods.late.items():
        if store.record_skipped(by_name[name], occurrence.period, reason, due_at=occurrence.due_at, now=now):
            report.skipped.append((name, occurrence.period, reason))
            log.warning("skipped %s %s: %s", name, occurrence.period, reason)
    if periods.due and not should_stop():
        report.composed = compose_digests(
            store,
            profiles,
            now=now,
            max_age_days=config.digest.max_age_days,
            message_domain=parseaddr(config.smtp.sender)[1].rpartition("@")[2] or "localhost",
            periods=periods.due,
            **config.rank.model_options(),
        )
        for c in report.composed:
            log.info("digest %s %s: %s, %d papers", c.profile.name, c.period, c.status, len(c.items))

    report.delivered = deliver_pending(
        store,
        channels.notifiers,
        sender=config.smtp.sender,
        abstract_chars=config.digest.abstract_chars,
        owner=owner,
        lease=timedelta(seconds=config.delivery.lease_seconds),
        batch=config.delivery.batch_size,
        retry=retry_policy(config.delivery),
        should_stop=should_stop,
        links=channels.links,
        unsubscribe_mailto=channels.unsubscribe_mailto,
    )
    for o in report.delivered:
        where = f"delivery {o.digest.id} ({o.digest.profile.name} via {o.digest.channel}, {o.digest.period})"
        if o.receipt:
            log.info("sent %s → %s", where, o.receipt)
        elif o.will_retry:
            log.warning("%s failed, will retry: %s", where, o.error)
        else:
            log.error("%s failed: %s", where, o.error)
    if own_fetcher:
        report.fetched = fetcher.wait()
    return report


def run(config: Config, store: Store, channels: Channels, *, once: bool = False) -> int:
    """Tick until SIGTERM or SIGINT (or once); returns the exit code."""
    owner = process_owner()
    if once:
        report = tick(config, store, channels, now=datetime.now(UTC), owner=owner)
        return 1 if report.failed else 0

    from apscheduler.schedulers.background import BackgroundScheduler

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not two lines per tick

    stop = threading.Event()
    fetcher = Fetcher(config, store, stop.is_set)  # one for all ticks: a round may outlast its tick

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: finishing the message being sent, then stopping", signal.Signals(signum).name)
        stop.set()

    def job() -> None:
        try:
            tick(config, store, channels, now=datetime.now(UTC), owner=owner, should_stop=stop.is_set, fetcher=fetcher)
        except Exception:  # a failed tick is logged; the next one starts afresh from the database
            log.exception("tick failed")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    scheduler = BackgroundScheduler(timezone=UTC)
    # One job, never two at once; a tick missed while the last one ran is simply dropped, since
    # the next tick asks the database what is due anyway.
    scheduler.add_job(
        job,
        "interval",
        seconds=config.schedule.tick_seconds,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        id="tick",
    )
    scheduler.start()
    log.info("running as %s: a tick every %d s; stop with Ctrl-C or SIGTERM", owner, config.schedule.tick_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)  # waits for the running tick, which stops at the next message
        fetcher.wait()  # and for the source being fetched, which ends by its deadline
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped")
    return 0
