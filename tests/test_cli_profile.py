import json

import pytest

from bot.models import Listing, Profile
from bot.store import Store
from tests.conftest import FIXTURES
from tests.feed_server import Reply

HF_API = (FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json").read_bytes()


def stored_profiles(workdir):
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        return [p.name for p in store.profiles()]


def test_add_list_show_edit_remove(workdir, bot):
    result = bot(
        "profile",
        "add",
        "decoding",
        "--keywords",
        "speculative decoding, draft model",
        "--exclude",
        "survey",
        "--email",
        "Me@Example.org",
        "--slack-channel",
        "#papers",
        "--top",
        "5",
        "--at",
        "07:30",
        "--tz",
        "Europe/Berlin",
    )
    assert result.exit_code == 0, result.output
    assert "Added profile decoding: keywords speculative decoding, draft model" in result.output

    listed = bot("profile", "list")
    assert (
        "decoding" in listed.output and "email, slack" in listed.output and "daily 07:30 Europe/Berlin" in listed.output
    )

    shown = json.loads(bot("profile", "show", "decoding", "--json").output)
    assert shown["keywords"] == ["speculative decoding", "draft model"]
    assert shown["exclude"] == ["survey"]
    assert shown["email"] == "Me@example.org"  # the domain is case-insensitive and normalised
    assert (shown["top"], shown["send_at"], shown["tz"]) == (5, "07:30", "Europe/Berlin")

    lines = bot("profile", "show", "decoding").output.splitlines()
    assert "keywords:      speculative decoding, draft model" in lines
    assert "skip_weekends: False" in lines  # the longest labels stand apart from their values too
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}) == 1  # one column

    edited = bot(
        "profile", "edit", "decoding", "--keywords", "lookahead decoding", "--email", "", "--schedule", "weekly"
    )
    assert edited.exit_code == 0, edited.output
    shown = json.loads(bot("profile", "show", "decoding", "--json").output)
    assert shown["keywords"] == ["lookahead decoding"]
    assert shown["email"] is None and shown["schedule"] == "weekly"
    assert shown["exclude"] == ["survey"]  # options not given are kept

    assert bot("profile", "remove", "decoding").exit_code == 0
    assert "No profiles yet" in bot("profile", "list").output


def test_profiles_take_their_defaults_from_the_config(workdir, bot):
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + "\n[digest]\ntop = 7\nmin_score = 0.2\n")
    bot("profile", "add", "p", "--keywords", "graphs")
    shown = json.loads(bot("profile", "show", "p", "--json").output)
    assert (shown["top"], shown["min_score"]) == (7, 0.2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Error: profile 'p' has no interests: give --keywords, --like or --author"),
        (["--keywords", " , "], "Error: profile 'p' has no interests: give --keywords, --like or --author"),
        (["-k", "graphs", "--email", "not-an-address"], "Error: invalid email 'not-an-address': "),
        (
            ["-k", "graphs", "--tz", "Mars/Olympus"],
            "Error: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin or UTC",
        ),
        (["-k", "graphs", "--at", "25:00"], "Error: invalid time '25:00': use HH:MM on a 24-hour clock, e.g. 08:00"),
        (["-k", "graphs", "--at", "8am"], "Error: invalid time '8am': use HH:MM on a 24-hour clock, e.g. 08:00"),
        (["-k", "graphs", "--top", "0"], "Error: invalid --top 0: a digest holds between 1 and 50 papers"),
        (
            ["-k", "graphs", "--min-score", "1.5"],
            "Error: invalid --min-score 1.5: use a number from 0 up to (not including) 1",
        ),
        (
            ["-k", "graphs", "--like", "title:nope"],
            "Error: unknown listing id(s) title:nope: see `bot listings` for the ids",
        ),
        (["-k", "graphs", "--slack-channel", "<!channel>"], "Error: invalid Slack channel '<!channel>'"),
        (["-k", "survey", "--exclude", "Survey"], "Error: 'survey' is both a keyword and excluded"),
        (["-k", "graphs", "--trend", "2"], "Error: invalid --trend 2.0: use a number from 0 (off) to 1"),
        # Keywords the ranker can never match: one-letter words and stop words are not matched.
        (
            ["-k", "program synthesis, C++"],
            "Error: keyword 'C++' can never match a paper: words of one letter and common English words",
        ),
        (["-k", "the of and"], "Error: keyword 'the of and' can never match a paper"),
        (["-k", "graphs", "-x", "IT"], "Error: excluded word 'IT' can never match a paper"),
    ],
)
def test_bad_profiles_are_refused_in_one_line_and_nothing_is_written(workdir, bot, args, message):
    result = bot("profile", "add", "p", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert stored_profiles(workdir) == []


def test_a_bad_name_and_a_second_profile_of_the_same_name_are_refused(workdir, bot):
    assert bot("profile", "add", "../etc", "-k", "graphs").stderr.startswith("Error: invalid profile name '../etc'")
    assert bot("profile", "add", "p", "-k", "graphs").exit_code == 0
    again = bot("profile", "add", "p", "-k", "trees")
    assert (again.exit_code, again.stderr) == (
        2,
        "Error: profile 'p' already exists; change it with `bot profile edit`\n",
    )


def test_an_edit_that_would_break_the_profile_changes_nothing(workdir, bot):
    bot("profile", "add", "p", "-k", "graphs", "--tz", "Europe/Berlin")
    result = bot("profile", "edit", "p", "--tz", "Nowhere/City")
    assert result.exit_code == 2
    assert json.loads(bot("profile", "show", "p", "--json").output)["tz"] == "Europe/Berlin"
    assert (
        bot("profile", "edit", "missing", "-k", "y").stderr
        == "Error: no profile named 'missing' (see `bot profile list`)\n"
    )


def test_example_papers_must_be_stored_listings(workdir, bot):
    bot("fetch")
    listing_id = json.loads(bot("listings", "--json", "--limit", "1").output)["id"]
    result = bot("profile", "add", "p", "--like", listing_id)
    assert result.exit_code == 0, result.stderr
    assert "1 example paper" in result.output


def test_import_creates_then_updates_and_refuses_all_on_one_bad_entry(workdir, bot):
    good = workdir / "profiles.toml"
    good.write_text(
        '[[profiles]]\nname = "a"\nkeywords = ["graphs"]\n\n[[profiles]]\nname = "b"\nkeywords = "trees, paths"\n'
        'tz = "Asia/Tokyo"\n'
    )
    assert bot("profile", "import", str(good)).output == "Imported 2 profiles: a, b\n"
    assert bot("profile", "import", str(good)).exit_code == 0  # again: updated in place
    assert json.loads(bot("profile", "show", "b", "--json").output)["keywords"] == ["trees", "paths"]

    bad = workdir / "bad.toml"
    bad.write_text(
        '[[profiles]]\nname = "c"\nkeywords = ["ai"]\n\n[[profiles]]\nname = "d"\nkeywords = ["ai"]\ntop = "ten"\n'
    )
    result = bot("profile", "import", str(bad))
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: bad.toml: profile 2: top must be a whole number, not 'ten'\n".replace("bad.toml", str(bad)),
    )
    assert stored_profiles(workdir) == ["a", "b"]
    typo = workdir / "typo.toml"
    typo.write_text('[[profiles]]\nname = "c"\nkeyword = ["x"]\n')
    assert "unknown key(s) keyword" in bot("profile", "import", str(typo)).stderr


def test_trend_is_set_shown_and_edited(workdir, bot):
    added = bot("profile", "add", "hot", "--keywords", "agents", "--trend", "0.5")
    assert added.exit_code == 0 and "trend 0.5" in added.output
    assert json.loads(bot("profile", "show", "hot", "--json").output)["trend"] == 0.5
    assert bot("profile", "edit", "hot", "--trend", "0").exit_code == 0
    assert json.loads(bot("profile", "show", "hot", "--json").output)["trend"] == 0.0


def test_only_newly_typed_keywords_are_checked_so_older_profiles_keep_working(workdir, bot):
    # A profile stored before keywords were checked, with one that matches nothing, still takes
    # other changes and votes; a new keyword that matches nothing is refused.
    bot("fetch")
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        store.add_profile(Profile(name="old", keywords=["R", "statistics"]))
        listing = store.listings(limit=1)[0].id
    assert bot("profile", "edit", "old", "--top", "5").exit_code == 0
    assert bot("feedback", "old", listing, "up").exit_code == 0
    assert bot("profile", "edit", "old", "-k", "R, statistics, causal inference").exit_code == 0
    refused = bot("profile", "edit", "old", "-k", "R, statistics, C++")
    assert (refused.exit_code, refused.stderr.split(":")[0]) == (2, "Error")
    assert "keyword 'C++' can never match" in refused.stderr
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        assert store.profile("old").keywords == ["R", "statistics", "causal inference"]


def test_edit_names_no_defaults_and_refuses_to_change_nothing(workdir, bot):
    assert "[default: 08:00]" in bot("profile", "add", "--help").output
    edit_help = bot("profile", "edit", "--help").output
    assert "Local send time" in edit_help
    assert [line.split()[0] for line in edit_help.splitlines() if "[default:" in line] == ["--config"]
    bot("profile", "add", "p", "-k", "graphs", "--at", "07:30", "--tz", "Europe/Berlin")
    result = bot("profile", "edit", "p")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: nothing to change: give at least one option (see `bot profile edit --help`)\n",
    )
    assert bot("profile", "edit", "p", "--no-skip-weekends").exit_code == 0  # a flag's "off" is an option too
    shown = json.loads(bot("profile", "show", "p", "--json").output)
    assert (shown["send_at"], shown["tz"]) == ("07:30", "Europe/Berlin")


def test_a_weekly_profile_is_listed_with_its_weekday(workdir, bot):
    added = bot("profile", "add", "w", "-k", "graphs", "--schedule", "weekly", "--weekday", "thu", "--at", "09:00")
    assert "top 10 weekly thu at 09:00 UTC" in added.output
    bot("profile", "add", "d", "-k", "trees")
    rows = bot("profile", "list").output.splitlines()
    assert rows[1].split()[:2] == ["d", "trees"] and "daily 08:00 UTC" in rows[1]
    assert rows[2].split()[:2] == ["w", "graphs"] and "weekly thu 09:00 UTC" in rows[2]


def test_arxiv_ids_and_links_are_taken_wherever_a_listing_id_is(workdir, bot, feed_server):
    bot("source", "add", "hf", "--kind", "hf_daily", "--url", feed_server.serve("/hf", Reply(body=HF_API)))
    assert bot("fetch").exit_code == 0
    with Store(f"sqlite:///{workdir / 'data' / 'bot.db'}") as store:
        store.upsert_listings([Listing(id="arxiv:hep-th/0701001", title="Strings", abstract="Branes.")])
    added = bot(
        "profile",
        "add",
        "p",
        "-k",
        "decoding",
        "--like",
        "2606.12243",
        "--like",
        "https://arxiv.org/abs/2606.13392v2",
        "--like",
        "arXiv:2606.12243v3",  # the same paper again
        "--dislike",
        "https://arxiv.org/pdf/2606.00467v1.pdf",
    )
    assert added.exit_code == 0, added.stderr
    assert bot("profile", "edit", "p", "--like", "hep-th/0701001v1").exit_code == 0
    voted = bot("feedback", "p", "https://arxiv.org/abs/2606.12730", "up")
    assert (voted.exit_code, voted.stdout) == (0, "Recorded 👍 for arxiv:2606.12730 in p\n")
    assert bot("feedback", "p", "2606.13174v2", "down").exit_code == 0
    shown = json.loads(bot("profile", "show", "p", "--json").output)
    assert shown["likes"] == ["arxiv:hep-th/0701001"]
    assert shown["dislikes"] == ["arxiv:2606.00467"]
    assert (shown["voted_up"], shown["voted_down"]) == (["arxiv:2606.12730"], ["arxiv:2606.13174"])
    bot("profile", "edit", "p", "--like", "2606.12243", "--like", "https://arxiv.org/abs/2606.13392v2")
    assert json.loads(bot("profile", "show", "p", "--json").output)["likes"] == [
        "arxiv:2606.12243",
        "arxiv:2606.13392",
    ]
    (workdir / "p.toml").write_text(
        '[[profiles]]\nname = "q"\nkeywords = ["decoding"]\nlikes = ["https://arxiv.org/pdf/2606.12730v1"]\n'
    )
    assert bot("profile", "import", "p.toml").exit_code == 0
    assert json.loads(bot("profile", "show", "q", "--json").output)["likes"] == ["arxiv:2606.12730"]
    unknown = bot("feedback", "p", "2699.99999", "up")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "Error: unknown listing id 'arxiv:2699.99999': see `bot listings` for the ids\n",
    )
