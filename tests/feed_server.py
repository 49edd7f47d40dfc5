"""A real HTTP server on 127.0.0.1 (port 0) that plays the places sources read: recorded bodies,
error statuses, slow answers, endless bodies, bodies trickled a byte at a time, 429 with Retry-After,
and 304 for a known ETag.

`server.serve(path, Reply(...), Reply(...))` answers the path's requests with those replies in
turn, the last one for every request after; every request is kept in `server.requests`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    repeat: int = 1  # send the body this many times, without Content-Length (a stream with no declared end)
    trickle: float = 0.0  # seconds between the body's bytes, sent one at a time
    trickle_headers: bool = False  # with `trickle`, the status line and headers too (and no body)


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, path: str) -> Reply | None:
        with self._lock:
            replies = self.routes.get(path)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers.items())))
                reply = server._next(parts.path) or Reply(404, b"<html><title>Not found</title></html>")
                # The client may hang up (a timeout or a size cap): that is what such a test wants.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.trickle_headers:
                    self._write(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 1000 + b"\r\n\r\n", reply.trickle)
                    return
                etag = reply.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.repeat == 1:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                for _ in range(reply.repeat):
                    self._write(reply.body, reply.trickle)

            def _write(self, body: bytes, trickle: float) -> None:
                if not trickle:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(trickle)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
