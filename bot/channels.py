"""Which notifier serves each channel, decided from the configuration and the environment.

Called by the doors (CLI, scheduler); the rooms never read configuration. A channel whose
credentials are missing falls back to the local outbox, and the notes say so in one line each.
"""

from __future__ import annotations

import os
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
    notes = [f"email is not configured: email digests go to the local outbox {config.outbox.dir}/"]
    if token := os.environ.get("SLACK_BOT_TOKEN", "").strip():
        from bot.notify.slack import SlackNotifier, make_client  # slack_sdk only when Slack is on

        notifiers["slack"] = SlackNotifier(make_client(token, config.slack.api_url))
    else:
        notes.append(f"SLACK_BOT_TOKEN is not set: Slack digests go to the local outbox {config.outbox.dir}/")
    return Channels(notifiers=notifiers, notes=tuple(notes))
