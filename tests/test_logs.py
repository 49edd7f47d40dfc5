"""Log lines of the long-running commands: text from outside cannot start a line of its own."""

from __future__ import annotations

import io
import logging

from bot.logs import OneLineFormatter


def test_a_line_break_in_a_logged_value_cannot_forge_a_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(name)s: %(message)s"))
    logger = logging.getLogger("tests.one-line")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("source failed: %s", "bad feed\n2026-12-03 bot.web: profile ada: email unsubscribed\r")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("a handler failed on %r", "x")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == r"tests.one-line: source failed: bad feed\n2026-12-03 bot.web: profile ada: email unsubscribed\r"
    assert lines[1] == "tests.one-line: a handler failed on 'x'"
    assert lines[2] == "Traceback (most recent call last):" and lines[-1] == "ValueError: boom"
