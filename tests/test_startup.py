"""Commands must start fast: those that do not rank must not import scikit-learn, and `bot --help`
not even the database layer (SQLAlchemy alone takes a quarter of a second to import)."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from bot.cli import cli
try:
    cli(sys.argv[1:], prog_name="bot")
except SystemExit as exc:
    code = exc.code
print("sklearn" in sys.modules, "numpy" in sys.modules, code)
"""


def run(args, cwd):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["profile", "list"],
        ["profile", "add", "p", "-k", "graphs"],
        ["profile", "show", "p"],
        ["listings"],
        ["fetch"],
        ["slack"],  # exits at once here (no tokens), after importing the Slack app
        ["serve", "--help"],
        ["source", "list"],
        ["source", "add", "s", "--kind", "feed", "--url", "https://example.org/feed"],
    ],
)
def test_commands_that_do_not_rank_leave_scikit_learn_unimported(workdir, args):
    run(["profile", "add", "p", "-k", "graphs"], workdir)
    assert run(args, workdir).startswith("False False")


def test_the_probe_sees_scikit_learn_when_a_command_ranks(workdir):
    run(["profile", "add", "p", "-k", "decoding"], workdir)
    run(["fetch"], workdir)
    assert run(["digest", "--dry-run"], workdir) == "True True 0"


def test_the_web_app_does_not_import_scikit_learn():
    code = (
        "import sys, bot.web, bot.flow.channels, bot.flow.deliver;"
        " print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_the_words_the_ranker_matches_are_known_without_scikit_learn():
    code = "import sys, bot.rank.words; print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


FETCHERS = """
import sys
from bot.cli import cli
try:
    cli(sys.argv[1:], prog_name="bot")
except SystemExit:
    pass
print(*(name in sys.modules for name in ("httpx", "feedparser", "bs4", "rich")))
"""


@pytest.mark.parametrize("args", [["--help"], ["profile", "list"], ["listings"], ["source", "list"]])
def test_commands_that_do_not_fetch_leave_the_http_and_feed_libraries_unimported(workdir, args):
    out = subprocess.run(
        [sys.executable, "-c", FETCHERS, *args], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == "False False False False"


IMPORTED = """
import sys
from bot.cli import cli
try:
    cli(sys.argv[2:], prog_name="bot")
except SystemExit:
    pass
print(*(name in sys.modules for name in sys.argv[1].split(",")))
"""


@pytest.mark.parametrize("args", [["--help"], ["profile", "--help"], ["source", "--help"], ["digest", "--help"]])
def test_help_leaves_the_database_layer_unimported(workdir, args):
    modules = "sqlalchemy,bot.store,sklearn"
    out = subprocess.run(
        [sys.executable, "-c", IMPORTED, modules, *args], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == "False False False"


def test_the_probe_sees_the_database_layer_when_a_command_opens_the_store(workdir):
    out = subprocess.run(
        [sys.executable, "-c", IMPORTED, "sqlalchemy", "profile", "list"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines()[-1] == "True"


def test_a_command_imports_no_other_commands_module(workdir):
    modules = "bot.cli.digest,bot.cli.run,bot.cli.serve,bot.cli.source,bot.cli.profile"
    out = subprocess.run(
        [sys.executable, "-c", IMPORTED, modules, "profile", "list"], cwd=workdir, capture_output=True, text=True
    )
    assert out.stdout.splitlines()[-1] == "False False False False True"
