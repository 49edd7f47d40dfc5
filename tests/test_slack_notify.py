"""The Slack notifier: the real slack_sdk WebClient against a local server playing the Slack Web API."""

import time

import pytest

from bot.config import load_config
from bot.errors import DeliveryError
from bot.flow.channels import Channels, make_channels
from bot.flow.deliver import deliver_pending, prepare
from bot.flow.settings import Settings
from bot.models import Digest, DigestItem, Listing, Profile
from bot.notify.slack import METADATA_EVENT, SlackNotifier, make_client
from bot.store import Store

CHANNEL = "C0123456789"
NOW_ISO = "2026-11-27"


def notifier(fake, **options) -> SlackNotifier:
    return SlackNotifier(make_client("xoxb-test", fake.api_url), backoff_seconds=0.01, **options)


def listing(i: int, title: str | None = None) -> Listing:
    return Listing(
        id=f"arxiv:2411.{i:05d}",
        title=title or f"Paper {i} on speculative decoding",
        abstract="We speed up decoding. " + "More words here. " * 40,
        authors=("Ada Lovelace",),
        url=f"https://arxiv.org/abs/2411.{i:05d}",
        source="hf-daily",
        upvotes=i,
    )


def digest(n: int, *, digest_id: int = 11, title: str | None = None) -> Digest:
    profile = Profile(name="slack-c0123456789", keywords=["decoding"], slack_channel=CHANNEL)
    items = tuple(DigestItem(listing(i, title), 0.5, ("decoding",)) for i in range(1, n + 1))
    return Digest(id=digest_id, profile=profile, channel="slack", period=NOW_ISO, items=items)


def delivery(n: int, **kw):
    from datetime import UTC, datetime

    return prepare(digest(n, **kw), sender="x@example.org", abstract_chars=400, now=datetime.now(UTC))


def test_a_digest_is_posted_with_metadata_naming_digest_and_part(slack):
    receipt = notifier(slack).send(delivery(2))
    (message,) = slack.posted(CHANNEL)
    assert message["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"digest_id": 11, "profile": "slack-c0123456789", "period": NOW_ISO, "part": 1, "parts": 1},
    }
    assert message["blocks"][0]["type"] == "header"
    assert receipt == f"Slack {CHANNEL} (1 message: ts {message['ts']})"
    (post,) = slack.called("chat.postMessage")
    assert post.headers["Authorization"] == "Bearer xoxb-test"


def test_forty_papers_arrive_as_several_messages_in_order(slack):
    notifier(slack).send(delivery(40))
    messages = slack.posted(CHANNEL)
    assert len(messages) >= 3
    assert [m["metadata"]["event_payload"]["part"] for m in messages] == list(range(1, len(messages) + 1))
    sections = [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section"][1:]
    assert [s.split(".")[0] for s in sections] == [f"*{i}" for i in range(1, 41)]


def test_a_title_that_tries_to_ping_the_channel_arrives_escaped(slack):
    notifier(slack).send(delivery(1, title="Wow <!channel> & <http://evil|click>"))
    (post,) = slack.called("chat.postMessage")
    assert "<!channel>" not in str(post.params) and "<http://evil" not in str(post.params)
    assert "Wow &lt;!channel&gt; &amp; &lt;http://evil|click&gt;" in post.params["blocks"][3]["text"]["text"]


def test_a_429_is_retried_after_retry_after_and_posts_once(slack):
    slack.retry_after = 0
    slack.fail_next("chat.postMessage", "429")
    notifier(slack).send(delivery(1))
    first, second = slack.called("chat.postMessage")
    assert len(slack.posted(CHANNEL)) == 1
    assert first.params["metadata"] == second.params["metadata"]


def test_retry_after_is_honoured(slack):
    slack.retry_after = 1
    slack.fail_next("chat.postMessage", "429")
    stamps = []
    original = slack.handle

    def stamped(method, params):
        if method == "chat.postMessage":
            stamps.append(time.monotonic())
        return original(method, params)

    slack.handle = stamped
    notifier(slack).send(delivery(1))
    # A lower bound only: the client may wait longer, never less than Slack asked.
    assert len(stamps) == 2 and stamps[1] - stamps[0] >= 1.0


def test_a_500_is_retried_after_looking_and_posts_once(slack):
    slack.fail_next("chat.postMessage", "500")
    notifier(slack).send(delivery(1))
    assert len(slack.called("chat.postMessage")) == 2
    assert len(slack.posted(CHANNEL)) == 1
    # One look before the first post, one before the retry.
    assert len(slack.called("conversations.history")) == 2


def test_an_answer_lost_after_slack_posted_is_found_in_history_and_not_posted_again(slack):
    slack.fail_next("chat.postMessage", "drop_after_accept")
    receipt = notifier(slack).send(delivery(1))
    assert len(slack.called("chat.postMessage")) == 1
    (message,) = slack.posted(CHANNEL)
    assert message["ts"] in receipt
    history = slack.called("conversations.history")[-1]
    assert history.params["channel"] == CHANNEL and history.params["include_all_metadata"] in ("1", "true")


def test_a_rerun_after_a_crash_posts_only_the_missing_parts(slack):
    first = delivery(40)
    slack.fail_next("chat.postMessage", "ok", "drop_after_accept", "500", "500")
    with pytest.raises(DeliveryError) as failed:
        notifier(slack, post_attempts=2).send(first)
    assert failed.value.temporary and "next run looks for it" in str(failed.value)
    assert len(slack.posted(CHANNEL)) == 2  # parts 1 and 2 made it; Slack never answered for part 2
    notifier(slack).send(first)
    parts = [m["metadata"]["event_payload"]["part"] for m in slack.posted(CHANNEL)]
    assert parts == list(range(1, len(first.slack) + 1))


def test_another_digest_with_the_same_id_from_an_older_database_is_not_mistaken(slack):
    notifier(slack).send(delivery(1))
    older = delivery(1)
    other = type(older)(**{**older.__dict__, "period": "2026-11-20"})
    notifier(slack).send(other)
    assert len(slack.posted(CHANNEL)) == 2


def test_a_channel_named_by_its_name_is_found_by_id(slack):
    slack.channels = {"C0000000001": "random", CHANNEL: "fast-inference"}
    named = delivery(1)
    named = type(named)(**{**named.__dict__, "slack": ({**named.slack[0], "channel": "#Fast-Inference"},)})
    receipt = notifier(slack).send(named)
    assert receipt.startswith(f"Slack {CHANNEL} (1 message")
    assert len(slack.posted(CHANNEL)) == 1
    assert slack.called("conversations.history")[0].params["channel"] == CHANNEL


def test_a_channel_name_the_bot_cannot_see_fails_for_good(slack):
    named = delivery(1)
    named = type(named)(**{**named.__dict__, "slack": ({**named.slack[0], "channel": "#nowhere"},)})
    with pytest.raises(DeliveryError) as failed:
        notifier(slack).send(named)
    assert not failed.value.temporary
    assert str(failed.value).startswith("no Slack channel #nowhere that the bot can see")
    assert slack.called("chat.postMessage") == []


def test_history_is_retried_on_a_server_error(slack):
    slack.fail_next("conversations.history", "500")
    notifier(slack).send(delivery(1))
    assert len(slack.called("conversations.history")) == 2
    assert len(slack.posted(CHANNEL)) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
def test_a_permanent_error_fails_the_delivery_once_and_is_not_retried(slack, tmp_path, error):
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        profile = store.add_profile(Profile(name="slack-c0123456789", keywords=["decoding"], slack_channel=CHANNEL))
        store.upsert_listings([listing(1)])
        store.create_digests(profile, NOW_ISO, [(listing(1).id, 0.5, ["decoding"])])
        slack.fail_next("chat.postMessage", error)
        channels, settings = Channels({"slack": notifier(slack)}), Settings(sender="x@example.org")
        (outcome,) = deliver_pending(store, channels, settings)
        assert error in outcome.error
        (summary,) = store.digest_summaries()
        assert summary.state == "failed" and error in summary.last_error and summary.attempts == 1
        assert deliver_pending(store, channels, settings) == []
    assert len(slack.called("chat.postMessage")) == 1
    assert slack.posted(CHANNEL) == []


def test_slack_that_cannot_be_reached_costs_a_run_one_digests_attempt(slack, tmp_path):
    """Refused connections fail every digest alike: the first waits for its retry, the others are
    left untried (no attempt counted) for the next run, which posts each once."""
    import socket

    with socket.socket() as s:  # a port with nothing listening: every connection is refused
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as store:
        store.upsert_listings([listing(1)])
        for n in range(3):
            profile = store.add_profile(Profile(name=f"p{n}", keywords=["decoding"], slack_channel=CHANNEL))
            store.create_digests(profile, NOW_ISO, [(listing(1).id, 0.5, ["decoding"])])
        settings = Settings(sender="x@example.org")
        down = SlackNotifier(make_client("xoxb-test", closed), backoff_seconds=0.01)
        (outcome,) = deliver_pending(store, Channels({"slack": down}), settings)
        assert outcome.channel_down and outcome.will_retry and "cannot read the history" in outcome.error
        assert [(d.state, d.attempts, bool(d.last_error)) for d in store.digest_summaries()] == [
            ("pending", 1, True),
            ("pending", 0, False),
            ("pending", 0, False),
        ]
        up = Channels({"slack": notifier(slack)})
        delivered = deliver_pending(store, up, settings, include_waiting=True)
        assert sorted(o.digest.profile.name for o in delivered if o.receipt) == ["p0", "p1", "p2"]
    assert len(slack.posted(CHANNEL)) == 3


def test_a_channel_the_bot_cannot_read_fails_before_posting(slack):
    slack.fail_next("conversations.history", "not_in_channel")
    with pytest.raises(DeliveryError) as failed:
        notifier(slack).send(delivery(1))
    assert not failed.value.temporary
    assert str(failed.value) == (
        f"Slack refused reading the history of {CHANNEL}: not_in_channel: invite the bot to the channel "
        "(/invite @Paper digest)"
    )
    assert slack.called("chat.postMessage") == []


def test_rate_limited_on_every_try_leaves_the_digest_for_the_next_run(slack):
    slack.retry_after = 0
    slack.fail_next("chat.postMessage", *["429"] * 10)
    with pytest.raises(DeliveryError) as failed:
        notifier(slack).send(delivery(1))
    assert failed.value.temporary and "ratelimited" in str(failed.value)
    assert slack.posted(CHANNEL) == []


def test_without_a_bot_token_slack_digests_go_to_the_outbox(workdir):
    channels = make_channels(load_config())
    assert type(channels.notifiers["slack"]).__name__ == "OutboxNotifier"
    assert channels.notes == ("email and Slack are not configured: digests go to the local outbox outbox/",)
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + '\n[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n')
    channels = make_channels(load_config())
    assert type(channels.notifiers["slack"]).__name__ == "OutboxNotifier"
    assert channels.notes[0] == "SLACK_BOT_TOKEN is not set: Slack digests go to the local outbox outbox/"


def test_bot_digest_posts_to_slack_with_the_configured_api_url(workdir, bot, slack, monkeypatch):
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + f'\n[slack]\napi_url = "{slack.api_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    add = ("profile", "add", "team", "-k", "speculative decoding, reasoning", "--slack-channel", CHANNEL)
    assert bot(*add, "--min-score", "0").exit_code == 0
    assert bot("fetch").exit_code == 0
    result = bot("digest")
    assert result.exit_code == 0, result.output
    # Ten seed papers (no min_score, so no cut relative to the best), each linked to searches for its
    # title, are two messages within Slack's limits.
    assert f"team via slack → Slack {CHANNEL} (2 messages: ts " in result.output
    assert "SLACK_BOT_TOKEN" not in result.output
    first, _second = slack.posted(CHANNEL)
    assert first["metadata"]["event_payload"]["profile"] == "team"
    assert slack.called("chat.postMessage")[0].headers["Authorization"] == "Bearer xoxb-from-env"
    assert bot("digest").exit_code == 0
    assert len(slack.posted(CHANNEL)) == 2
