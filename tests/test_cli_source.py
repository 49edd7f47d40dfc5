"""`bot source add|list|remove|test` and `bot fetch` with real sources served on 127.0.0.1."""

import io
import json
import re
import time
import tomllib

import pytest

from bot.config import load_config
from bot.flow.fetch import FetchResult
from bot.sources import make_source
from tests.conftest import FIXTURES, ROOT, SEED_PAGE
from tests.feed_server import Reply

RSS_AI = (FIXTURES / "arxiv_rss_2026-04-27_cs.AI_trimmed.xml").read_bytes()
ARXIV_API = (FIXTURES / "arxiv_api_2026-06_transformer_cat-cs.LG.xml").read_bytes()
HF_API = (FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json").read_bytes()


def test_add_list_fetch_and_remove_a_source(workdir, bot, feed_server):
    url = feed_server.serve("/rss", Reply(body=RSS_AI))
    added = bot("source", "add", "ai", "--kind", "arxiv_rss", "--url", url, "--every", "1d")
    assert added.exit_code == 0, added.output
    assert "Added source ai (arxiv_rss)" in added.output
    listed = bot("source", "list").output.splitlines()
    assert listed[0].split() == ["NAME", "KIND", "FROM", "EVERY", "LAST", "FETCH", "OUTCOME", "NEW", "LAST", "ERROR"]
    assert listed[1].split()[:6] == ["hf-daily-seed", "seed_page", "config", "6h", "never", "-"]
    assert listed[2].split()[:6] == ["ai", "arxiv_rss", "added", "1d", "never", "-"]
    fetched = bot("fetch")
    assert fetched.exit_code == 0, fetched.output
    assert "ai             3    0        0          ok" in fetched.output
    assert f"fetch: ai: reading\nfetch: ai: GET {url}\nfetch: ai: 3 new, 0 updated, 0 unchanged" in fetched.stderr
    row = next(line for line in bot("source", "list").output.splitlines() if line.startswith("ai "))
    assert re.search(r"ai\s+arxiv_rss\s+added\s+1d\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+ok\s+3$", row), row
    removed = bot("source", "remove", "ai")
    assert removed.exit_code == 0 and "Removed source ai" in removed.output
    assert "ai " not in bot("source", "list").output
    assert len(bot("listings", "--json").output.splitlines()) == 57  # its papers stay


def test_a_failing_source_is_listed_with_its_error_and_fetch_exits_1_after_the_rest(workdir, bot, feed_server):
    bot("source", "add", "gone", "--kind", "feed", "--url", feed_server.url("/missing"))
    bot("source", "add", "hf", "--kind", "hf_daily", "--url", feed_server.serve("/hf", Reply(body=HF_API)))
    result = bot("fetch")
    assert result.exit_code == 1
    assert f"Error: source gone failed: {feed_server.url('/missing')}: HTTP 404 Not Found" in result.stderr
    assert "hf-daily-seed  54" in result.output and "hf             30" in result.output
    row = next(line for line in bot("source", "list").output.splitlines() if line.startswith("gone "))
    assert " failed " in row and row.endswith("HTTP 404 Not Found")


def test_source_test_prints_what_would_be_stored_and_stores_nothing(workdir, bot, feed_server):
    bot("source", "add", "hf", "--kind", "hf_daily", "--url", feed_server.serve("/hf", Reply(body=HF_API)))
    shown = bot("source", "test", "hf", "--limit", "2")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "hf (hf_daily) would store 30 listings:"
    assert lines[2].startswith("arxiv:2606.00467  On the Limits of LLM Adaptability")
    assert lines[-1] == "... and 28 more (--limit)"
    rows = [json.loads(line) for line in bot("source", "test", "hf", "--json", "--limit", "30").output.splitlines()]
    msa = next(r for r in rows if r["id"] == "arxiv:2606.13392")
    assert (msa["upvotes"], msa["comments"], msa["github_repo"]) == (103, 4, "https://github.com/MiniMax-AI/MSA")
    assert "No listings yet" in bot("listings").output
    assert "never" in next(line for line in bot("source", "list").output.splitlines() if line.startswith("hf "))


def test_source_test_reports_a_broken_source_in_one_line(workdir, bot, feed_server):
    bot("source", "add", "page", "--kind", "html", "--url", feed_server.url("/p"), "--preset", "hf_papers")
    feed_server.serve("/p", Reply(body=b"<html><body>Sign in</body></html>"))
    result = bot("source", "test", "page")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("has its layout changed?") and result.stderr.count("\n") == 1


def test_source_test_counts_distinct_papers_when_arxiv_repeats_a_page(workdir, bot, feed_server):
    url = feed_server.serve("/api", Reply(body=ARXIV_API))  # every page: the same 5 papers of 28946
    bot(
        "source",
        "add",
        "api",
        "--kind",
        "arxiv_api",
        "--url",
        url,
        "--query",
        "all:x",
        "--option",
        "page_size=5",
        "--option",
        "max_results=10",
    )
    shown = bot("source", "test", "api")
    assert shown.output.splitlines()[0] == "api (arxiv_api) would store 5 listings:"
    assert len(feed_server.hits("/api")) == 2


def test_json_nested_too_deeply_is_one_line_without_a_traceback(workdir, bot, feed_server):
    bot("source", "add", "hf", "--kind", "hf_daily", "--url", feed_server.serve("/hf", Reply(body=b"[" * 100_000)))
    tested = bot("source", "test", "hf")
    assert tested.exit_code == 1
    assert tested.stderr.strip().endswith("got JSON nested too deeply to read") and tested.stderr.count("\n") == 1
    fetched = bot("fetch")
    assert fetched.exit_code == 1
    assert "Traceback" not in fetched.stderr and "RecursionError" not in fetched.stderr
    assert "source hf failed:" in fetched.stderr and "nested too deeply" in fetched.stderr


def test_bad_sources_are_refused_with_exit_2_and_nothing_written(workdir, bot):
    cases = [
        (["x", "--kind", "feed", "--url", "file:///etc/passwd"], "only http and https URLs"),
        (["x", "--kind", "feed"], "missing option(s) url"),
        (["x", "--kind", "arxiv_api"], "give a query, categories, or both"),
        (["x", "--kind", "arxiv_rss"], "give categories (e.g. cs.CL) or a url"),
        (["x", "--kind", "html", "--url", "https://e.org/"], "give `item` and `title` CSS selectors, or a preset"),
        (["x", "--kind", "html", "--url", "https://e.org/", "--preset", "nope"], "unknown preset 'nope'"),
        (["x", "--kind", "feed", "--url", "https://e.org/", "--option", "colour=red"], "unknown option(s) colour"),
        (["x", "--kind", "feed", "--url", "https://e.org/", "--option", "oops"], "expected KEY=VALUE"),
        (["x", "--kind", "feed", "--url", "https://e.org/", "--every", "often"], "not an interval"),
        (["x", "--kind", "feed", "--url", "https://e.org/", "--every", "1m"], "fetch at most every 5 minutes"),
        (["hf-daily-seed", "--kind", "feed", "--url", "https://e.org/"], "is in config/bot.toml already"),
    ]
    for args, message in cases:
        result = bot("source", "add", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
    assert bot("source", "add", "x", "--kind", "feed", "--url", "https://e.org/").exit_code == 0
    again = bot("source", "add", "x", "--kind", "feed", "--url", "https://e.org/")
    assert again.exit_code == 2 and "a source named 'x' exists already" in again.stderr
    config_one = bot("source", "remove", "hf-daily-seed")
    assert config_one.exit_code == 2 and "remove it there" in config_one.stderr
    assert bot("source", "remove", "nope").exit_code == 2


def test_a_config_source_wins_over_an_added_one_of_the_same_name(workdir, bot, feed_server):
    url = feed_server.serve("/rss", Reply(body=RSS_AI))
    bot("source", "add", "ai", "--kind", "feed", "--url", feed_server.url("/never"))
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + f'\n[[sources]]\nname = "ai"\nkind = "arxiv_rss"\nurl = "{url}"\n')
    listed = bot("source", "list").output
    assert "Note: the added source 'ai' is hidden by the one of that name in config/bot.toml" in listed
    assert bot("fetch").exit_code == 0
    assert feed_server.hits("/never") == [] and len(feed_server.hits("/rss")) == 1


def test_progress_bars_on_a_terminal(workdir):
    from rich.console import Console

    from bot.cli.progress import fetch_progress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with fetch_progress(["hf", "rss"], tty=True, console=console) as progress:
        progress.started("hf")
        progress.requested("hf", "https://huggingface.co/api/daily_papers?limit=100")
        progress.requested("hf", "https://huggingface.co/api/daily_papers?limit=100&p=1")
        progress.finished(FetchResult("hf", new=30))
        progress.started("rss")
        progress.finished(FetchResult("rss", error="HTTP 500 (gave up after 4 attempts)"))
    text = out.getvalue()
    assert "30 new, 0 known" in text and "failed: HTTP 500" in text and "━" in text


def test_the_commented_source_examples_in_the_config_file_are_valid(tmp_path):
    text = (ROOT / "config" / "bot.toml").read_text(encoding="utf-8")
    uncommented = re.sub(r"^# (\[\[sources\]\]|[a-z_]+ = .*)$", r"\1", text, flags=re.MULTILINE)
    assert tomllib.loads(text)["sources"] == [tomllib.loads(uncommented)["sources"][0]]  # only the seed is on
    path = tmp_path / "bot.toml"
    path.write_text(uncommented, encoding="utf-8")
    sources = load_config(path).sources
    assert {s.kind for s in sources} == {"seed_page", "hf_daily", "arxiv_api", "arxiv_rss", "feed", "html"}
    for s in sources:
        make_source(s.name, s.kind, s.options)


def test_listings_are_newest_first_within_one_fetch(workdir, bot, feed_server):
    bot("source", "add", "hf", "--kind", "hf_daily", "--url", feed_server.serve("/hf", Reply(body=HF_API)))
    assert bot("fetch").exit_code == 0
    rows = [json.loads(line) for line in bot("listings", "--json").output.splitlines()]
    hf = [(r["published"], r["id"]) for r in rows if r["source"] == "hf"]
    assert len(hf) == 30
    assert hf == sorted(hf, reverse=True)  # published, then the later arXiv id, first
    assert hf[0] == ("2026-06-11T00:00:00+00:00", "arxiv:2606.13681")


FEED = ["--kind", "feed", "--url", "https://e.org/feed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["x", "--kind", "feed", "--url", "https://e.org/\nfeed"],
            "source 'x': url 'https://e.org/\\nfeed' holds a control character (U+000A); give the URL on one line",
        ),
        (
            ["x", "--kind", "html", "--preset", "hf_papers", "--url", "https://e.org/\x1b[2Jpapers"],
            "holds a control character (U+001B)",
        ),
        (["x", "--kind", "feed", "--url", "https:///feed"], "url 'https:///feed' names no host; give a full URL"),
        (["x", "--kind", "seed_page", "--path", "missing.txt"], "cannot read missing.txt: No such file or directory"),
        (["x", "--kind", "seed_page", "--path", "config"], "cannot read config: Is a directory"),
        (["x", "--kind", "hf_daily", "--option", "pages=0"], "source 'x': pages must be a whole number from 1 to 50"),
        (["x", "--kind", "hf_daily", "--option", "pages=51"], "pages must be a whole number from 1 to 50"),
        (["x", "--kind", "hf_daily", "--option", "pages=many"], "pages must be a whole number from 1 to 50"),
        (
            ["x", "--kind", "arxiv_api", "--category", "cs.CL", "--option", "max_results=30001"],
            "max_results must be a whole number from 1 to 30000",
        ),
        (
            ["x", "--kind", "arxiv_api", "--category", "cs.CL", "--option", "page_size=0"],
            "page_size must be a whole number from 1 to 2000",
        ),
        (["../x", *FEED], "invalid source name '../x': use letters, digits, '.', '_' or '-' (at most 64, starting"),
        ([*FEED, "--", "-x"], "invalid source name '-x'"),
        (["a b", *FEED], "invalid source name 'a b'"),
        (["", *FEED], "invalid source name ''"),
        (["x" * 65, *FEED], "invalid source name 'xxxx"),
    ],
)
def test_what_a_source_add_can_check_it_checks_at_once(workdir, bot, args, message):
    result = bot("source", "add", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert [line.split()[0] for line in bot("source", "list").output.splitlines()[1:]] == ["hf-daily-seed"]


def test_sane_numbers_a_saved_page_and_a_name_like_a_profiles_are_taken(workdir, bot):
    assert bot("source", "add", "hf.daily_2", "--kind", "hf_daily", "--option", "pages=50").exit_code == 0
    long = bot("source", "add", "A" * 64, "--kind", "arxiv_api", "--query", "all:x", "--option", "max_results=30000")
    assert long.exit_code == 0, long.stderr
    (workdir / "page.txt").write_bytes(SEED_PAGE.read_bytes())
    added = bot("source", "add", "saved", "--kind", "seed_page", "--path", "page.txt")
    assert added.exit_code == 0, added.stderr
    assert bot("source", "test", "saved").output.startswith("saved (seed_page) would store 54 listings:")


def test_a_config_file_source_is_held_to_the_same_rules_at_its_fetch(workdir, bot):
    config = workdir / "config" / "bot.toml"
    config.write_text(
        config.read_text()
        + '\n[[sources]]\nname = "many"\nkind = "hf_daily"\npages = 500\n'
        + '\n[[sources]]\nname = "split"\nkind = "feed"\nurl = "https://e.org/\\r\\nfeed"\n'
    )
    result = bot("fetch")
    assert result.exit_code == 1
    assert "Error: source many failed: source 'many': pages must be a whole number from 1 to 50\n" in result.stderr
    assert "Error: source split failed: source 'split': url 'https://e.org/\\r\\nfeed' holds a control" in result.stderr


def test_a_source_trickling_its_answer_fails_at_the_configured_deadline(workdir, bot, feed_server):
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + "\n[fetch]\ndeadline_seconds = 1\n")
    url = feed_server.serve("/hf", Reply(body=HF_API[:200], trickle=0.1))  # a byte every 0.1 s: 20 s in all
    bot("source", "add", "slow", "--kind", "hf_daily", "--url", url)
    started = time.monotonic()
    result = bot("source", "test", "slow")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {url}?limit=100: no complete answer within the 1-second deadline ([fetch] deadline_seconds)\n"
    )
    config.write_text(config.read_text().replace("deadline_seconds = 1", "deadline_seconds = 0"))
    refused = bot("source", "list")
    assert refused.exit_code == 2
    assert (
        refused.stderr.startswith("Error: [fetch] deadline_seconds must be positive")
        and refused.stderr.count("\n") == 1
    )
