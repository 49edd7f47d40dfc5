"""Which notifier serves each channel, decided from the configuration and the environment.

Called by the doors (CLI, scheduler); the rooms never read configuration. A channel whose
credentials are missing falls back to the local outbox, and the notes say so in one line each.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.notify import Notifier, OutboxNotifier


@dataclass(frozen=True)
class Channels:
    notifiers: dict[str, Notifier]
    notes: tuple[str, ...]  # one line per channel that fell back to the outbox, and why


def make_channels(config: Config) -> Channels:
    outbox = OutboxNotifier(config.outbox.dir)
    notifiers: dict[str, Notifier] = dict.fromkeys(outbox.channels, outbox)
    notes = [f"email and Slack are not configured: digests go to the local outbox {config.outbox.dir}/"]
    return Channels(notifiers=notifiers, notes=tuple(notes))
