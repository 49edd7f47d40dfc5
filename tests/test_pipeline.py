"""The whole bot, sources to outbox, on the seed page, run as a user runs it."""

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy

from bot.flow.channels import Channels
from bot.flow.compose import compose_digests
from bot.flow.deliver import deliver_pending
from bot.flow.periods import current_period
from bot.flow.settings import Settings
from bot.models import Profile
from bot.notify import OutboxNotifier
from bot.store import Store
from tests.conftest import ROOT

DEMO_PROFILES = str(ROOT / "config" / "demo-profiles.toml")


def outbox_files(workdir):
    return sorted(p.name for p in (workdir / "outbox").glob("*")) if (workdir / "outbox").exists() else []


def test_the_pipeline_twice_in_a_row(workdir, bot):
    assert bot("profile", "import", DEMO_PROFILES).exit_code == 0
    assert bot("fetch").exit_code == 0
    first = bot("digest")
    assert first.exit_code == 0, first.stderr
    files = outbox_files(workdir)
    assert any(f.endswith(".eml") for f in files) and any(f.endswith(".json") for f in files)
    assert "Note: email and Slack are not configured: digests go to the local outbox outbox/" in first.output
    assert "Delivered 4 digests:\n  decoding via email → outbox/" in first.output
    assert first.output.splitlines()[0].split() == ["PROFILE", "PAPERS", "STATUS", "TOP", "PAPER", "WHY"]

    (eml,) = (workdir / "outbox").glob("*_decoding_email_*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "decoding-team@example.org"
    assert msg["Subject"].startswith("5 papers for you · ")
    text = msg.get_body(("plain",)).get_content()
    assert "Why: " in text and "decoding" in text.split("Why: ")[1].splitlines()[0]

    (payload_file,) = (workdir / "outbox").glob("*_decoding_slack_*.json")
    payload = json.loads(payload_file.read_text())
    assert payload["channel"] == "#fast-inference"
    # The header (title, summary, divider), then a section, a context line and buttons per paper.
    assert payload["blocks"][0]["type"] == "header" and len(payload["blocks"]) == 3 + 5 * 3

    contents = {f: (workdir / "outbox" / f).read_bytes() for f in files}
    second = bot("digest")
    assert second.exit_code == 0
    assert second.output.count("already sent") == 3
    assert "Delivered" not in second.output
    assert {f: (workdir / "outbox" / f).read_bytes() for f in outbox_files(workdir)} == contents


def test_a_dry_run_records_and_sends_nothing(workdir, bot):
    bot("profile", "add", "sd", "--keywords", "speculative decoding", "--top", "3")
    bot("fetch")
    dry = bot("digest", "--dry-run")
    assert dry.exit_code == 0
    assert "sd (" in dry.output and "would get 3 paper(s) via outbox:" in dry.output
    assert "why: speculative decoding" in dry.output
    assert outbox_files(workdir) == []
    real = bot("digest", "--profile", "sd")
    assert real.exit_code == 0
    assert [f.rsplit("_", 1)[0].split("_", 1)[1] for f in outbox_files(workdir)] == ["sd_outbox", "sd_outbox"]


def test_only_the_named_profile_gets_its_digest(workdir, bot):
    bot("profile", "add", "a", "-k", "speculative decoding")
    bot("profile", "add", "b", "-k", "image generation")
    bot("fetch")
    bot("digest", "--profile", "b")
    assert all("_b_" in f for f in outbox_files(workdir))
    assert bot("digest", "--profile", "nobody").stderr == "Error: no profile named 'nobody' (see `bot profile list`)\n"


def test_the_next_period_never_repeats_a_paper(workdir, bot):
    bot("profile", "add", "sd", "--keywords", "speculative decoding, decoding", "--top", "4")
    bot("fetch")
    now = datetime.now(UTC)
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        outbox = OutboxNotifier(workdir / "outbox")
        channels = Channels(dict.fromkeys(outbox.channels, outbox))
        seen: list[str] = []
        for day in range(3):
            when = now + timedelta(days=day)
            (composed,) = compose_digests(store, store.profiles(), Settings(), now=when)
            assert composed.period == current_period(composed.profile, when)
            ids = [item.id for item, _, _ in composed.items]
            assert not set(ids) & set(seen), f"day {day} repeated a paper"
            seen += ids
            assert all(o.receipt for o in deliver_pending(store, channels, Settings(sender="b@x.org")))
        assert len(seen) == 12
    assert len(outbox_files(workdir)) == 6


def test_a_failed_delivery_waits_and_is_sent_by_the_next_run(workdir, bot):
    bot("profile", "add", "sd", "-k", "speculative decoding")
    bot("fetch")
    (workdir / "outbox").write_text("a file where the outbox directory should be")
    failed = bot("digest")
    assert failed.exit_code == 1
    assert "Error: digest 1 for sd via outbox: cannot write to outbox outbox" in failed.stderr
    (workdir / "outbox").unlink()
    retried = bot("digest")
    assert retried.exit_code == 0
    assert "Delivered 1 digest:\n  sd via outbox → outbox/" in retried.output
    assert len(outbox_files(workdir)) == 2


def test_periods_follow_the_profile_time_zone_and_schedule():
    late_utc = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert current_period(Profile(name="a", tz="UTC"), late_utc) == "2026-11-27"
    assert current_period(Profile(name="a", tz="Asia/Tokyo"), late_utc) == "2026-11-28"
    assert current_period(Profile(name="a", tz="America/New_York"), late_utc) == "2026-11-27"
    assert current_period(Profile(name="a", schedule="weekly", tz="Asia/Tokyo"), late_utc) == "2026-W48"
    assert current_period(Profile(name="a", schedule="weekly"), datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"


def test_the_outbox_writes_one_file_per_slack_message_and_rewrites_on_resend(tmp_path):
    from bot.notify import Delivery

    outbox = OutboxNotifier(tmp_path)
    payloads = ({"text": "part 1", "blocks": []}, {"text": "part 2", "blocks": []})
    delivery = Delivery(digest_id=3, channel="slack", profile="p", period="2026-11-27", slack=payloads)
    receipt = outbox.send(delivery)
    assert receipt == f"{tmp_path}/2026-11-27_p_slack_3-1.json, {tmp_path}/2026-11-27_p_slack_3-2.json"
    assert json.loads((tmp_path / "2026-11-27_p_slack_3-2.json").read_text())["text"] == "part 2"
    outbox.send(delivery)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-27_p_slack_3-1.json", "2026-11-27_p_slack_3-2.json"]


def test_feedback_from_the_cli_shapes_the_next_digest(workdir, bot):
    bot("profile", "add", "sd", "-k", "speculative decoding", "--top", "3")
    bot("fetch")
    listings = [json.loads(line) for line in bot("listings", "--json").output.splitlines()]
    chimera = next(x["id"] for x in listings if x["title"].startswith("Chimera"))
    lantern = next(x["id"] for x in listings if x["title"].startswith("LANTERN"))
    assert bot("feedback", "sd", chimera, "up").output == f"Recorded 👍 for {chimera} in sd\n"
    assert bot("feedback", "sd", lantern, "down").exit_code == 0
    shown = json.loads(bot("profile", "show", "sd", "--json").output)
    assert (shown["voted_up"], shown["voted_down"], shown["likes"]) == ([chimera], [lantern], [])
    text = bot("profile", "show", "sd").output
    assert f"dislikes:      —\nvoted_up:      {chimera}\nvoted_down:    {lantern}\n" in text
    dry = bot("digest", "--dry-run").output
    titles = [line for line in dry.splitlines() if line.lstrip()[:2].rstrip(".").isdigit()]
    assert len(titles) == 3
    assert not any("Chimera" in t or "LANTERN" in t for t in titles)  # rated papers are examples, not news
    assert "why: speculative decoding, lossless, " in dry and ", like: Chimera" in dry
    refused = bot("feedback", "sd", "title:nope", "up")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: unknown listing id 'title:nope': see `bot listings` for the ids\n",
    )
    assert bot("feedback", "nobody", chimera, "up").exit_code == 2


def test_a_single_thumbs_down_does_not_empty_the_next_digest(workdir, bot):
    bot("profile", "add", "rl", "-k", "reinforcement learning, reasoning")
    bot("fetch")

    def digest() -> list[str]:
        dry = bot("digest", "--dry-run").output
        return [line for line in dry.splitlines() if line.lstrip()[:2].rstrip(".").isdigit()]

    # Five papers of the seed page say "reasoning" or "reinforcement"; the others only "learning",
    # or "reasonable", which is not "reasoning".
    before = digest()
    assert len(before) == 5, before
    listings = [json.loads(line) for line in bot("listings", "--json").output.splitlines()]
    lexinvariant = next(x["id"] for x in listings if x["title"].startswith("Lexinvariant "))
    assert bot("feedback", "rl", lexinvariant, "down").exit_code == 0
    after = digest()
    assert len(after) == 4, after  # every one still above the profile's min_score of 0.05
    assert not any("Lexinvariant " in t for t in after)


def test_a_later_vote_overrides_an_example():
    from bot.feedback import with_feedback

    p = Profile(name="p", likes=["a", "b"], dislikes=["c"])
    changed = with_feedback(p, {"b": -1, "c": 1, "d": 1})
    assert (changed.likes, changed.dislikes) == (["a", "c", "d"], ["b"])
