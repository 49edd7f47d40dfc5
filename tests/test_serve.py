"""`bot serve` as a real process: the email links and, with Slack's secrets set, /slack/events."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.slack_server import slack_server
from tests.test_slack_app import SECRET, command_body, sign

BOT_SECRET = "serve-test-secret-0123456789abcdefgh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(workdir, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "SMTP_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=workdir,
        env=clean | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with httpx.Client() as client:
        for _ in range(300):
            try:
                if client.get(f"http://127.0.0.1:{port}/healthz").text == "ok":
                    return proc, port
            except httpx.TransportError:
                time.sleep(0.05)
    proc.kill()
    pytest.fail("bot serve did not answer /healthz: " + proc.communicate()[0])


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out


def test_serve_answers_slack_at_slack_events_when_its_secrets_are_set(workdir):
    with slack_server() as slack:
        config = workdir / "config" / "bot.toml"
        config.write_text(config.read_text() + f'\n[slack]\napi_url = "{slack.api_url}"\n')
        env = {"BOT_SECRET": BOT_SECRET, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
        proc, port = serve(workdir, env)
        try:
            body, _hook = command_body(slack, "help")
            url = f"http://127.0.0.1:{port}/slack/events"
            ok = httpx.post(url, content=body, headers=sign(body))
            forged = httpx.post(url, content=body, headers=sign(body, secret="not-the-secret"))
        finally:
            log = stop(proc)
    assert ok.status_code == 200 and "/papers subscribe" in ok.json()["text"], log
    assert forged.status_code == 401
    assert "Serving the Slack app at /slack/events" in log


def test_serve_without_slack_secrets_serves_the_links_and_says_slack_is_off(workdir):
    proc, port = serve(workdir, {"BOT_SECRET": BOT_SECRET})
    try:
        missing = httpx.post(f"http://127.0.0.1:{port}/slack/events", content="x")
    finally:
        log = stop(proc)
    assert missing.status_code == 404
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set: the Slack app is off" in log
