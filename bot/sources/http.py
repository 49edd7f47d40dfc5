"""The one HTTP client every source fetches through. Takes URLs, hands back bytes; never parses.

It holds what the owners of the places we read ask of us: a User-Agent naming the bot, explicit
timeouts, a minimum interval between requests to one host (arXiv asks for 3 s), retries with
exponential backoff on connection errors, 429 and 5xx that honour `Retry-After`, conditional GET
(ETag / Last-Modified, kept by the caller in the store), and a cap on the body size enforced while
streaming, so a 50 MB answer is dropped after the first 20 MB instead of filling memory. The cap
holds for the bytes each Content-Encoding layer inflates as well, so a kilobyte of gzip in gzip
cannot become 512 MB of zeros before it is counted. Each GET, its retries included, has a deadline
(60 s by default), so a server trickling a byte every few seconds cannot hold a run for minutes.

Every failure becomes a `SourceError` with one line naming the URL and the reason.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from bot import __version__
from bot.errors import SourceError

USER_AGENT = f"paper-digest-bot/{__version__} (self-hosted daily paper digests; python-httpx/{httpx.__version__})"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_RETRIES = 3  # attempts after the first
DEFAULT_BACKOFF = 2.0  # seconds before the first retry, doubled each time
DEFAULT_DEADLINE = 60.0  # seconds one GET may take in all, retries and waits included
#: The encodings we inflate ourselves (see `_inflate`); others are refused rather than read raw.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS | 32}
_INFLATE_STEP = 64 * 1024  # bytes one layer may inflate at a time
MAX_RETRY_AFTER = 300.0  # a server asking us to wait longer than this is treated as down for this run
#: Hosts that ask for a pause between requests, in seconds (arXiv API terms of use: one every 3 s).
DEFAULT_MIN_INTERVAL: Mapping[str, float] = {"export.arxiv.org": 3.0, "arxiv.org": 3.0, "rss.arxiv.org": 3.0}


@dataclass(frozen=True)
class Validators:
    """What a server said identifies the version it sent, to ask next time "only if changed"."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True)
class Response:
    """A successful answer: status 200 with its body, or 304 (not modified) with none."""

    url: str
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retryable(Exception):
    """A failure worth another try; `wait` is what the server asked for (Retry-After), if anything."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class HttpClient:
    """One `httpx.Client` shared by all sources of a run. Clock and sleep are injectable for tests."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        deadline: float = DEFAULT_DEADLINE,
        min_interval: Mapping[str, float] = DEFAULT_MIN_INTERVAL,
        user_agent: str = USER_AGENT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline
        self._timeout = timeout
        self.min_interval = dict(min_interval)
        self._clock = clock
        self._sleep = sleep
        self._last_request: dict[str, float] = {}
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=True,
            max_redirects=5,
            # Every request on a connection of its own, so `_Watchdog` sees (and can shut) its socket.
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        validators: Validators | None = None,
        accept: str | None = None,
        min_interval: float = 0.0,
        error_bodies: bool = False,
    ) -> Response:
        """GET `url`; a 304 is returned (not raised) when `validators` say we have this version.

        `min_interval` (seconds) is kept between requests to the URL's host, on top of the
        client's own per-host table, retries included. With `error_bodies`, a 4xx answer (but 429)
        is returned for the caller to read, for APIs that explain errors in the body (arXiv does).
        """
        headers = validators.headers() if validators else {}
        if accept:
            headers["Accept"] = accept
        expires = self._clock() + self.deadline
        retrying = tenacity.Retrying(
            # No retry whose wait would end past the deadline: it could only fail at it.
            stop=tenacity.stop_after_attempt(self.retries + 1)
            | (lambda state: self._clock() + self._wait(state) >= expires),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, params, headers, min_interval, error_bodies, expires)
        except _Retryable as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            why = f": another would end past the {self.deadline:g}-second deadline" if tries <= self.retries else ""
            raise SourceError(f"{url}: {exc} (gave up after {tries} attempt{'s' if tries > 1 else ''}{why})") from None

    def _past_deadline(self, url: str | httpx.URL) -> SourceError:
        return SourceError(
            f"{url}: no complete answer within the {self.deadline:g}-second deadline ([fetch] deadline_seconds)"
        )

    def _timeouts(self, expires: float) -> httpx.Timeout:
        """The client's timeouts, none running past the deadline."""
        left = max(expires - self._clock(), 0.001)
        t = self._timeout
        return httpx.Timeout(
            connect=min(t.connect or left, left),
            read=min(t.read or left, left),
            write=min(t.write or left, left),
            pool=min(t.pool or left, left),
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "wait", None)
        backoff = self.backoff * 2 ** (state.attempt_number - 1)
        return max(asked, backoff) if asked is not None else backoff

    def _pace(self, url: str, at_least: float) -> None:
        """Wait until the host's minimum interval since our last request to it has passed."""
        host = urlsplit(url).hostname or ""
        interval = max(self.min_interval.get(host, 0.0), at_least)
        last = self._last_request.get(host)
        if interval and last is not None:
            remaining = last + interval - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        self._last_request[host] = self._clock()

    def _get_once(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
        min_interval: float,
        error_bodies: bool,
        expires: float,
    ) -> Response:
        self._pace(url, min_interval)
        if self._clock() >= expires:
            raise self._past_deadline(url)
        watchdog = _Watchdog(expires - self._clock())
        trace = {"trace": watchdog.trace}
        try:
            with (
                watchdog,
                self._client.stream(
                    "GET", url, params=params, headers=headers, timeout=self._timeouts(expires), extensions=trace
                ) as response,
            ):
                return self._answer(url, response, error_bodies, expires)
        except httpx.TimeoutException as exc:
            if watchdog.fired or self._clock() >= expires:
                raise self._past_deadline(url) from None
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.TooManyRedirects as exc:
            raise SourceError(f"{url}: too many redirects") from exc
        except httpx.UnsupportedProtocol as exc:  # a redirect to file:// or ftp://: no retry will change it
            raise SourceError(f"{url}: refused a redirect to a URL that is not http or https ({exc})") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if watchdog.fired:  # it shut the socket
                raise self._past_deadline(url) from None
            raise _Retryable(f"connection failed: {exc or type(exc).__name__}") from exc

    def _answer(self, url: str, response: httpx.Response, error_bodies: bool, expires: float) -> Response:
        """What the status says: a retry, an error, a 304, or the body read within the cap and deadline."""
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                raise SourceError(f"{url}: HTTP {status}; Retry-After asks for {wait:.0f} s, skipped this run")
            raise _Retryable(f"HTTP {status}", wait)
        if status == 304:
            return Response(str(response.url), 304, b"", validators=_validators(response))
        if status >= 400 and not error_bodies:
            raise SourceError(f"{response.url}: HTTP {status} {response.reason_phrase}".rstrip())
        body = self._read_capped(response, expires)
        content_type = response.headers.get("Content-Type", "")
        return Response(
            url=str(response.url),
            status=status,
            body=body,
            content_type=content_type.split(";")[0].strip().lower(),
            charset=response.charset_encoding,
            validators=_validators(response),
        )

    def _read_capped(self, response: httpx.Response, expires: float) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            size = int(declared)
            raise SourceError(f"{response.url}: body of {size:,} bytes is over the {self.max_bytes:,}-byte cap")
        named = (e.strip().lower() for e in response.headers.get("Content-Encoding", "").split(","))
        encodings = [e for e in named if e not in ("", "identity")]
        raw: Iterable[bytes] = response.iter_raw()
        if response.is_stream_consumed:  # an answer made in memory (a MockTransport's): httpx decoded it
            raw, encodings = [response.content], []
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in _decoded(raw, encodings, self.max_bytes):
                size += len(chunk)
                if size > self.max_bytes:
                    raise _OverCap
                if self._clock() >= expires:  # a server trickling bytes never lets a read time out
                    raise self._past_deadline(response.url)
                chunks.append(chunk)
        except _OverCap:
            raise SourceError(f"{response.url}: body is over the {self.max_bytes:,}-byte cap") from None
        except _Undecodable as exc:
            raise SourceError(f"{response.url}: {exc}") from None
        return b"".join(chunks)


class _Watchdog:
    """Shuts the socket of a request still running at its deadline.

    By hand: httpx's timeouts bound each read, not a request, so a server trickling its status line
    and headers a byte at a time trips none (the body is also checked as it streams, in `_read_capped`).
    httpcore's `trace` extension hands over each new connection's stream; keep-alive is off, so
    every request has one.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
            if self.fired:
                self._shut()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _OverCap(Exception):
    """A body, or one of its encoding layers, inflated past the size cap."""


class _Undecodable(Exception):
    """A body in an encoding we do not read, or not valid in the one it names."""


def _decoded(raw: Iterable[bytes], encodings: list[str], cap: int) -> Iterator[bytes]:
    """The body with each Content-Encoding undone, last applied first, every layer lazily and capped.

    By hand, not httpx's decoders: they inflate each received chunk whole, so 1,368 bytes of gzip
    in gzip become 512 MB in memory before any cap sees them.
    """
    stream: Iterable[bytes] = raw
    for name in reversed(encodings):
        if name not in _WBITS:
            raise _Undecodable(f"the body is in an encoding we do not read ({name}); only {ACCEPT_ENCODING} are")
        stream = _inflate(stream, name, cap)
    return iter(stream)


def _inflate(chunks: Iterable[bytes], name: str, cap: int) -> Iterator[bytes]:
    """One layer, never more than `_INFLATE_STEP` bytes at a time nor `cap` in all."""
    inflater = zlib.decompressobj(_WBITS[name])
    total = 0
    try:
        for chunk in chunks:
            data = chunk
            while out := inflater.decompress(data, _INFLATE_STEP):
                total += len(out)
                if total > cap:
                    raise _OverCap
                yield out
                data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise _Undecodable(f"the body is not valid {name} ({exc})") from None


class SourceHttp:
    """What one source sees of the shared client: GETs, with the validators it was given last time.

    Only requests made with `conditional=True` send If-None-Match / If-Modified-Since; the new
    validators of those are collected in `seen` for the caller to store once the listings are safe.
    """

    def __init__(
        self,
        client: HttpClient,
        known: Mapping[str, Validators] | None = None,
        *,
        min_interval: float = 0.0,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.known = dict(known or {})
        self.min_interval = min_interval
        self.on_request = on_request  # told each URL before it is fetched, for progress displays
        self.seen: dict[str, Validators] = {}

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        conditional: bool = False,
        accept: str | None = None,
        error_bodies: bool = False,
    ) -> Response:
        # Merged, not replaced: a configured URL may carry its own query (an API key, a filter).
        full = str(httpx.URL(url).copy_merge_params(params)) if params else url
        validators = self.known.get(full) if conditional else None
        if self.on_request:
            self.on_request(full)
        response = self.client.get(
            full, validators=validators, accept=accept, min_interval=self.min_interval, error_bodies=error_bodies
        )
        if conditional:
            kept = validators if response.not_modified and validators else response.validators
            if kept.etag or kept.last_modified:
                self.seen[full] = kept
        return response


def _validators(response: httpx.Response) -> Validators:
    return Validators(etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified"))


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)
