"""The clock door: `bot run` ticks with APScheduler; each tick fetches the sources that are due,
makes the digests whose send time has passed, and delivers what is ready.

The database, not the scheduler, is the source of truth: a tick asks the store what is due, so a
restart, a crash or a second process changes nothing about what is sent. APScheduler is only the
metronome (one interval job, never two at once).

Sources are fetched in a thread of their own (`bot.flow.fetch.Fetcher`), one round at a time: a tick with digests
due waits for them at most `[fetch] digest_wait_seconds`, so their new papers make the digests when
they come in time, and a slow source never holds a digest back longer than that. In `bot run` a
round may outlast its tick; later ticks deliver meanwhile and start no second round.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from bot.flow.deliver import process_owner
from bot.flow.pipeline import Pipeline

log = logging.getLogger("bot.run")


def run(pipeline: Pipeline, *, once: bool = False) -> int:
    """Tick until SIGTERM or SIGINT (or once); returns the exit code."""
    owner = process_owner()
    if once:
        report = pipeline.tick(now=datetime.now(UTC), owner=owner)
        return 1 if report.failed else 0

    from apscheduler.schedulers.background import BackgroundScheduler

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not two lines per tick

    stop = threading.Event()
    fetcher = pipeline.fetcher(stop.is_set)  # one for all ticks: a round may outlast its tick

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: finishing the message being sent, then stopping", signal.Signals(signum).name)
        stop.set()

    def job() -> None:
        try:
            pipeline.tick(now=datetime.now(UTC), owner=owner, should_stop=stop.is_set, fetcher=fetcher)
        except Exception:  # a failed tick is logged; the next one starts afresh from the database
            log.exception("tick failed")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    scheduler = BackgroundScheduler(timezone=UTC)
    # One job, never two at once; a tick missed while the last one ran is simply dropped, since
    # the next tick asks the database what is due anyway.
    scheduler.add_job(
        job,
        "interval",
        seconds=pipeline.settings.tick_seconds,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        id="tick",
    )
    scheduler.start()
    log.info("running as %s: a tick every %d s; stop with Ctrl-C or SIGTERM", owner, pipeline.settings.tick_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)  # waits for the running tick, which stops at the next message
        fetcher.wait()  # and for the source being fetched, which ends by its deadline
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped")
    return 0
