"""Log lines for the long-running commands (`bot serve`, `bot slack`, `bot run`): one record, one line."""

from __future__ import annotations

import logging


class OneLineFormatter(logging.Formatter):
    """Writes line breaks in a record's message as `\\n` and `\\r`.

    Messages carry text from outside (a feed's error, a Slack command, a request); a line break in it
    would start a line that reads like one of ours. A traceback after the message keeps its lines.
    The standard library has no such option, hence this override.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


def log_to_stderr(level: int, fmt: str) -> None:
    """Send log records at `level` and above to stderr, one line each, formatted by `fmt`."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
