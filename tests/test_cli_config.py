"""The config file is checked as it is read: a bad value is one line naming its key, exit 2, nothing written."""

import json

import pytest

from bot.sources import SOURCE_KINDS


def refused(workdir, bot, body, *command: str):
    """Run a command with `body` as config/bot.toml; return its one-line error."""
    (workdir / "config" / "bot.toml").write_bytes(body if isinstance(body, bytes) else body.encode())
    result = bot(*(command or ("profile", "list")))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    assert not (workdir / "data").exists()  # refused before the store was opened
    return result.stderr.removeprefix("Error: ").rstrip("\n")


def test_a_config_file_that_is_not_utf8_names_the_line(workdir, bot):
    body = "[digest]\ntop = 10\n# caf\xe9 in Latin-1\nmin_score = 0.1\n".encode("latin-1")
    assert refused(workdir, bot, body) == "config/bot.toml:3: not UTF-8 text (byte 0xe9): save the file as UTF-8"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[digest]\ntop = -5", "[digest] top must be from 1 to 50, not -5"),
        ("[digest]\ntop = 51", "[digest] top must be from 1 to 50, not 51"),
        ("[digest]\nmin_score = 7", "[digest] min_score must be a number from 0 up to (not including) 1, not 7"),
        ("[digest]\nmin_score = -0.1", "[digest] min_score must be a number from 0 up to (not including) 1, not -0.1"),
        ("[digest]\nmax_age_days = 0", "[digest] max_age_days must be at least 1, not 0"),
        ("[digest]\nabstract_chars = -1", "[digest] abstract_chars must be at least 0, not -1"),
        ("[schedule]\ntick_seconds = 0", "[schedule] tick_seconds must be at least 1, not 0"),
        ("[schedule]\ncatch_up_hours = -1", "[schedule] catch_up_hours must be at least 0, not -1"),
        ("[delivery]\nbatch_size = 0", "[delivery] batch_size must be at least 1, not 0"),
        ("[delivery]\nlease_seconds = -300", "[delivery] lease_seconds must be at least 1, not -300"),
        ("[rank]\nrefresh_days = 0", "[rank] refresh_days must be at least 1, not 0"),
        ("[smtp]\nport = 70000", "[smtp] port must be from 1 to 65535, not 70000"),
        ("[smtp]\ntimeout = 0", "[smtp] timeout must be above 0, not 0"),
        ("[web]\nfeedback_days = 0", "[web] feedback_days must be at least 1, not 0"),
    ],
)
def test_a_number_out_of_range_is_refused_naming_its_key(workdir, bot, body, message):
    assert refused(workdir, bot, body) == f"config/bot.toml: {message}"


def test_the_edges_of_each_range_are_accepted(workdir, bot):
    (workdir / "config" / "bot.toml").write_text(
        "[digest]\ntop = 50\nmin_score = 0\nmax_age_days = 1\nabstract_chars = 0\n"
        "[schedule]\ntick_seconds = 1\ncatch_up_hours = 0\n"
    )
    assert bot("profile", "add", "p", "-k", "graphs").exit_code == 0
    assert json.loads(bot("profile", "show", "p", "--json").output)["top"] == 50


def test_the_default_top_and_min_score_of_the_file_never_surface_as_an_option_the_user_did_not_type(workdir, bot):
    message = refused(workdir, bot, "[digest]\ntop = -5\n", "profile", "add", "p", "-k", "graphs")
    assert "--top" not in message and "[digest] top" in message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[smtp]\nsender = "Papers <papers@example.org>\\r\\nBcc: everyone@example.org"',
            "[smtp] sender must be one line with no control characters, "
            "not 'Papers <papers@example.org>\\r\\nBcc: everyone@example.org'",
        ),
        ('[smtp]\nsender = "Papers <papers@example.org>\\n"', "[smtp] sender must be one line"),
        ('[smtp]\nsender = "Papers"', '[smtp] sender must be an email address, like "Paper digest'),
        ('[smtp]\nunsubscribe_mailto = "unsubscribe@example.org\\r\\nX: y"', "[smtp] unsubscribe_mailto must be one"),
    ],
)
def test_a_sender_that_would_break_the_mail_headers_is_refused(workdir, bot, body, message):
    assert refused(workdir, bot, body, "digest").startswith(f"config/bot.toml: {message}")


def test_an_unknown_source_kind_in_the_file_is_bad_config_for_every_command(workdir, bot):
    config = (workdir / "config" / "bot.toml").read_text() + '\n[[sources]]\nname = "x"\nkind = "gopher"\n'
    known = ", ".join(sorted(SOURCE_KINDS))
    for command in (("fetch",), ("profile", "list")):
        message = refused(workdir, bot, config, *command)
        assert message == f"config/bot.toml: source 'x': unknown kind 'gopher' (known: {known})"


def test_without_a_config_file_one_warning_says_which_defaults_are_used(tmp_path, monkeypatch, bot):
    monkeypatch.chdir(tmp_path)
    result = bot("profile", "list")
    assert result.exit_code == 0
    assert result.stderr == (
        "Warning: config/bot.toml not found: using the defaults (SQLite store at data/bot.db, "
        "text model at data/text-model.joblib, email digests written to outbox/, "
        "no sources but those added with `bot source add`); create it or pass --config\n"
    )
    assert (tmp_path / "data" / "bot.db").exists()
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert "(the store in BOT_DATABASE_URL, text model" in bot("profile", "list").stderr


def test_a_config_file_given_but_missing_is_still_an_error_and_a_present_one_warns_nothing(workdir, bot):
    result = bot("profile", "list", "--config", "missing.toml")
    assert (result.exit_code, result.stderr) == (2, "Error: missing.toml: no such config file\n")
    result = bot("profile", "list")
    assert (result.exit_code, result.stderr) == (0, "")
