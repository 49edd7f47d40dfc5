"""The settings the pipeline runs with, read once from the configuration.

The doors hand the pipeline a `Config`; everything below it takes a `Settings`, so no setting is passed
on one by one and each derived value (the Message-ID domain, say) is worked out in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

from bot.config import Config


@dataclass(frozen=True)
class RetryPolicy:
    """Temporary failures wait base, 2·base, 4·base, ... (at most `cap`), up to `max_attempts` in all."""

    max_attempts: int = 8
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        return now + min(self.base * 2 ** max(attempts - 1, 0), self.cap)


@dataclass(frozen=True)
class Settings:
    # composing: candidates are listings first seen this recently; new profiles get top and min_score
    max_age_days: int = 7
    top: int = 10
    min_score: float = 0.05
    message_domain: str = "localhost"
    # the saved text model (None: listings are vectorized on the candidates alone)
    model_path: Path | None = None
    window: int = 50_000
    refresh: timedelta = timedelta(days=7)
    # delivering
    sender: str = "Paper digest <papers@localhost>"
    abstract_chars: int = 400
    lease: timedelta = timedelta(minutes=5)
    batch: int = 20
    retry: RetryPolicy = RetryPolicy()
    # fetching and the clock
    fetch_deadline: float = 60.0
    digest_wait_seconds: float = 20.0
    catch_up: timedelta = timedelta(hours=12)
    tick_seconds: int = 60

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        delivery = config.delivery
        return cls(
            max_age_days=config.digest.max_age_days,
            top=config.digest.top,
            min_score=config.digest.min_score,
            message_domain=parseaddr(config.smtp.sender)[1].rpartition("@")[2] or "localhost",
            model_path=Path(config.rank.model_path),
            window=config.rank.window,
            refresh=timedelta(days=config.rank.refresh_days),
            sender=config.smtp.sender,
            abstract_chars=config.digest.abstract_chars,
            lease=timedelta(seconds=delivery.lease_seconds),
            batch=delivery.batch_size,
            retry=RetryPolicy(
                max_attempts=delivery.max_attempts,
                base=timedelta(seconds=delivery.retry_base_seconds),
                cap=timedelta(seconds=delivery.retry_max_seconds),
            ),
            fetch_deadline=config.fetch.deadline_seconds,
            digest_wait_seconds=config.fetch.digest_wait_seconds,
            catch_up=timedelta(hours=config.schedule.catch_up_hours),
            tick_seconds=config.schedule.tick_seconds,
        )
