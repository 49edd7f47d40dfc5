"""`bot run` processes against a real SMTP server: killed at random points, and a mail server that
is down for a while. Every digest ends up delivered; duplicates only where a kill landed in a send."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from bot.models import Profile
from bot.store import Store
from bot.store.schema import digests
from tests.smtp_server import smtp_server
from tests.test_run import Running, at, configure, start, summaries, wait_for

N_PROFILES = 60
TOPICS = ["speculative decoding", "image generation", "sparse autoencoders", "language models", "vision"]


def smtp_config(port: int, extra: str = "") -> str:
    return (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nattempts = 1\ntimeout = 5\n'
        "\n[schedule]\ntick_seconds = 1\ncatch_up_hours = 25\n" + extra
    )


def add_profiles(workdir, n: int = N_PROFILES) -> None:
    with (
        Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store,
        time_machine.travel(datetime.now(UTC) - timedelta(days=1), tick=False),
    ):
        for i in range(n):
            store.add_profile(
                Profile(
                    name=f"p{i:02d}",
                    keywords=[TOPICS[i % len(TOPICS)]],
                    top=3,
                    send_at="00:00",
                    send_empty=True,
                    email=f"reader{i:02d}@example.org",
                )
            )


def states(workdir) -> Counter:
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        return Counter(s.state for s in store.digest_summaries())


def two_processes_until_sent(workdir, n: int) -> list[str]:
    """Start two `bot run` together, wait until all n digests are sent, stop both; their logs."""
    runs = [Running(workdir, wait=False) for _ in range(2)]
    try:
        for run in runs:
            run.wait_running()
        wait_for(lambda: states(workdir) == Counter({"sent": n}), timeout=120)
    finally:
        logs = [run.stop() for run in runs]
    assert [run.proc.returncode for run in runs] == [0, 0], "\n".join(logs)
    return logs


def test_killed_at_random_points_then_restarted_every_digest_is_delivered(workdir, bot, tmp_path):
    rng = random.Random(20261127)
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.delay = 0.1  # each message takes a moment, so kills land inside sends too
        configure(workdir, smtp_config(server.port, "\n[delivery]\nlease_seconds = 2\nbatch_size = 5\n"))
        add_profiles(workdir)
        kills = 0
        progress = []  # digests the server had taken when each kill landed
        for _ in range(6):
            proc = start(workdir, "run")
            time.sleep(rng.uniform(1.0, 2.5))
            proc.kill()  # SIGKILL: no chance to finish or release anything
            proc.communicate(timeout=30)
            kills += 1
            progress.append(len(server.handler.received))
        final = Running(workdir)
        try:
            wait_for(lambda: states(workdir) == Counter({"sent": N_PROFILES}), timeout=180)
        finally:
            err = final.stop()
        assert final.proc.returncode == 0, err
        received = Counter(r.message["Message-ID"] for r in server.handler.received)
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        assert len(store.digest_summaries()) == N_PROFILES
    assert len(received) == N_PROFILES, "every digest delivered"
    duplicates = sum(n - 1 for n in received.values())
    print(
        f"\n{kills} kills at random points (server had taken {progress} by each kill): "
        f"{N_PROFILES} digests delivered, {duplicates} duplicate(s)"
    )
    assert duplicates <= kills, "a duplicate only where a kill landed inside a send"


def test_a_mail_server_down_for_a_while_ends_with_everything_delivered_once(workdir, bot, tmp_path):
    with socket.socket() as s:  # a port nothing listens on yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configure(
        workdir, smtp_config(port, "\n[delivery]\nretry_base_seconds = 1\nretry_max_seconds = 2\nmax_attempts = 50\n")
    )
    add_profiles(workdir, 20)
    running = Running(workdir)
    try:
        wait_for(lambda: states(workdir)["pending"] == 20, timeout=60)
        time.sleep(3)  # a few rounds of "connection refused"
        assert states(workdir) == Counter({"pending": 20})
        with smtp_server(tmp_path, security="none", auth=False, port=port) as server:
            wait_for(lambda: states(workdir) == Counter({"sent": 20}), timeout=60)
            received = Counter(r.message["Message-ID"] for r in server.handler.received)
    finally:
        err = running.stop()
    assert running.proc.returncode == 0, err
    assert "connection to 127.0.0.1" in err and "will retry" in err
    assert len(received) == 20 and set(received.values()) == {1}


def test_two_processes_deliver_each_digest_to_the_mail_server_exactly_once(workdir, bot, tmp_path):
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.delay = 0.02
        configure(workdir, smtp_config(server.port, "\n[delivery]\nbatch_size = 4\n"))
        add_profiles(workdir, 40)
        logs = two_processes_until_sent(workdir, 40)
        received = Counter(r.message["Message-ID"] for r in server.handler.received)
    assert len(received) == 40 and set(received.values()) == {1}, "each digest reached the server once"
    per_process = [log.count("sent delivery") for log in logs]
    print(f"\ntwo processes, one database: 40 digests, each received once; sent per process {per_process}")


def test_a_mail_server_that_says_try_later_for_a_while_ends_with_everything_delivered_once(workdir, bot, tmp_path):
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.data_replies = ["451 4.3.0 Try again later"] * 25
        configure(
            workdir,
            smtp_config(
                server.port, "\n[delivery]\nretry_base_seconds = 1\nretry_max_seconds = 2\nmax_attempts = 50\n"
            ),
        )
        add_profiles(workdir, 10)
        running = Running(workdir)
        try:
            wait_for(lambda: states(workdir) == Counter({"sent": 10}), timeout=90)
        finally:
            err = running.stop()
        received = Counter(r.message["Message-ID"] for r in server.handler.received)
    assert running.proc.returncode == 0, err
    assert "451 4.3.0 Try again later" in err and "will retry" in err
    assert len(received) == 10 and set(received.values()) == {1}
    assert len(server.handler.attempts) == 35  # 25 refused, then each of the 10 accepted once


def test_sigterm_mid_batch_finishes_the_message_being_sent_and_releases_the_rest(workdir, bot, tmp_path):
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.delay = 0.3
        configure(workdir, smtp_config(server.port, "\n[delivery]\nbatch_size = 20\n"))
        add_profiles(workdir, 20)
        running = Running(workdir)
        try:
            wait_for(lambda: len(server.handler.received) >= 3, timeout=60)
        finally:
            err = running.stop()
        assert running.proc.returncode == 0, err
        taken = len(server.handler.received)
        with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store, store.engine.connect() as conn:
            rows = conn.execute(sa.select(digests.c.state, digests.c.lease_owner, digests.c.attempts)).all()
        sent = [r for r in rows if r.state == "sent"]
        waiting = [r for r in rows if r.state == "pending"]
        # Every message the server took is recorded as sent: the one in flight was finished, not dropped.
        assert len(sent) == taken and 3 <= taken < 20
        # The rest of the claimed batch was given back at once, unattempted, for the next run.
        assert len(waiting) == 20 - taken
        assert all(r.lease_owner is None and r.attempts == 0 for r in waiting)
        assert bot("run", "--once").exit_code == 0
        received = Counter(r.message["Message-ID"] for r in server.handler.received)
    assert len(received) == 20 and set(received.values()) == {1}


def test_batches_slower_than_their_lease_are_still_sent_once(workdir, bot, tmp_path):
    """A batch takes longer than its lease, and a second process takes over what the first had not
    reached yet: each process renews its claim before each send, so no message goes twice."""
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.delay = 0.5
        configure(workdir, smtp_config(server.port, "\n[delivery]\nbatch_size = 6\nlease_seconds = 1\n"))
        add_profiles(workdir, 12)
        two_processes_until_sent(workdir, 12)
        received = Counter(r.message["Message-ID"] for r in server.handler.received)
    assert len(received) == 12 and set(received.values()) == {1}, received


def test_a_digest_slower_than_its_lease_beside_a_tick_sends_each_address_once(workdir, bot, tmp_path):
    """`bot digest` sends for longer than a lease while `bot run --once` starts beside it: the lease
    of the message being sent is renewed from the real clock, so the tick never takes it over."""
    assert bot("fetch").exit_code == 0
    with smtp_server(tmp_path, security="none", auth=False) as server:
        server.handler.delay = 0.6  # ten messages take six seconds, three leases
        configure(workdir, smtp_config(server.port, "\n[delivery]\nlease_seconds = 2\n"))
        add_profiles(workdir, 10)
        digest = start(workdir, "digest")
        try:
            wait_for(lambda: len(server.handler.received) >= 4 or digest.poll() is not None, timeout=120)
            tick = start(workdir, "run", "--once")
            tick_out, tick_err = tick.communicate(timeout=120)
        finally:
            digest_out, digest_err = digest.communicate(timeout=120)
        received = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert digest.returncode == 0, digest_out + digest_err
    assert tick.returncode == 0, tick_out + tick_err
    assert received == Counter({f"reader{i:02d}@example.org": 1 for i in range(10)}), received


class SilentServer:
    """A port that takes connections and never says a word, as a hung mail server does; counts them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                self.connections.append(self.listener.accept()[0])

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in [*self.connections, self.listener]:
            conn.close()


@contextlib.contextmanager
def unreachable_mail_server(kind: str) -> Iterator[tuple[int, SilentServer | None]]:
    """A port where no mail server answers: nothing listening ("refused"), or one that never speaks."""
    if kind == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield port, None
        return
    silent = SilentServer()
    try:
        yield silent.port, silent
    finally:
        silent.close()


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_a_mail_server_that_cannot_be_reached_costs_a_tick_one_attempt(workdir, bot, tmp_path, kind):
    """The first digest finds no server; the others are left untried (no attempt counted) for the
    next tick, which delivers them once the server is up."""
    with unreachable_mail_server(kind) as (port, silent):
        configure(
            workdir,
            f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nattempts = 1\ntimeout = 0.5\n'
            "\n[delivery]\nretry_base_seconds = 60\n",
        )
        with at("2026-11-27T00:00"):
            for i, topic in enumerate(TOPICS):
                bot("profile", "add", f"p{i}", "-k", topic, "--at", "08:00", "--email", f"reader{i}@example.org")
            bot("profile", "add", "team", "-k", "vision", "--at", "08:00", "--slack-channel", "#papers")
            assert bot("fetch").exit_code == 0
        with at("2026-11-27T08:00"):
            result = bot("run", "--once")
        assert result.exit_code == 0, result.stderr
        *emails, slack = summaries(workdir)
        assert (slack.channel, slack.state) == ("slack", "sent"), "another channel still goes"
        first, *rest = emails
        assert (first.state, first.attempts) == ("pending", 1)
        assert first.last_error.startswith("127.0.0.1 did not take the message for reader0@example.org")
        assert [(s.state, s.attempts, s.last_error) for s in rest] == [("pending", 0, None)] * (len(TOPICS) - 1)
        if silent is not None:
            assert len(silent.connections) == 1
    with smtp_server(tmp_path, security="none", auth=False, port=port) as server:
        with at("2026-11-27T08:00:30"):  # the first digest waits out its retry delay; the others go
            assert bot("run", "--once").exit_code == 0
        assert [s.state for s in summaries(workdir)] == ["pending"] + ["sent"] * len(TOPICS)
        with at("2026-11-27T08:01:01"):
            assert bot("run", "--once").exit_code == 0
        received = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert received == Counter({f"reader{i}@example.org": 1 for i in range(len(TOPICS))})
