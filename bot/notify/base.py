"""The contract every notifier implements: deliver one rendered digest through one channel."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, ClassVar


@dataclass(frozen=True)
class Delivery:
    """One digest, rendered for one channel, ready to go."""

    digest_id: int
    channel: str  # "email", "slack" or "outbox" (a profile with no address)
    profile: str
    period: str
    email: EmailMessage | None = None
    slack: tuple[dict[str, Any], ...] = ()


class Notifier(ABC):
    """Delivers digests for the channels it names.

    `send` must be idempotent for the same `digest_id`: delivering a digest again after an uncertain
    failure must not give the reader two copies where the channel allows avoiding it. It returns a
    short receipt (where the digest went) or raises `bot.errors.DeliveryError`, whose `temporary`
    flag says whether a later retry may succeed.
    """

    channels: ClassVar[tuple[str, ...]]

    @abstractmethod
    def send(self, delivery: Delivery) -> str: ...
