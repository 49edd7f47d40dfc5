"""A real HTTP server on 127.0.0.1 that plays the Slack Web API for the real slack_sdk client.

It records every call (method, parameters, headers), keeps the messages posted to each channel
(with their metadata, for conversations.history), and can be told to answer the next call of a
method with a failure: a 429 with Retry-After, a 500, a Slack error such as channel_not_found, or
"accept then drop" (the message is stored, then the connection is closed without an answer, the
uncertain failure that makes a naive retry post twice). It also receives response_url posts.

Response bodies follow Slack's documented shapes; the success body of chat.* calls matches
slackapi/python-slack-sdk's fixture (tests/fixtures/slack/web_response_chat_stream_test.json).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "slack"
# {"ok": true, "ts": "123.123"}: python-slack-sdk's own mock success body for chat.* calls.
CHAT_OK = json.loads((FIXTURES / "web_response_chat_stream_test.json").read_text(encoding="utf-8"))
BOT_USER = "UBOT0001"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    # channel id → messages, oldest first
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # method → how to answer its next calls, in order: "ok", "429", "500", "drop_after_accept", or a Slack error code
    failures: dict[str, list[str]] = field(default_factory=dict)
    retry_after: int = 1
    channels: dict[str, str] = field(default_factory=dict)  # id → name, for conversations.list
    socket_mode_url: str = "ws://127.0.0.1:9/unset"  # what apps.connections.open hands out
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def fail_next(self, method: str, *kinds: str) -> None:
        self.failures.setdefault(method, []).extend(kinds)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str) -> list[dict[str, Any]]:
        return self.messages.get(channel, [])

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """(status, body, headers) to answer with; None closes the connection without an answer."""
        with self.lock:
            queue = self.failures.get(method)
            failure = queue.pop(0) if queue else None
            if failure == "ok":  # lets a test script "succeed, then fail"
                failure = None
            if failure == "429":
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self.retry_after)}
            if failure == "500":
                return 500, {"ok": False, "error": "internal_error"}, {}
            if failure and failure != "drop_after_accept":
                return 200, {"ok": False, "error": failure}, {}
            body = self._answer(method, params)
            return None if failure == "drop_after_accept" else (200, body, {})

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "paperbot",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "B0001",
            }
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            message = {
                "type": "message",
                "user": BOT_USER,
                "ts": ts,
                "text": params.get("text", ""),
                "blocks": params.get("blocks", []),
            }
            if params.get("metadata"):
                metadata = params["metadata"]
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            self.messages.setdefault(channel, []).append(message)
            return {**CHAT_OK, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            for message in self.messages.get(channel, []):
                if message["ts"] == params.get("ts"):
                    message.update({k: params[k] for k in ("text", "blocks") if k in params})
                    return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"]}
            return {"ok": False, "error": "message_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "conversations.history":
            newest_first = list(reversed(self.messages.get(channel, [])))[: int(params.get("limit", 100))]
            if params.get("include_all_metadata") not in ("1", "true", True, 1):
                newest_first = [{k: v for k, v in m.items() if k != "metadata"} for m in newest_first]
            return {"ok": True, "messages": newest_first, "has_more": False}
        if method == "conversations.list":
            listed = [{"id": i, "name": n, "is_archived": False} for i, n in self.channels.items()]
            return {"ok": True, "channels": listed, "response_metadata": {"next_cursor": ""}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_mode_url}
        if method == "conversations.join":
            return {"ok": True, "channel": {"id": channel, "is_member": True}}
        if method.startswith("response/"):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}


def _params(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    content_type = handler.headers.get("Content-Type", "")
    if body and "json" in content_type:
        params.update(json.loads(body))
    elif body:
        params.update(parse_qsl(body.decode("utf-8")))
    for key in ("blocks", "metadata"):  # form-encoded calls send these as JSON strings
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


@contextmanager
def slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _serve(self, body: bytes) -> None:
            path = urlsplit(self.path).path
            method = path.removeprefix("/api/") if path.startswith("/api/") else path.lstrip("/")
            params = _params(self, body)
            with fake.lock:
                fake.calls.append(Call(method, params, dict(self.headers.items())))
            answer = fake.handle(method, params)
            if answer is None:
                self.close_connection = True
                return
            status, payload, headers = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
