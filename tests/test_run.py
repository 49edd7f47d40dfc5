"""`bot run`: ticks against a controllable clock, and the long-running process with real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import time_machine

from bot.models import Profile
from bot.store import Store
from tests.feed_server import Reply


def at(text: str):
    """Travel to a UTC moment (the clock stands still there) for the commands run inside."""
    return time_machine.travel(datetime.fromisoformat(text).replace(tzinfo=UTC), tick=False)


def configure(workdir, extra: str = "") -> None:
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + extra)


def outbox(workdir) -> list[str]:
    return sorted(p.name for p in (workdir / "outbox").glob("*")) if (workdir / "outbox").exists() else []


def summaries(workdir):
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        return store.digest_summaries()


def test_a_daily_digest_goes_out_once_at_the_local_send_time(workdir, bot):
    with at("2026-11-26T12:00"):
        bot(
            "profile", "add", "sd", "-k", "speculative decoding", "--top", "3", "--at", "08:00", "--tz", "Europe/Berlin"
        )
    with at("2026-11-27T06:59"):  # 07:59 in Berlin
        assert bot("run", "--once").exit_code == 0
    assert outbox(workdir) == []
    with at("2026-11-27T07:00"):
        result = bot("run", "--once")
    assert result.exit_code == 0, result.stderr
    assert outbox(workdir) == ["2026-11-27_sd_outbox_1.eml", "2026-11-27_sd_outbox_1.json"]
    with at("2026-11-27T15:00"):
        bot("run", "--once")
    assert len(outbox(workdir)) == 2
    with at("2026-11-28T07:05"):
        bot("run", "--once")
    assert [(s.period, s.state, s.items) for s in summaries(workdir)] == [
        ("2026-11-27", "sent", 3),
        ("2026-11-28", "sent", 3),
    ]


def test_a_profile_is_not_owed_the_digest_of_a_time_before_it_existed(workdir, bot):
    with at("2026-11-27T12:00"):
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "08:00", "--tz", "UTC")
        bot("run", "--once")
    assert outbox(workdir) == []
    with at("2026-11-28T08:00"):
        bot("run", "--once")
    assert [s.period for s in summaries(workdir)] == ["2026-11-28"]


def test_after_downtime_a_recent_digest_is_caught_up_and_an_old_one_skipped(workdir, bot):
    with at("2026-11-25T00:00"):
        bot("profile", "add", "soon", "-k", "speculative decoding", "--at", "08:00", "--tz", "UTC")
        bot("profile", "add", "late", "-k", "image generation", "--at", "06:00", "--tz", "UTC")
        bot("fetch")
    with at("2026-11-25T19:30"):  # down since before 06:00: 11.5 h after one send time, 13.5 h after the other
        bot("run", "--once")
    states = {s.profile: (s.period, s.state, s.last_error) for s in summaries(workdir)}
    assert states["soon"] == ("2026-11-25", "sent", None)
    assert states["late"][:2] == ("2026-11-25", "skipped")
    assert states["late"][2] == "missed its send time 2026-11-25 06:00 UTC by 13.5 h (catch-up limit 12 h)"
    with at("2026-11-26T06:01"):
        bot("run", "--once")
    assert ("2026-11-26", "sent") in {(s.period, s.state) for s in summaries(workdir) if s.profile == "late"}


def test_a_weekly_digest_waits_for_its_day(workdir, bot):
    with at("2026-11-20T00:00"):
        bot(
            "profile",
            "add",
            "wk",
            "-k",
            "speculative decoding",
            "--schedule",
            "weekly",
            "--weekday",
            "wed",
            "--at",
            "09:00",
            "--tz",
            "America/New_York",
        )
    for moment in ("2026-11-24T15:00", "2026-11-25T13:59"):  # Tuesday; Wednesday 08:59 in New York
        with at(moment):
            bot("run", "--once")
    assert summaries(workdir) == []
    for moment in ("2026-11-25T14:00", "2026-11-26T14:00", "2026-11-29T14:00"):
        with at(moment):
            bot("run", "--once")
    assert [(s.period, s.state) for s in summaries(workdir)] == [("2026-W48", "sent")]


def test_nothing_new_is_not_sent_unless_the_profile_asks(workdir, bot):
    with at("2026-11-26T00:00"):
        bot("profile", "add", "quiet", "-k", "protein folding", "--at", "08:00")
        bot("profile", "add", "chatty", "-k", "protein folding", "--at", "08:00", "--send-empty")
    with at("2026-11-26T08:00"):
        bot("run", "--once")
    states = {s.profile: (s.state, s.items) for s in summaries(workdir)}
    assert states == {"quiet": ("empty", 0), "chatty": ("sent", 0)}
    eml, payload_file = sorted((workdir / "outbox").glob("2026-11-26_chatty_outbox_*"))
    assert outbox(workdir) == [eml.name, payload_file.name]
    payload = json.loads(payload_file.read_text())
    assert payload["text"] == "No new papers for protein folding · 2026-11-26"


def test_sources_are_fetched_when_their_interval_has_passed(workdir, bot):
    configure(workdir, 'every = "1h"\n')  # appended to the seed source's table

    def last_fetch():
        with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
            return store.source_states()["hf-daily-seed"].last_fetch_at

    with at("2026-11-27T10:00"):
        bot("run", "--once")
    first = last_fetch()
    with at("2026-11-27T10:59"):
        bot("run", "--once")
    assert last_fetch() == first
    with at("2026-11-27T11:00"):
        bot("run", "--once")
    assert last_fetch() > first


def test_temporary_failures_are_retried_with_growing_delays_then_failed_then_requeued(workdir, bot):
    configure(workdir, "\n[delivery]\nmax_attempts = 3\nretry_base_seconds = 60\n")
    with at("2026-11-27T00:00"):
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "08:00")
    (workdir / "outbox").write_text("a file where the outbox directory should be")
    attempts = []
    for moment in ("08:00:00", "08:00:59", "08:01:00", "08:02:59", "08:03:00", "08:30:00"):
        with at(f"2026-11-27T{moment}"):
            bot("run", "--once")
        attempts.append(summaries(workdir)[0].attempts)
    assert attempts == [1, 1, 2, 2, 3, 3]  # waits 1 min, then 2 min, then gives up
    (failed,) = summaries(workdir)
    assert failed.state == "failed"
    assert failed.last_error.startswith("gave up after 3 attempts: cannot write to outbox outbox")
    with at("2026-11-27T08:31"):
        status = bot("status").output
    assert f"failed: delivery {failed.id} (sd via outbox, 2026-11-27) after 3 attempts: gave up" in status
    assert f"→ bot retry {failed.id}" in status
    (workdir / "outbox").unlink()
    with at("2026-11-27T08:31:30"):
        assert bot("retry", str(failed.id)).output == f"Delivery {failed.id} is queued again.\n"
    with at("2026-11-27T08:32"):
        bot("run", "--once")
    assert summaries(workdir)[0].state == "sent"
    assert bot("retry", str(failed.id)).stderr == f"Error: delivery {failed.id} is sent, not failed: nothing to retry\n"


def test_status_shows_the_next_send_time_and_the_sources(workdir, bot):
    with at("2026-11-27T12:00"):
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "08:00", "--tz", "Europe/Berlin")
        bot("fetch")
        output = bot("status").output
    assert "sd       Sat 2026-11-28 08:00 Europe/Berlin  —" in output
    assert "hf-daily-seed  2026-11-27 12:00 UTC  ok       54" in output


def test_status_gives_a_profile_with_no_channel_left_no_next_send(workdir, bot):
    with at("2026-11-27T12:00"):
        bot("profile", "add", "gone", "-k", "speculative decoding", "--email", "g@example.org")
        bot("profile", "add", "both", "-k", "speculative decoding", "--email", "b@example.org", "--slack-channel", "C1")
        with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
            for name, address in (("gone", "g@example.org"), ("both", "b@example.org")):
                store.unsubscribe_email(store.profile(name).id, address)
        rows = {line.split()[0]: line for line in bot("status").output.splitlines()[1:3]}
    assert re.match(r"gone +— \(unsubscribed\) +— ", rows["gone"]), rows["gone"]
    assert re.match(r"both +Sat 2026-11-28 08:00 UTC +— ", rows["both"]), rows["both"]  # Slack still gets it


def test_status_after_a_digest_made_by_hand_names_the_next_period_that_sends(workdir, bot):
    """`bot digest` before the send time makes today's digest early; 08:00 then sends nothing, so
    the next send status shows is tomorrow's, not today's."""
    with at("2026-11-27T05:00"):  # 06:00 in Berlin
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "08:00", "--tz", "Europe/Berlin")
        bot("fetch")
        bot("digest")
        assert "sd       Sat 2026-11-28 08:00 Europe/Berlin  2026-11-27" in bot("status").output
    sent = outbox(workdir)
    with at("2026-11-27T07:01"):  # 08:01 in Berlin
        bot("run", "--once")
    assert outbox(workdir) == sent, "the period made by hand is not sent again at its time"
    with at("2026-11-28T07:01"):  # the next day's period is made at its time (empty: the seed page was sent)
        bot("run", "--once")
        assert "sd       Sun 2026-11-29 08:00 Europe/Berlin  2026-11-28" in bot("status").output


def start(workdir, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "SMTP_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean | (env or {}),
    )


class Running:
    """A `bot run` process whose stderr is collected line by line while it runs."""

    def __init__(self, workdir, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> None:
        self.proc = start(workdir, "run", *args, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait:
            self.wait_running()

    def wait_running(self) -> None:
        """Until it says it is running: its signal handlers are in place from then on."""
        wait_for(lambda: any("running as" in x for x in self.lines) or self.proc.poll() is not None)

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self, signum: int = signal.SIGTERM) -> str:
        """Send the signal, wait for the exit, and return everything it logged.

        A process that does not stop within a minute is killed (its return code then says so), so a
        failing test never leaves a `bot run` behind, nor skips stopping the next one.
        """
        try:
            self.proc.send_signal(signum)
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.lines.append("(did not stop within 60 s of the signal: killed)\n")
        finally:
            self.proc.kill()
            self.proc.wait()
            self._reader.join(timeout=5)
            self.proc.stdout.close()
            self.proc.stderr.close()
        return "".join(self.lines)


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_the_long_running_process_sends_then_stops_cleanly_on_sigterm_and_sigint(workdir, bot):
    # Real time here: a profile made yesterday is owed today's 00:00 digest, whatever the hour now.
    configure(workdir, "\n[schedule]\ntick_seconds = 1\ncatch_up_hours = 25\n")
    with time_machine.travel(datetime.now(UTC) - timedelta(days=1), tick=False):
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "00:00", "--send-empty")
    for signum in (signal.SIGTERM, signal.SIGINT):
        running = Running(workdir)
        try:
            wait_for(lambda: any(s.state == "sent" for s in summaries(workdir)))
        finally:
            err = running.stop(signum)
        assert running.proc.returncode == 0, err
        assert f"{signal.Signals(signum).name}: finishing the message being sent, then stopping" in err
        assert err.rstrip().endswith("stopped")
    assert [s.state for s in summaries(workdir)] == ["sent"]  # the second run found nothing new to send


def test_two_processes_on_one_database_send_each_digest_exactly_once(workdir, bot, database_url):
    """Two copies of `bot run` started together: every delivery is sent by exactly one of them."""
    configure(workdir, "\n[schedule]\ntick_seconds = 1\ncatch_up_hours = 25\n[delivery]\nbatch_size = 3\n")
    topics = ["speculative decoding", "image generation", "sparse autoencoders", "language models", "vision"]
    with Store(database_url) as store, time_machine.travel(datetime.now(UTC) - timedelta(days=1), tick=False):
        for i in range(40):
            store.add_profile(
                Profile(name=f"p{i:02d}", keywords=[topics[i % len(topics)]], top=3, send_at="00:00", send_empty=True)
            )
    env = {"BOT_DATABASE_URL": database_url}
    runs = [Running(workdir, env=env, wait=False) for _ in range(2)]  # started together

    def all_sent() -> bool:
        with Store(database_url) as store:
            states = [s.state for s in store.digest_summaries()]
        return len(states) == 40 and set(states) == {"sent"}

    try:
        for run in runs:
            run.wait_running()
        wait_for(all_sent, timeout=120)
    finally:
        logs = [run.stop().splitlines() for run in runs]
    assert [run.proc.returncode for run in runs] == [0, 0], "\n".join(logs[0] + logs[1])
    sends = [
        re.search(r"sent delivery (\d+) ", line).group(1) for lines in logs for line in lines if "sent delivery" in line
    ]
    with Store(database_url) as store:
        ids = sorted(s.id for s in store.digest_summaries())
    assert len(ids) == 40
    print("sends per process:", [sum("sent delivery" in line for line in lines) for lines in logs])
    assert sorted(map(int, sends)) == ids, "each delivery sent exactly once across both processes"


def test_a_source_trickling_its_answer_does_not_hold_back_a_due_digest(workdir, bot, feed_server):
    # The source would take 30 s and its deadline is longer; the digest waits for it half a second.
    configure(
        workdir, "\n[schedule]\ncatch_up_hours = 25\n[fetch]\ndeadline_seconds = 120\ndigest_wait_seconds = 0.5\n"
    )
    url = feed_server.serve("/hf", Reply(body=b"[" + b" " * 300 + b"]", trickle=0.1))
    bot("source", "add", "slow", "--kind", "hf_daily", "--url", url)
    with time_machine.travel(datetime.now(UTC) - timedelta(days=1), tick=False):
        bot("profile", "add", "sd", "-k", "speculative decoding", "--at", "00:00", "--send-empty")
    once = start(workdir, "run", "--once")
    try:
        # Recorded as sent, not just written: a kill between the two would leave it pending.
        wait_for(lambda: [s.state for s in summaries(workdir)] == ["sent"], timeout=15)
        assert once.poll() is None, "still fetching the slow source: the digest did not wait for it"
    finally:
        once.kill()
        once.communicate()
    assert any(name.endswith(".eml") for name in outbox(workdir))
    assert len(feed_server.hits("/hf")) == 1
