"""The Slack app: `/papers` and the paper buttons, driven by signed requests as Slack sends them.

Bolt dispatches them for real (signature check, ack, lazy listeners); its Web API client and every
response_url point at the local server playing Slack, which records what the app said back.
"""

import hashlib
import hmac
import html
import json
import logging
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from slack_bolt import BoltRequest
from starlette.applications import Starlette

from bot.config import Config, RankConfig, StoreConfig, load_config
from bot.errors import ConfigError
from bot.models import Profile
from bot.notify.slack import make_client
from bot.render.slack import ACTION_DOWN, ACTION_MORE, ACTION_UP, button_value, parse_button_value
from bot.slack.app import create_app, events_route, missing_secrets, slack_routes
from bot.slack.commands import USAGE, profile_name
from bot.store import Store
from tests.asgi_server import serve_in_thread
from tests.slack_server import BOT_USER, TEAM

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0123456789"
PROFILE = "slack-c0123456789"


@pytest.fixture
def db(tmp_path, seed_listings):
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings(seed_listings)
        yield store


@pytest.fixture
def app(slack, db, tmp_path):
    config = Config(store=StoreConfig(url=db.url), rank=RankConfig(model_path=str(tmp_path / "text-model.joblib")))
    return create_app(
        config, token="xoxb-test", signing_secret=SECRET, store=db, client=make_client("xoxb-test", slack.api_url)
    )


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
        "content-type": "application/x-www-form-urlencoded",
    }


def command_body(slack, text: str, channel: str = CHANNEL, channel_name: str = "papers") -> tuple[str, str]:
    hook = f"response/{uuid.uuid4().hex}"
    body = urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": "U0USER1",
            "command": "/papers",
            "text": text,
            "response_url": slack.url + hook,
            "trigger_id": "1.2.3",
            "api_app_id": "A0001",
        }
    )
    return body, hook


def wait_for(slack, hook: str, timeout: float = 30.0):
    """The response_url post the lazy listener makes after the ack (waits, asserts nothing on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if calls := slack.called(hook):
            return calls[0].params
        time.sleep(0.01)
    raise AssertionError(f"no response posted to {hook}")


def papers(app, slack, text: str, **where):
    """Run `/papers TEXT`: (the ack's HTTP status and body, the later response_url post or None)."""
    body, hook = command_body(slack, text, **where)
    response = app.dispatch(BoltRequest(body=body, headers=sign(body)))
    ack = json.loads(response.body) if response.body else {}
    return response.status, ack, (wait_for(slack, hook) if not ack.get("text") or "Ranking" in ack["text"] else None)


def click(app, slack, action_id: str, value: str, user: str = "U0USER1"):
    hook = f"response/{uuid.uuid4().hex}"
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM},
        "team": {"id": TEAM},
        "api_app_id": "A0001",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
        "trigger_id": "1.2.3",
        "response_url": slack.url + hook,
        "actions": [
            {"type": "button", "action_id": action_id, "block_id": "paper-1", "value": value, "action_ts": "1.0"}
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    response = app.dispatch(BoltRequest(body=body, headers=sign(body)))
    assert response.status == 200
    return wait_for(slack, hook)


def subscribed(app, slack, db, keywords="speculative decoding, draft model"):
    status, _ack, reply = papers(app, slack, f"subscribe {keywords}")
    assert status == 200 and reply["response_type"] == "in_channel"
    return db.profile(PROFILE)


# /papers -------------------------------------------------------------------------------------


def test_bolt_checked_the_token_with_auth_test_on_the_local_server(app, slack):
    (call,) = slack.called("auth.test")
    assert call.headers["Authorization"] == "Bearer xoxb-test"


def test_subscribe_creates_the_channels_profile_and_says_what_and_when(app, slack, db):
    status, ack, reply = papers(app, slack, "subscribe speculative decoding, draft model")
    assert status == 200 and ack == {}
    profile = db.profile(PROFILE)
    assert profile.slack_channel == CHANNEL and profile.keywords == ["speculative decoding", "draft model"]
    assert reply["text"].startswith(
        "Subscribed. This channel gets up to 10 new papers matching *speculative decoding*, *draft model*, "
        "every day at 08:00 (UTC)."
    )
    assert slack.called("conversations.join")[0].params["channel"] == CHANNEL
    assert "invite" not in reply["text"]


def test_subscribe_again_extends_the_keywords(app, slack, db):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "subscribe Draft Model, tree attention")
    assert reply["text"].startswith("Keywords added.")
    assert db.profile(PROFILE).keywords == ["speculative decoding", "draft model", "tree attention"]


def test_keywords_and_excluded_words_that_can_never_match_are_refused(app, slack, db):
    _, _, reply = papers(app, slack, "subscribe C++")
    assert reply["text"].startswith("Not changed: keyword 'C++' can never match a paper")
    assert db.profiles() == []
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "exclude IT")
    assert reply["text"].startswith("Not changed: excluded word 'IT' can never match a paper")
    assert db.profile(PROFILE).exclude == []


def test_subscribe_in_a_private_channel_asks_for_an_invitation(app, slack, db):
    slack.fail_next("conversations.join", "method_not_supported_for_channel_type")
    _, _, reply = papers(app, slack, "subscribe decoding")
    assert reply["text"].endswith(f"One more step: invite me with `/invite` <@{BOT_USER}>, so I can post here.")
    assert db.profile(PROFILE).slack_channel == CHANNEL


def test_a_profile_made_at_the_terminal_for_this_channel_is_extended_not_duplicated(app, slack, db):
    db.save_profile(Profile(name="decoding", keywords=["decoding"], slack_channel="#papers", email="a@example.org"))
    _, _, reply = papers(app, slack, "subscribe draft model", channel_name="papers")
    assert reply["text"].startswith("Keywords added.")
    assert [p.name for p in db.profiles()] == ["decoding"]
    assert db.profile("decoding").keywords == ["decoding", "draft model"]
    _, _, reply = papers(app, slack, "unsubscribe", channel_name="papers")
    kept = db.profile("decoding")  # it also mails someone: only Slack stops
    assert kept.slack_channel is None and kept.email == "a@example.org"


def test_show_tells_what_the_channel_gets(app, slack, db):
    _, _, reply = papers(app, slack, "show")
    assert reply == {
        "text": "This channel has no subscription. Start one with `/papers subscribe KEYWORDS`.",
        "response_type": "ephemeral",
    }
    subscribed(app, slack, db)
    papers(app, slack, "exclude survey")
    _, _, reply = papers(app, slack, "show")
    assert reply["response_type"] == "ephemeral"
    assert "matching *speculative decoding*, *draft model*" in reply["text"]
    assert "Excluded: *survey*" in reply["text"] and f"Profile `{PROFILE}`" in reply["text"]


def test_like_takes_an_arxiv_id_or_url(app, slack, db):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "like https://arxiv.org/abs/2403.09612v2")
    assert reply["text"].startswith("Noted: digests here will favour papers like arXiv 2403.09612.")
    papers(app, slack, "like 2401.00001")
    assert db.profile(PROFILE).likes == ["arxiv:2403.09612", "arxiv:2401.00001"]


@pytest.mark.parametrize("text", ["like", "like not-a-paper", "like 2403.09612 2401.00001"])
def test_like_without_one_arxiv_id_gets_the_usage(app, slack, db, text):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, text)
    assert reply["text"].startswith("Give one arXiv id or link") and USAGE in reply["text"]
    assert db.profile(PROFILE).likes == []


def test_exclude_adds_a_word_and_refuses_a_keyword(app, slack, db):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "exclude survey")
    assert reply["text"] == "Excluded *survey*: papers that mention it sink."
    _, _, reply = papers(app, slack, "exclude draft model")
    assert reply["text"] == "Not changed: 'draft model' is both a keyword and excluded"
    assert db.profile(PROFILE).exclude == ["survey"]


def test_schedule_changes_when_digests_come(app, slack, db):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "schedule weekly 18:30 Europe/Berlin")
    assert reply["text"].endswith("once a week at 18:30 (Europe/Berlin).")
    stored = db.profile(PROFILE)
    assert (stored.schedule, stored.send_at, stored.tz) == ("weekly", "18:30", "Europe/Berlin")
    _, _, reply = papers(app, slack, "schedule daily 07:00")
    assert db.profile(PROFILE).tz == "Europe/Berlin" and db.profile(PROFILE).schedule == "daily"


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("schedule daily 25:00 UTC", "Not changed: invalid time '25:00'"),
        ("schedule daily 08:00 Mars/Olympus", "Not changed: unknown time zone 'Mars/Olympus'"),
        ("schedule monthly 08:00 UTC", "Say how often and when"),
        ("schedule", "Say how often and when"),
    ],
)
def test_a_bad_schedule_is_refused_in_one_line(app, slack, db, text, start):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, text)
    assert reply["text"].startswith(start)
    assert db.profile(PROFILE).schedule == "daily" and db.profile(PROFILE).send_at == "08:00"


def test_preview_shows_the_top_five_only_to_the_asker(app, slack, db):
    subscribed(app, slack, db, "speculative decoding, draft model, parallel decoding")
    status, ack, reply = papers(app, slack, "preview")
    assert status == 200 and ack["response_type"] == "ephemeral" and ack["text"].startswith("Ranking")
    assert reply["response_type"] == "ephemeral"
    sections = [b for b in reply["blocks"] if b["type"] == "section"][1:]
    assert 1 <= len(sections) <= 5
    assert "decoding" in sections[0]["text"]["text"].lower()
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {e["action_id"] for e in buttons} == {ACTION_UP, ACTION_DOWN, ACTION_MORE}
    assert db.digest_summaries() == []  # a preview sends and records nothing


def test_preview_is_the_digest_preview_and_skips_papers_already_sent(workdir, bot, slack):
    """`/papers preview` and `bot digest --preview` are one ranking: once a digest has gone out,
    both show the same next papers for the channel's profile, in the same order, and none already sent."""
    assert bot("fetch").exit_code == 0
    config = load_config(str(workdir / "config" / "bot.toml"))
    with Store(config.store.url) as store:
        client = make_client("xoxb-test", slack.api_url)
        app = create_app(config, token="xoxb-test", signing_secret=SECRET, store=store, client=client)
        subscribed(app, slack, store, "speculative decoding, draft model, parallel decoding")
        assert bot("profile", "edit", PROFILE, "--top", "3").exit_code == 0
        assert bot("digest", "--profile", PROFILE).exit_code == 0  # to the outbox: no SLACK_BOT_TOKEN here
        sent = store.sent_listing_ids(store.profile(PROFILE).id)
        assert len(sent) == 3
        assert bot("profile", "edit", PROFILE, "--top", "5").exit_code == 0

        _, _, reply = papers(app, slack, "preview")
        buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        in_slack = [parse_button_value(e["value"])[1] for e in buttons if e["action_id"] == ACTION_UP]
        assert bot("digest", "--profile", PROFILE, "--preview", "--out", "preview.html").exit_code == 0
        page = (workdir / "preview.html").read_text("utf-8")
        by_id = {listing.id: listing for listing in store.listings(ids=in_slack)}

    assert len(in_slack) == 5 and not set(in_slack) & sent
    # Each paper's heading: its number, then its title (cut with "…" when very long).
    headings = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", h)).split())
        for h in re.findall(r'<h2 class="title"[^>]*>(.*?)</h2>', page, re.S)
    ]
    assert len(headings) == 5
    for number, (heading, listing_id) in enumerate(zip(headings, in_slack, strict=True), start=1):
        shown = heading.removeprefix(f"{number}. ").removesuffix("…")
        assert by_id[listing_id].title.startswith(shown), (number, heading, by_id[listing_id].title)


def test_preview_before_subscribing_says_how_to_start(app, slack, db):
    _, _, reply = papers(app, slack, "preview")
    assert reply["text"] == "Subscribe this channel first: `/papers subscribe KEYWORDS`."


@pytest.mark.parametrize("text", ["help", "", "   "])
def test_help_is_the_usage_right_in_the_ack(app, slack, db, text):
    status, ack, reply = papers(app, slack, text)
    assert status == 200 and ack == {"text": USAGE, "response_type": "ephemeral"} and reply is None


@pytest.mark.parametrize("text", ["frobnicate", "SUBSCRIBEX decoding", "<!channel> hi", "🙂"])
def test_unknown_input_gets_a_short_usage_never_an_error(app, slack, db, text):
    status, ack, reply = papers(app, slack, text)
    assert status == 200 and reply is None
    assert ack["text"].startswith("I don't know `") and ack["text"].endswith(USAGE)
    assert "<!channel>" not in ack["text"]


@pytest.mark.parametrize("text", ["subscribe", "subscribe  , ,", "exclude", "exclude ,"])
def test_a_subcommand_without_its_argument_gets_the_usage(app, slack, db, text):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, text)
    assert USAGE in reply["text"]


def test_unsubscribe_stops_the_digests(app, slack, db):
    subscribed(app, slack, db)
    _, _, reply = papers(app, slack, "unsubscribe")
    assert reply["response_type"] == "in_channel" and reply["text"].startswith("Unsubscribed: no more digests here")
    assert db.profiles() == []
    _, _, reply = papers(app, slack, "unsubscribe")
    assert reply["text"].startswith("This channel has no subscription.")


def test_profile_names_come_from_the_channel_id():
    assert profile_name("C0123456789") == "slack-c0123456789"
    assert profile_name("G01AB_cd") == "slack-g01ab_cd"


# buttons ------------------------------------------------------------------------------------


def test_votes_are_recorded_per_user_and_thanked_privately(app, slack, db):
    profile = subscribed(app, slack, db)
    listing = db.listings()[0].id
    reply = click(app, slack, ACTION_UP, button_value(PROFILE, listing), user="U1")
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] in (False, "false")
    assert reply["text"].startswith("👍 counted, <@U1>.")
    assert db.feedback_votes(profile) == {listing: 1}
    click(app, slack, ACTION_DOWN, button_value(PROFILE, listing), user="U2")
    assert db.feedback_votes(profile) == {listing: 0}
    click(app, slack, ACTION_DOWN, button_value(PROFILE, listing), user="U1")  # U1 changes their mind
    assert db.feedback_votes(profile) == {listing: -2}


def test_more_like_this_is_an_up_vote_and_an_example_paper(app, slack, db):
    profile = subscribed(app, slack, db)
    listing = db.listings()[1].id
    reply = click(app, slack, ACTION_MORE, button_value(PROFILE, listing), user="U7")
    assert reply["text"].startswith("Got it: more like this one, <@U7>.")
    assert db.feedback_votes(profile) == {listing: 1}
    assert db.profile(PROFILE).likes == [listing]
    click(app, slack, ACTION_MORE, button_value(PROFILE, listing), user="U8")
    assert db.profile(PROFILE).likes == [listing]


def test_a_click_for_a_profile_that_is_gone_or_a_strange_value_records_nothing(app, slack, db):
    listing = db.listings()[0].id
    reply = click(app, slack, ACTION_UP, button_value("slack-cgone", listing))
    assert reply["text"] == "Not recorded: no profile named 'slack-cgone' (see `bot profile list`)"
    reply = click(app, slack, ACTION_UP, "not json")
    assert reply["text"] == "I couldn't read that button."
    profile = subscribed(app, slack, db)
    reply = click(app, slack, ACTION_UP, button_value(PROFILE, "arxiv:9999.99999"))
    assert reply["text"].startswith("Not recorded: unknown listing id 'arxiv:9999.99999'")
    assert db.feedback_votes(profile) == {}


# signatures -----------------------------------------------------------------------------------


def test_a_bad_signature_is_refused_with_401(app, slack, db):
    body, hook = command_body(slack, "subscribe decoding")
    response = app.dispatch(BoltRequest(body=body, headers=sign(body, secret="not-the-secret")))
    assert response.status == 401
    assert db.profiles() == [] and slack.called(hook) == []


def test_a_stale_timestamp_is_refused_with_401(app, slack, db):
    body, _ = command_body(slack, "subscribe decoding")
    response = app.dispatch(BoltRequest(body=body, headers=sign(body, timestamp=int(time.time()) - 6 * 60)))
    assert response.status == 401
    assert db.profiles() == []


# HTTP mode over real HTTP ---------------------------------------------------------------------


@pytest.fixture
def http_app(app):
    with serve_in_thread(Starlette(routes=[events_route(app, SECRET)])) as base:
        yield f"{base}/slack/events"


def test_http_mode_serves_slash_commands_at_slack_events(http_app, slack, db):
    body, hook = command_body(slack, "subscribe speculative decoding")
    response = httpx.post(http_app, content=body, headers=sign(body))
    assert response.status_code == 200
    assert wait_for(slack, hook)["text"].startswith("Subscribed.")
    assert db.profile(PROFILE).keywords == ["speculative decoding"]


def test_http_mode_refuses_bad_and_stale_signatures(http_app, slack, db):
    body, _ = command_body(slack, "subscribe decoding")
    assert httpx.post(http_app, content=body, headers=sign(body, secret="wrong")).status_code == 401
    stale = sign(body, timestamp=int(time.time()) - 301)
    assert httpx.post(http_app, content=body, headers=stale).status_code == 401
    unsigned = {"content-type": "application/x-www-form-urlencoded"}
    assert httpx.post(http_app, content=body, headers=unsigned).status_code == 401
    assert db.profiles() == []


@pytest.mark.parametrize(
    ("timestamp", "body"),
    [
        ("abc", "command=/papers&text=help"),
        ("", "command=/papers&text=help"),
        (None, "x" * 100_000 + "\n2026-12-03 12:00:00 bot.web: profile ada: email unsubscribed"),
        (str(int(time.time())), b"\xff\xfe not utf-8"),
    ],
)
def test_an_unsigned_request_gets_401_and_its_body_is_never_logged(http_app, slack, db, caplog, timestamp, body):
    caplog.set_level(logging.DEBUG)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-signature": "v0=00"}
    if timestamp is not None:
        headers["x-slack-request-timestamp"] = timestamp
    response = httpx.post(http_app, content=body, headers=headers)
    assert response.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "xxxxx" not in logged and "email unsubscribed" not in logged and "text=help" not in logged
    assert "no valid Slack signature" in logged
    assert db.profiles() == []


def test_http_mode_needs_its_secrets(monkeypatch):
    assert missing_secrets("http") == (
        "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set: the Slack app is off (see README.md, Slack)"
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET is not set"):
        slack_routes(Config())


def test_a_refused_bot_token_is_one_line(slack, db):
    slack.fail_next("auth.test", "invalid_auth")
    config = Config(store=StoreConfig(url=db.url))
    with pytest.raises(ConfigError) as refused:
        create_app(config, token="xoxb-bad", signing_secret=SECRET, store=db, client=make_client("x", slack.api_url))
    assert str(refused.value) == "Slack refused SLACK_BOT_TOKEN: invalid_auth"


# Socket Mode ------------------------------------------------------------------------------------


def test_bot_slack_without_tokens_says_which_are_missing(workdir, bot):
    result = bot("slack")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set: the Slack app is off (see README.md, Slack)"
    )


def test_bot_slack_opens_a_socket_mode_connection_with_the_app_token(workdir, bot, slack, monkeypatch):
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + f'\n[slack]\napi_url = "{slack.api_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    slack.fail_next("apps.connections.open", "invalid_auth")
    slack.fail_next("auth.test", "ok")
    result = bot("slack")
    assert result.exit_code == 2
    assert result.output.strip() == "Error: Slack refused SLACK_APP_TOKEN: invalid_auth"
    (call,) = slack.called("apps.connections.open")
    assert call.headers["Authorization"] == "Bearer xapp-1"
    assert slack.called("auth.test")[0].headers["Authorization"] == "Bearer xoxb-1"


@pytest.fixture
def socket_mode_server():
    """A WebSocket endpoint playing Slack's Socket Mode: says hello, sends envelopes, collects the acks."""
    import asyncio
    import queue

    from starlette.routing import WebSocketRoute

    outgoing: queue.Queue = queue.Queue()
    acks: queue.Queue = queue.Queue()

    async def link(websocket):
        await websocket.accept()
        await websocket.send_text(json.dumps({"type": "hello", "num_connections": 1}))
        while (envelope := await asyncio.to_thread(outgoing.get)) is not None:
            await websocket.send_text(json.dumps(envelope))
            acks.put(json.loads(await websocket.receive_text()))
        await websocket.close()

    with serve_in_thread(Starlette(routes=[WebSocketRoute("/link", link)]), ws="wsproto") as base:

        def exchange(envelope):
            outgoing.put(envelope)
            return acks.get(timeout=30)

        exchange.url = base.replace("http://", "ws://") + "/link"
        yield exchange
        outgoing.put(None)


def test_socket_mode_serves_the_same_handlers(workdir, bot, slack, socket_mode_server, monkeypatch):
    from bot.config import load_config
    from bot.slack.app import serve_socket_mode

    config_file = workdir / "config" / "bot.toml"
    config_file.write_text(config_file.read_text() + f'\n[slack]\napi_url = "{slack.api_url}"\n', encoding="utf-8")
    assert bot("fetch").exit_code == 0
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    slack.socket_mode_url = socket_mode_server.url
    config = load_config()
    stop, said = threading.Event(), []
    serving = threading.Thread(
        target=serve_socket_mode, args=(config,), kwargs={"on_connected": said.append, "stop": stop}
    )
    serving.start()
    try:
        deadline = time.monotonic() + 30
        while not said:
            assert time.monotonic() < deadline and serving.is_alive(), "bot slack did not connect"
            time.sleep(0.01)
        assert said == ["Connected to Slack over Socket Mode: /papers and the digest buttons are live. Ctrl+C stops."]

        body, hook = command_body(slack, "subscribe speculative decoding")
        command = dict(parse_qsl(body))  # Socket Mode carries the same fields as JSON
        ack = socket_mode_server(
            {"envelope_id": "e-1", "type": "slash_commands", "accepts_response_payload": True, "payload": command}
        )
        assert ack["envelope_id"] == "e-1"
        assert wait_for(slack, hook)["text"].startswith("Subscribed.")

        ack = socket_mode_server(
            {
                "envelope_id": "e-2",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {**command, "text": "help"},
            }
        )
        assert ack == {"envelope_id": "e-2", "payload": {"text": USAGE, "response_type": "ephemeral"}}

        with Store(config.store.url) as store:
            listing = store.listings()[0].id
            hook = f"response/{uuid.uuid4().hex}"
            payload = {
                "type": "block_actions",
                "user": {"id": "U9", "team_id": TEAM},
                "team": {"id": TEAM},
                "api_app_id": "A0001",
                "channel": {"id": CHANNEL},
                "response_url": slack.url + hook,
                "actions": [
                    {
                        "type": "button",
                        "action_id": ACTION_UP,
                        "block_id": "paper-1",
                        "value": button_value(PROFILE, listing),
                        "action_ts": "1.0",
                    }
                ],
            }
            ack = socket_mode_server(
                {"envelope_id": "e-3", "type": "interactive", "accepts_response_payload": True, "payload": payload}
            )
            assert ack["envelope_id"] == "e-3"
            assert wait_for(slack, hook)["text"].startswith("👍 counted, <@U9>.")
            assert store.feedback_votes(store.profile(PROFILE)) == {listing: 1}
    finally:
        stop.set()
        serving.join()
    assert slack.called("apps.connections.open")[0].headers["Authorization"] == "Bearer xapp-1"


def test_bot_slack_when_slack_cannot_be_reached_is_one_line(workdir, bot, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = workdir / "config" / "bot.toml"
    url = f"http://127.0.0.1:{port}/api/"
    config.write_text(config.read_text() + f'\n[slack]\napi_url = "{url}"\n', encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    result = bot("slack")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot reach Slack at {url}: ") and result.output.count("\n") == 1
