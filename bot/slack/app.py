"""The Slack door: a slack_bolt App whose handlers are served two ways.

- Socket Mode (`bot slack`, needs `SLACK_APP_TOKEN`): the bot dials out to Slack, no public endpoint.
- HTTP mode: `slack_routes(config)` gives Starlette routes for `/slack/events`, for `bot serve`;
  every request is verified with `SLACK_SIGNING_SECRET` before bolt sees it: a missing or bad
  signature, or a timestamp more than 5 minutes off or no number, gets a 401, and its body is never logged.

`/papers` is acknowledged at once; the work (database, ranking for `preview`) runs in a bolt lazy
listener after the ack, and the answer goes back through the command's response_url. Usage replies
for malformed input come straight in the ack. Button clicks are acknowledged first, then recorded
with `Store.record_feedback` (voter `slack:<user id>`, via `slack`) and thanked with an ephemeral
message. "More like this" is a 👍 that also adds the paper to the profile's example papers: the
vote can be outweighed by others' 👎, the example stays until someone edits the profile.

What the commands do is `bot.slack.commands`; this module only wires Slack to it.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.config import Config
from bot.errors import BotError, ConfigError, ProfileError
from bot.flow.pipeline import Pipeline
from bot.notify.slack import make_client
from bot.profile_rules import validate_profile
from bot.render.slack import ACTION_DOWN, ACTION_MORE, ACTION_UP, escape_mrkdwn, parse_button_value
from bot.slack.commands import Reply, Where, immediate, parse, run
from bot.store import Store

COMMAND = "/papers"
# Bot scopes the app needs beyond the notifier's (bot.notify.slack.SCOPES).
SCOPES = ("commands", "channels:join")
EVENTS_PATH = "/slack/events"
VOTES = {ACTION_UP: 1, ACTION_DOWN: -1, ACTION_MORE: 1}

log = logging.getLogger(__name__)


def missing_secrets(mode: str) -> str | None:
    """One line naming the environment variables this mode ("socket" or "http") lacks, or None."""
    needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if mode == "socket" else "SLACK_SIGNING_SECRET"]
    missing = [name for name in needed if not os.environ.get(name, "").strip()]
    if not missing:
        return None
    verb = "is" if len(missing) == 1 else "are"
    return f"{' and '.join(missing)} {verb} not set: the Slack app is off (see README.md, Slack)"


def create_app(
    config: Config,
    *,
    token: str,
    signing_secret: str | None = None,
    store: Store | None = None,
    client: WebClient | None = None,
) -> App:
    """The bolt App with the `/papers` command and the paper buttons registered.

    With a signing secret, requests are verified (HTTP mode); without one, only Socket Mode can
    serve it (Slack's own connection authenticates those).
    """
    from slack_bolt.error import BoltError

    client = client or make_client(token, config.slack.api_url)
    try:
        app = _app(client, signing_secret)
    except BoltError as exc:  # bolt's auth.test refused the token
        cause = exc.__context__
        code = cause.response.get("error") if isinstance(cause, SlackApiError) else exc
        raise ConfigError(f"Slack refused SLACK_BOT_TOKEN: {code}") from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise BotError(f"cannot reach Slack at {client.base_url}: {exc}") from exc
    register(app, Pipeline.from_config(config, store or Store(config.store.url)))
    return app


class _NotTheTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN by itself and warns that our client (pointed at [slack] api_url,
    with our retry handlers) takes precedence; that is the intent, so the warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_bolt_log = logging.getLogger("bot.slack.app.bolt")
_bolt_log.addFilter(_NotTheTokenWarning())


def _app(client: WebClient, signing_secret: str | None) -> App:
    return App(
        logger=_bolt_log,
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        # auth.test once at start: a wrong token fails here, in one line, not on the first click.
        token_verification_enabled=True,
        ssl_check_enabled=bool(signing_secret),
        url_verification_enabled=bool(signing_secret),
        process_before_response=False,
    )


def register(app: App, pipeline: Pipeline) -> None:
    """Attach the handlers; the same ones serve Socket Mode and HTTP mode."""

    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        if reply := immediate(text):  # help, or unknown input: the usage, straight in the ack
            ack(**reply.payload())
        elif parse(text)[0] == "preview":
            ack(text="Ranking the latest papers for this channel…", response_type="ephemeral")
        else:
            ack()

    def do_command(command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
        text = command.get("text", "")
        parsed = parse(text)
        if isinstance(parsed, Reply) or immediate(text):
            return  # already answered in the ack
        where = Where(
            channel_id=command.get("channel_id", ""),
            channel_name=command.get("channel_name", ""),
            user_id=command.get("user_id", ""),
        )
        try:
            reply = run(pipeline, text, where, now=datetime.now(UTC))
        except Exception:  # the person must hear back even when something unforeseen breaks
            log.exception("/papers %r failed", text)
            reply = Reply("Sorry, that failed on my side; the bot's log has the details.")
        if parsed[0] == "subscribe" and reply.public:
            reply = _join(client, where.channel_id, context.bot_user_id, reply)
        respond(**reply.payload())

    app.command(COMMAND)(ack=ack_command, lazy=[do_command])

    for action_id in VOTES:
        app.action(action_id)(_vote_handler(pipeline.store, action_id))


def _join(client: WebClient, channel: str, bot_user: str | None, reply: Reply) -> Reply:
    """Join the channel, so digests can be posted and the history read there (channels:join).

    A private channel cannot be joined by the bot itself: the reply asks for an invitation.
    """
    try:
        client.conversations_join(channel=channel)
        return reply
    except SlackApiError as exc:
        log.info("conversations.join %s: %s", channel, exc.response.get("error"))
    who = f"<@{bot_user}>" if bot_user else "the bot"
    return replace(reply, text=f"{reply.text}\nOne more step: invite me with `/invite` {who}, so I can post here.")


def _vote_handler(store: Store, action_id: str) -> Callable[..., None]:
    def on_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's 3 seconds; the rest happens after
        parsed = parse_button_value(action.get("value", ""))
        user = (body.get("user") or {}).get("id", "")
        if parsed is None or not user:
            respond(text="I couldn't read that button.", response_type="ephemeral", replace_original=False)
            return
        profile_name, listing_id = parsed
        try:
            profile = store.profile(profile_name)
            store.record_feedback(profile, listing_id, VOTES[action_id], voter=f"slack:{user}", via="slack")
            if action_id == ACTION_MORE and listing_id not in profile.likes:
                store.save_profile(validate_profile(replace(profile, likes=[*profile.likes, listing_id])))
        except ProfileError as exc:
            respond(text=f"Not recorded: {escape_mrkdwn(str(exc))}", response_type="ephemeral", replace_original=False)
            return
        except Exception:  # the person must hear back even when something unforeseen breaks
            log.exception("recording %s on %s for %s failed", action_id, listing_id, profile_name)
            respond(text="Sorry, that vote failed on my side.", response_type="ephemeral", replace_original=False)
            return
        thanks = {
            ACTION_UP: "👍 counted",
            ACTION_DOWN: "👎 counted",
            ACTION_MORE: "Got it: more like this one",
        }[action_id]
        respond(
            text=f"{thanks}, <@{user}>. Later digests for `{profile_name}` will take it into account.",
            response_type="ephemeral",
            replace_original=False,
        )

    on_click.__name__ = f"on_{action_id}"
    return on_click


def slack_routes(config: Config) -> list[Any]:
    """Starlette routes serving the Slack app over HTTP at /slack/events, for `bot serve` to mount.

    Raises ConfigError (one line) when SLACK_BOT_TOKEN or SLACK_SIGNING_SECRET is missing; call
    `missing_secrets("http")` first to leave Slack off instead.
    """
    if note := missing_secrets("http"):
        raise ConfigError(note)
    secret = os.environ["SLACK_SIGNING_SECRET"]
    app = create_app(config, token=os.environ["SLACK_BOT_TOKEN"].strip(), signing_secret=secret)
    return [events_route(app, secret)]


def events_route(bolt: App, signing_secret: str) -> Any:
    """The Starlette route of `bolt` at /slack/events; a request without Slack's signature gets a 401
    before bolt sees it, since bolt would log its whole body and answer 500 to a timestamp that is no number."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if not _signed(verifier, body, request.headers):
            log.info("refused a request to %s: no valid Slack signature", EVENTS_PATH)
            return JSONResponse({"error": "invalid request"}, status_code=401)
        # bolt's App is synchronous; dispatching in a worker thread keeps the event loop free for other requests.
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return Route(EVENTS_PATH, slack_events, methods=["POST"])


def _signed(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    try:
        return verifier.is_valid(body.decode("utf-8"), timestamp, signature)
    except ValueError:  # a timestamp that is no number, or a body that is no UTF-8 (UnicodeDecodeError)
        return False


def serve_socket_mode(
    config: Config, *, on_connected: Callable[[str], None] = print, stop: threading.Event | None = None
) -> None:
    """Connect to Slack over Socket Mode and serve until interrupted (`bot slack`) or `stop` is set."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if note := missing_secrets("socket"):
        raise ConfigError(note)
    token, app_token = os.environ["SLACK_BOT_TOKEN"].strip(), os.environ["SLACK_APP_TOKEN"].strip()
    app = create_app(config, token=token)
    handler = SocketModeHandler(app, app_token, web_client=make_client(app_token, config.slack.api_url))
    try:
        handler.connect()
    except SlackApiError as exc:  # apps.connections.open refused SLACK_APP_TOKEN
        raise ConfigError(f"Slack refused SLACK_APP_TOKEN: {exc.response.get('error')}") from exc
    on_connected(f"Connected to Slack over Socket Mode: {COMMAND} and the digest buttons are live. Ctrl+C stops.")
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        handler.close()
