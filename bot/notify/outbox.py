"""The local outbox, the default notifier: each email as a standard .eml file, each Slack message as
the JSON payload chat.postMessage would receive. Needs no credentials; `make demo` uses it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.errors import DeliveryError
from bot.notify.base import Delivery, Notifier


class OutboxNotifier(Notifier):
    channels = ("email", "slack", "outbox")

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, delivery: Delivery) -> str:
        # The file name comes from the digest id, so sending the same digest again rewrites one file.
        stem = f"{delivery.period}_{delivery.profile}_{delivery.channel}_{delivery.digest_id}"
        written: list[Path] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if delivery.email is not None:
                written.append(self._write(stem + ".eml", delivery.email.as_bytes()))
            # One file per Slack message; a digest too long for one message gets -1, -2, ... in order.
            several = len(delivery.slack) > 1
            for number, payload in enumerate(delivery.slack, start=1):
                text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
                written.append(
                    self._write(f"{stem}-{number}.json" if several else f"{stem}.json", text.encode("utf-8"))
                )
        except OSError as exc:
            raise DeliveryError(f"cannot write to outbox {self.directory}: {exc.strerror}", temporary=True) from exc
        return ", ".join(str(p) for p in written)

    def _write(self, name: str, data: bytes) -> Path:
        # Write then rename, so a reader (or a crash) never sees half a file.
        path = self.directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path
