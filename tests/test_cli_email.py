"""`bot digest` with [smtp] and [web] configured or not, `bot digest --preview`, and `bot serve`,
run as a user runs them, against a real SMTP server and a real `bot serve` process."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from bot.links import Links
from bot.store import Store
from bot.store.schema import digests
from tests.conftest import CONFIG, SEED_PAGE
from tests.smtp_server import PASSWORD, USER, smtp_server
from tests.test_run import at

SECRET = "cli-secret-0123456789-abcdefghijklmnop"
SMTP_CONFIG = """
[smtp]
host = "{host}"
port = {port}
security = "starttls"
username = "{user}"
sender = "Paper digest <papers@digest.example.org>"
ca_file = "{ca_file}"
attempts = 2

[web]
base_url = "https://papers.example.org"
"""


def configure(workdir, server=None, **extra: str) -> None:
    text = CONFIG.format(seed=SEED_PAGE.as_posix())
    if server is not None:
        text += SMTP_CONFIG.format(host=server.host, port=server.port, user=USER, ca_file=server.ca_file.as_posix())
    for section, body in extra.items():
        text += f"\n[{section}]\n{body}\n"
    (workdir / "config" / "bot.toml").write_text(text, encoding="utf-8")


def notes(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Note: ")]


def prepare_profiles(bot) -> None:
    assert (
        bot("profile", "add", "sd", "-k", "speculative decoding", "--email", "sd@example.org", "--top", "3").exit_code
        == 0
    )
    assert (
        bot("profile", "add", "vis", "-k", "image generation", "--email", "vis@example.org", "--top", "2").exit_code
        == 0
    )
    assert bot("fetch").exit_code == 0


def test_digest_sends_real_mail_through_the_configured_server(workdir, bot, monkeypatch, tmp_path):
    prepare_profiles(bot)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("BOT_SECRET", SECRET)
    with smtp_server(tmp_path) as server:
        configure(workdir, server)
        result = bot("digest")
    assert result.exit_code == 0, result.output + result.stderr
    assert notes(result.output) == ["Note: SLACK_BOT_TOKEN is not set: Slack digests go to the local outbox outbox/"]
    assert "Delivered 2 digests:" in result.output
    assert f"sd via email → 127.0.0.1:{server.port} accepted it for sd@example.org as <" in result.output
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == ["sd@example.org", "vis@example.org"]
    assert {r.session for r in server.handler.received} == {0}
    assert all(r.tls and r.authenticated for r in server.handler.received)
    assert not list((workdir / "outbox").glob("*.eml")), "real mail, not the outbox"
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store, store.engine.connect() as conn:
        stored = set(conn.execute(sa.select(digests.c.message_id)).scalars())
    assert {r.message["Message-ID"] for r in server.handler.received} == stored
    msg = server.handler.received[0].message
    assert msg["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")
    assert msg["From"] == "Paper digest <papers@digest.example.org>"


def test_without_smtp_the_outbox_stays_the_default_in_one_line(workdir, bot):
    prepare_profiles(bot)
    result = bot("digest")
    assert result.exit_code == 0
    assert notes(result.output) == ["Note: email and Slack are not configured: digests go to the local outbox outbox/"]
    assert len(list((workdir / "outbox").glob("*_email_*.eml"))) == 2


def test_a_missing_password_keeps_email_in_the_outbox_with_one_note(workdir, bot, tmp_path):
    prepare_profiles(bot)
    with smtp_server(tmp_path) as server:
        configure(workdir, server)
        result = bot("digest")
    assert result.exit_code == 0
    assert notes(result.output)[0] == (
        "Note: SMTP_PASSWORD is not set for [smtp] username 'digest-bot': email digests go to the local outbox outbox/"
    )
    assert server.handler.attempts == []
    assert "Traceback" not in result.output


def test_real_mail_without_a_secret_goes_without_links_and_says_so(workdir, bot, monkeypatch, tmp_path):
    prepare_profiles(bot)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with smtp_server(tmp_path) as server:
        configure(workdir, server)
        result = bot("digest")
    assert result.exit_code == 0
    assert "Note: emails carry no unsubscribe or 👍/👎 links: BOT_SECRET is not set" in notes(result.output)
    assert all(r.message["List-Unsubscribe"] is None for r in server.handler.received)
    assert len(server.handler.received) == 2


def test_a_refused_address_exits_1_and_the_other_digest_still_goes(workdir, bot, monkeypatch, tmp_path):
    prepare_profiles(bot)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with smtp_server(tmp_path) as server:
        server.handler.refuse["sd@example.org"] = "550 5.1.1 <sd@example.org>: Recipient address rejected"
        configure(workdir, server)
        result = bot("digest")
    assert result.exit_code == 1
    assert "Error: digest 1 for sd via email: 127.0.0.1 refused sd@example.org: 550 5.1.1" in (result.stderr)
    assert [r.rcpt_tos for r in server.handler.received] == [["vis@example.org"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[email]\nsender = "x@example.org"', "[email] is now part of [smtp]: move `sender` to [smtp]"),
        ('[smtp]\nsecurity = "tls"', "[smtp] security must be one of starttls, ssl, none, not 'tls'"),
        ('[smtp]\npassword = "no"', "unknown key 'password' in [smtp]"),
        ('[web]\nbase_url = "papers.example.org"', "[web] base_url must start with https://"),
        (
            '[smtp]\nhost = "mail.example.org"\nsecurity = "none"\nusername = "bot"',
            'security = "none" with a username would send the password unencrypted',
        ),
    ],
)
def test_bad_email_settings_are_refused_in_one_line(workdir, bot, body, message):
    (workdir / "bad.toml").write_text(body)
    result = bot("digest", "--config", "bad.toml")
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_unreadable_ca_file_is_one_line(workdir, bot, monkeypatch):
    prepare_profiles(bot)
    configure(workdir, smtp='host = "127.0.0.1"\nca_file = "missing-ca.pem"')
    result = bot("digest")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: [smtp] ca_file 'missing-ca.pem': cannot read CA certificates")


def test_preview_writes_the_html_and_records_nothing(workdir, bot):
    prepare_profiles(bot)
    result = bot("digest", "--profile", "sd", "--preview")
    assert result.exit_code == 0
    path = workdir / result.output.strip()
    assert path == workdir / "outbox" / "preview-sd.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style" not in html and "Papers on speculative decoding" in html
    assert "/unsubscribe/" not in html and "/feedback/" not in html
    assert [f.name for f in (workdir / "outbox").iterdir()] == ["preview-sd.html"]
    # Nothing was recorded: the real digest still has its papers, and a preview after it still works.
    assert "Delivered 2 digests" in bot("digest").output
    again = bot("digest", "--profile", "sd", "--preview", "--out", "elsewhere/p.html")
    assert again.output.strip() == "elsewhere/p.html" and (workdir / "elsewhere" / "p.html").exists()
    assert bot("digest", "--preview").stderr == "Error: --preview needs --profile NAME\n"
    assert bot("digest", "--profile", "sd", "--preview", "--dry-run").exit_code == 2


def test_serve_refuses_to_start_without_a_secret(workdir, bot):
    result = bot("serve")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: BOT_SECRET is not set: `bot serve` checks the signed links with it\n",
    )


@pytest.mark.parametrize("secret", ["s", " " * 40, "x" * 31, "a" + " " * 40 + "b", "\t\n" * 20])
@pytest.mark.parametrize("command", [("serve",), ("digest",), ("run", "--once")])
def test_a_weak_secret_is_refused_in_one_line_naming_how_to_make_one(workdir, bot, monkeypatch, secret, command):
    configure(workdir, web='base_url = "https://papers.example.org"')
    prepare_profiles(bot)
    monkeypatch.setenv("BOT_SECRET", secret)
    result = bot(*command)
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: BOT_SECRET is too short: it needs 32 bytes or more that are not spaces; "
        'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"\n',
    )
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store, store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(digests)).scalar() == 0, "nothing composed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_a_one_click_unsubscribe_for_real(workdir, bot):
    configure(workdir, web='base_url = "https://papers.example.org"')
    assert bot("profile", "add", "sd", "-k", "decoding", "--email", "sd@example.org").exit_code == 0
    port = _free_port()
    env = {"BOT_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    if client.get("/healthz").text == "ok":
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                pytest.fail("bot serve did not answer /healthz")
            with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
                profile = store.profile("sd")
                url = Links(SECRET, "https://papers.example.org").unsubscribe_url(profile.id, "sd@example.org")
                response = client.post(
                    url.removeprefix("https://papers.example.org"), data={"List-Unsubscribe": "One-Click"}
                )
                assert response.status_code == 200
                assert store.profile("sd").email_unsubscribed
    finally:
        proc.terminate()
        proc.wait(10)
        log = proc.stdout.read().decode()
        proc.stdout.close()
    assert "bot.web: profile sd: email unsubscribed" in log
    assert "/unsubscribe/" not in log, "no token in the log"
    listed = bot("profile", "list")
    assert listed.output.splitlines()[1].split()[:4] == ["sd", "decoding", "nowhere", "(email"]
    show = bot("profile", "show", "sd", "--json")
    assert '"email": "sd@example.org"' in show.output and '"email_unsubscribed_at": "' in show.output
    # Nothing goes out to an unsubscribed address, and the digest says why.
    bot("fetch")
    digest = bot("digest")
    assert digest.exit_code == 0 and "sd@example.org unsubscribed" in digest.output
    assert not (workdir / "outbox").exists()
    # Giving the address again subscribes it again.
    edited = bot("profile", "edit", "sd", "--email", "sd@example.org")
    assert edited.output.rstrip().endswith("to email")


def test_importing_the_same_profiles_again_does_not_resubscribe(workdir, bot):
    file = workdir / "profiles.toml"
    file.write_text('[[profiles]]\nname = "sd"\nkeywords = ["decoding"]\nemail = "sd@example.org"\n')
    assert bot("profile", "import", str(file)).exit_code == 0
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        store.unsubscribe_email(store.profile("sd").id, "sd@example.org")
    assert bot("profile", "import", str(file)).exit_code == 0
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        assert store.profile("sd").email_unsubscribed
    file.write_text('[[profiles]]\nname = "sd"\nkeywords = ["decoding"]\nemail = "new@example.org"\n')
    assert bot("profile", "import", str(file)).exit_code == 0
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        assert store.profile("sd").channels == ["email"], "a new address is a new subscription"


def one_try_per_message(workdir) -> None:
    """[smtp] attempts = 1: a refused message waits for the next run at once, without a backoff."""
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text().replace("attempts = 2", "attempts = 1"))


def rows(output: str) -> dict[str, str]:
    """The digest table's STATUS column by profile."""
    header, *lines = output.split("\nNote: ")[0].splitlines()
    start, end = header.index("STATUS"), header.index("TOP PAPER")
    return {line.split()[0]: line[start:end].strip() for line in lines}


def test_digest_says_a_failed_digest_is_retrying_and_then_sent_on_its_second_try(workdir, bot, monkeypatch, tmp_path):
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with at("2026-11-27T08:00"):
        prepare_profiles(bot)
    with smtp_server(tmp_path) as server:
        configure(workdir, server)
        one_try_per_message(workdir)
        server.handler.data_replies = ["451 4.3.0 Try again later"]  # sd's digest, the first
        with at("2026-11-27T08:00"):
            first = bot("digest")
        assert first.exit_code == 1
        assert rows(first.output) == {"sd": "retrying (next try 08:01 UTC)", "vis": "sent"}
        assert "Error: digest 1 for sd via email: " in first.stderr
        with at("2026-11-27T08:00:30"):  # by hand, before the retry delay is over
            second = bot("digest")
    assert second.exit_code == 0, second.stderr
    assert rows(second.output) == {"sd": "sent on try 2", "vis": "already sent"}
    assert "Delivered 1 digest:\n  sd via email → " in second.output
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == ["sd@example.org", "vis@example.org"]


def test_digest_says_a_digest_leased_by_another_process_is_in_progress_until_its_lease_ends(
    workdir, bot, monkeypatch, tmp_path
):
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with at("2026-11-27T08:00"):
        prepare_profiles(bot)
    with smtp_server(tmp_path) as server:
        configure(workdir, server)
        one_try_per_message(workdir)
        server.handler.data_replies = ["451 4.3.0 Try again later"] * 2
        with at("2026-11-27T08:00"):
            assert bot("digest").exit_code == 1
        # Another process claims both and dies while sending: its lease holds them until 08:05:10.
        with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
            claimed = store.claim_deliveries(
                "elsewhere:4242:dead",
                now=datetime(2026, 11, 27, 8, 0, 10, tzinfo=UTC),
                lease=timedelta(minutes=5),
                limit=10,
                include_waiting=True,
            )
        assert len(claimed) == 2
        with at("2026-11-27T08:02"):
            held = bot("digest")
        assert held.exit_code == 0, held.stderr
        assert set(rows(held.output).values()) == {"in progress (leased until 08:05 UTC)"}
        assert "Delivered" not in held.output and len(server.handler.attempts) == 2
        with at("2026-11-27T08:06"):  # the lease ran out: the process is gone, the digests go now
            after = bot("digest")
    assert after.exit_code == 0, after.stderr
    assert rows(after.output) == {"sd": "sent on try 3", "vis": "sent on try 3"}
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == ["sd@example.org", "vis@example.org"]


def test_a_second_digest_behind_a_running_one_says_which_is_sent_and_which_in_progress(
    workdir, bot, monkeypatch, tmp_path
):
    from tests.test_run import start, wait_for

    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    prepare_profiles(bot)
    with smtp_server(tmp_path) as server:
        server.handler.delay = 1.5  # each message takes a while: the second run comes while vis's is sent
        configure(workdir, server)
        running = start(workdir, "digest", env={"SMTP_PASSWORD": PASSWORD})
        try:
            wait_for(lambda: len(server.handler.received) == 1 or running.poll() is not None, timeout=60)
            behind = bot("digest")
        finally:
            out, err = running.communicate(timeout=60)
    assert running.returncode == 0, out + err
    assert behind.exit_code == 0, behind.stderr
    status = rows(behind.output)
    assert status["sd"] == "already sent"
    assert re.fullmatch(r"in progress \(leased until \d\d:\d\d UTC\)", status["vis"]), status
    assert "Delivered" not in behind.output
    assert rows(out) == {"sd": "sent", "vis": "sent"}
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == ["sd@example.org", "vis@example.org"]
