"""Slack: post a rendered digest (one or more chat.postMessage payloads) with slack_sdk's WebClient.

Takes a `Delivery` whose `slack` payloads carry the channel; hands back a receipt naming the channel
and the message timestamps, or raises `DeliveryError`.

Never twice: chat.postMessage has no idempotency key, and an answer lost after Slack accepted the
message (a dropped connection, a 5xx) leaves us unsure whether it was posted. So every message
carries Slack message `metadata` with the digest id and its part number, and before posting a
digest (and again before re-posting a part after an uncertain failure) the notifier reads the
channel's recent history with `include_all_metadata` and skips the parts already there. This also
covers a crash between posting and recording the delivery. Scopes: `chat:write` to post,
`channels:history` (public channels) or `groups:history` (private channels) to read history, and
`channels:read` / `groups:read` to turn a profile's `#name` into the channel id history needs; the
bot must be a member of the channel.

Retries: a 429 is retried by slack_sdk's `RateLimitErrorRetryHandler`, which sleeps `Retry-After`.
Reads (conversations.history) are also retried on 5xx and connection errors; posts are not retried
by slack_sdk (its connection-error retry is what posts twice) but by the loop here, which looks
before it posts again. Errors that a retry cannot fix (channel_not_found, not_in_channel,
invalid_auth, missing_scope, ...) raise `DeliveryError(temporary=False)` at once.
"""

from __future__ import annotations

import http.client
import re
import time
from typing import Any, ClassVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import ChannelDown, DeliveryError
from bot.notify.base import Delivery, Notifier

DEFAULT_API_URL = "https://slack.com/api/"
# Bot scopes the notifier needs (config/manifest.yml lists them; a test keeps the two in step).
SCOPES = ("chat:write", "channels:history", "groups:history", "channels:read", "groups:read")
METADATA_EVENT = "paper_digest_posted"  # the event_type of our message metadata
LIST_PAGE = 200  # channels per conversations.list page, Slack's recommended size
HISTORY_LIMIT = 200  # messages read back when looking for an earlier post (Slack's recommended page size)
RATE_LIMIT_RETRIES = 5  # 429s honoured in a row before the delivery waits for the next run
POST_ATTEMPTS = 3  # tries per message when the answer is lost (5xx, dropped connection)
BACKOFF_SECONDS = 2.0  # first pause after an uncertain failure; doubles each time
TIMEOUT_SECONDS = 30

# Slack errors a later run can succeed after; every other error code is permanent (not retried in a
# loop, the digest is marked failed with the error so someone can fix the cause).
TEMPORARY_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
HINTS = {
    "channel_not_found": "check the profile's Slack channel; for a private channel, invite the bot first",
    "not_in_channel": "invite the bot to the channel (/invite @Paper digest)",
    "invalid_auth": "check SLACK_BOT_TOKEN (a bot token, xoxb-...)",
    "not_authed": "set SLACK_BOT_TOKEN",
    "token_revoked": "the app was uninstalled or its token revoked: reinstall it and update SLACK_BOT_TOKEN",
    "missing_scope": "add the scope to the app (see config/manifest.yml) and reinstall it",
    "is_archived": "the channel is archived",
}
_POSTING_METHODS = ("chat.postMessage",)
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_UNCERTAIN = (URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def _unreachable(exc: BaseException) -> bool:
    """No connection to Slack could be made at all (refused, timed out, no such host): every other
    digest would fail the same way, so the run leaves them for the next one."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    # A connection that was made and then dropped is not "down": this digest alone is retried.
    return isinstance(reason, OSError) and not isinstance(reason, ConnectionResetError | BrokenPipeError)


def _read_failed(exc: BaseException, text: str) -> DeliveryError:
    """A read (before anything is posted) that got no answer: the channel is down when no connection
    could be made, else a temporary failure of this digest."""
    return ChannelDown(text) if _unreachable(exc) else DeliveryError(text, temporary=True)


class _ReadsOnly(RetryHandler):
    """Wraps a retry handler so it never retries a call that posts: resending a post whose answer was
    lost could post it twice. Those are retried by `SlackNotifier._post`, which looks first."""

    def __init__(self, inner: RetryHandler) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self.inner = inner

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith(_POSTING_METHODS):
            return False
        return self.inner._can_retry(state=state, request=request, response=response, error=error)


def make_client(token: str, api_url: str = DEFAULT_API_URL, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    """A WebClient that honours 429 Retry-After on every call and retries only reads on 5xx and lost answers."""
    return WebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            _ReadsOnly(ServerErrorRetryHandler(max_retry_count=2)),
            _ReadsOnly(ConnectionErrorRetryHandler(max_retry_count=2)),
        ],
    )


def slack_error(exc: SlackApiError, doing: str) -> DeliveryError:
    """A DeliveryError for a Slack error answer, with a hint, temporary only when a retry can help."""
    code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    if code == "missing_scope" and exc.response.get("needed"):
        code += f" (needs {exc.response['needed']})"
    hint = HINTS.get(code.split(" ")[0])
    message = f"Slack refused {doing}: {code}" + (f": {hint}" if hint else "")
    temporary = exc.response.status_code >= 500 or exc.response.status_code == 429 or code in TEMPORARY_ERRORS
    return DeliveryError(message, temporary=temporary)


class SlackNotifier(Notifier):
    """Posts each payload of a digest to its channel, in order, never posting a part twice."""

    channels: ClassVar[tuple[str, ...]] = ("slack",)

    def __init__(
        self,
        client: WebClient,
        *,
        post_attempts: int = POST_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
        history_limit: int = HISTORY_LIMIT,
    ) -> None:
        self.client = client
        self.post_attempts = post_attempts
        self.backoff_seconds = backoff_seconds
        self.history_limit = history_limit
        self._ids: dict[str, str] | None = None  # channel name → id, read once per notifier

    def send(self, delivery: Delivery) -> str:
        if not delivery.slack:
            raise DeliveryError(f"digest {delivery.digest_id} has no Slack messages to post", temporary=False)
        given = delivery.slack[0].get("channel")
        if not given:
            raise DeliveryError(f"profile {delivery.profile} has no Slack channel", temporary=False)
        channel = self._channel_id(given)
        total = len(delivery.slack)
        posted = self._already_posted(channel, delivery)
        for part, payload in enumerate(delivery.slack, start=1):
            if part not in posted:
                posted[part] = self._post(channel, payload, delivery, part, total)
        stamps = ", ".join(posted[p] for p in range(1, total + 1))
        return f"Slack {channel} ({total} message{'s' if total != 1 else ''}: ts {stamps})"

    def _channel_id(self, channel: str) -> str:
        """The channel's id: conversations.history takes only ids, while a profile may name `#papers`."""
        if _CHANNEL_ID.match(channel):
            return channel
        name = channel.removeprefix("#").casefold()
        if self._ids is None:
            self._ids = {}
            try:
                # The client's iterator follows Slack's cursor pagination.
                for page in self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=LIST_PAGE
                ):
                    self._ids.update({c["name"].casefold(): c["id"] for c in page.get("channels") or []})
            except SlackApiError as exc:
                self._ids = None
                raise slack_error(exc, "listing channels to find " + channel) from exc
            except _UNCERTAIN as exc:
                self._ids = None
                raise _read_failed(exc, f"cannot list Slack channels to find {channel}: {exc}") from exc
        if name not in self._ids:
            raise DeliveryError(
                f"no Slack channel {channel} that the bot can see: check the name, or give the channel id "
                "(C…, from the channel's details); a private channel must invite the bot first",
                temporary=False,
            )
        return self._ids[name]

    def _post(self, channel: str, payload: dict[str, Any], delivery: Delivery, part: int, total: int) -> str:
        fields = {k: v for k, v in payload.items() if k != "channel"}
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {**_identity(delivery), "part": part, "parts": total},
        }
        digest_id = delivery.digest_id
        last_error = ""
        for attempt in range(1, self.post_attempts + 1):
            if attempt > 1:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 2))
                # The last answer was lost: Slack may have posted it. Look before posting again.
                if found := self._already_posted(channel, delivery).get(part):
                    return found
            try:
                response = self.client.chat_postMessage(channel=channel, metadata=metadata, **fields)
                return str(response["ts"])
            except SlackApiError as exc:
                if exc.response.status_code < 500:
                    raise slack_error(exc, f"message {part} of digest {digest_id} in {channel}") from exc
                last_error = f"HTTP {exc.response.status_code}"
            except _UNCERTAIN as exc:
                last_error = f"{type(exc).__name__}: {exc}"
        raise DeliveryError(
            f"Slack did not confirm message {part} of digest {digest_id} in {channel} after "
            f"{self.post_attempts} attempts ({last_error}); the next run looks for it before posting again",
            temporary=True,
        )

    def _already_posted(self, channel: str, delivery: Delivery) -> dict[int, str]:
        """Part number → ts of this digest's messages already in the channel's recent history."""
        try:
            response = self.client.conversations_history(
                channel=channel, limit=self.history_limit, include_all_metadata=True
            )
        except SlackApiError as exc:
            raise slack_error(exc, f"reading the history of {channel}") from exc
        except _UNCERTAIN as exc:
            raise _read_failed(exc, f"cannot read the history of {channel}: {exc}") from exc
        identity = _identity(delivery).items()
        found: dict[int, str] = {}
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and identity <= payload.items():
                found.setdefault(int(payload.get("part", 1)), str(message["ts"]))
        return found


def _identity(delivery: Delivery) -> dict[str, Any]:
    # Digest ids restart with a new database; with the profile and period beside it, a digest from
    # an earlier install can never be taken for this one.
    return {"digest_id": delivery.digest_id, "profile": delivery.profile, "period": delivery.period}
