"""Shared fixtures: a clean environment, a fresh store, the seed listings, a working directory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.sources.seed_page import parse_seed_page
from bot.store import Store
from tests.postgres import REQUIRED as POSTGRES_REQUIRED
from tests.postgres import postgres_server
from tests.slack_server import slack_server

ROOT = Path(__file__).resolve().parent.parent
SEED_PAGE = ROOT / "seeds" / "hf-daily-papers-page.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own settings and secrets out of the tests."""
    for name in list(os.environ):
        if name.startswith(("BOT_", "SLACK_", "SMTP_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    server = request.getfixturevalue("postgres_url")
    if server is None:
        if POSTGRES_REQUIRED:
            pytest.fail("TEST_POSTGRES=required but no PostgreSQL server (initdb, pg_ctl) is installed")
        pytest.skip("no PostgreSQL server installed here (CI installs one and runs these)")
    name = f"t{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server}/{name}"


@pytest.fixture
def store(database_url: str) -> Store:
    with Store(database_url) as s:
        yield s


@pytest.fixture(scope="session")
def seed_listings():
    return parse_seed_page(SEED_PAGE.read_text(encoding="utf-8"), source="hf-daily-seed")


CONFIG = """
[store]
url = "sqlite:///data/bot.db"

[outbox]
dir = "outbox"

[[sources]]
name = "hf-daily-seed"
kind = "seed_page"
path = "{seed}"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory laid out like a checkout (config/bot.toml, data/, outbox/), made the working directory."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "bot.toml").write_text(CONFIG.format(seed=SEED_PAGE.as_posix()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def bot():
    """Run a `bot` command in-process, as a user would type it; returns click's Result."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), prog_name="bot", catch_exceptions=False)

    return run


@pytest.fixture
def feed_server():
    """A local HTTP server playing Hugging Face, arXiv and any feed; see tests/feed_server.py."""
    from tests.feed_server import FeedServer

    server = FeedServer().start()
    yield server
    server.stop()


class FakeClock:
    """Time that only moves when the code under test sleeps: waits are recorded, never spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http_client(clock):
    """The real HttpClient with a short timeout and a fake clock, so retries and pacing cost nothing."""
    import httpx

    from bot.sources.http import HttpClient

    with HttpClient(timeout=httpx.Timeout(0.5), clock=clock, sleep=clock.sleep, min_interval={}) as client:
        yield client


@pytest.fixture
def slack():
    """A local HTTP server playing the Slack Web API for the real slack_sdk client."""
    with slack_server() as fake:
        yield fake
