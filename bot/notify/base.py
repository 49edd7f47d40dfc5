"""The contract every notifier implements: deliver one rendered digest through one channel."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
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
    flag says whether a later retry may succeed (the digest then stays pending for the next run);
    `temporary=False` means the channel refused it for good (an unknown recipient, say).
    `bot.errors.ChannelDown` says the channel itself cannot be reached, so the caller sends nothing
    more through it in this run.

    A caller with several digests to send wraps them in `with notifier.batch():` so that the
    notifier may share one connection between them; `send` works outside a batch too. A failure of
    one send never ends the batch: the next send reconnects if it must.
    """

    channels: ClassVar[tuple[str, ...]]

    @abstractmethod
    def send(self, delivery: Delivery) -> str: ...

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Share what can be shared (a connection) between the sends inside; nothing by default."""
        yield
