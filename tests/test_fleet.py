"""Several workers on one database: the schema is migrated once, under a lock, however many start at
once; the text model is fitted by one and used by all."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.flow.compose import text_model
from bot.flow.settings import Settings
from bot.models import Profile
from bot.rank.model import fit_model, load_model, model_bytes
from bot.rank.stems import STEMS
from bot.store import Store, schema

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)

OPEN_STORE = "import sys; from bot.store import Store; print(Store(sys.argv[1]).version)"


def _open_stores(url: str, count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", OPEN_STORE, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(count)
    ]


def _outcomes(processes: list[subprocess.Popen]) -> list[tuple[int, str]]:
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        outcomes.append((process.returncode, out.decode().strip() or err.decode().strip().splitlines()[-1]))
    return outcomes


def _versions(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        versions = list(conn.execute(sa.select(schema.schema_version.c.version)).scalars())
    engine.dispose()
    return versions


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_workers_opening_a_new_database_at_once_all_succeed(database_url):
    outcomes = _outcomes(_open_stores(database_url, 4))
    assert outcomes == [(0, str(schema.LATEST))] * 4
    assert _versions(database_url) == [schema.LATEST]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_started_during_a_migration_waits_for_it_then_works(database_url):
    engine = sa.create_engine(database_url)
    waiting = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
    with engine.connect() as conn:
        # This connection is the worker migrating: it holds the lock and has created the tables, uncommitted.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": schema.MIGRATION_LOCK})
        schema.migrate(conn)
        workers = _open_stores(database_url, 3)
        with engine.connect() as watcher:
            deadline = time.monotonic() + 30
            while watcher.execute(sa.text(waiting)).scalar_one() < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert watcher.execute(sa.text(waiting)).scalar_one() == 3  # all three wait, none has finished
        assert all(worker.poll() is None for worker in workers)
        conn.commit()
    engine.dispose()
    assert _outcomes(workers) == [(0, str(schema.LATEST))] * 3
    assert _versions(database_url) == [schema.LATEST]


def _worker(url: str, cache: Path) -> tuple[Store, Settings]:
    """One worker of a fleet: its own connection to the shared database, its own cached model file."""
    return Store(url), Settings(model_path=cache, refresh=timedelta(days=7))


def _scores(model, listings) -> dict[str, float]:
    from bot.rank import rank

    profile = Profile(name="p", keywords=["language models", "diffusion"])
    return {r.listing_id: r.score for r in next(rank(listings, [profile], top=50, model=model))[1]}


def test_a_worker_ranks_with_the_version_another_worker_refitted(database_url, tmp_path, seed_listings):
    (first, settings_1), (second, settings_2) = (_worker(database_url, tmp_path / f"{n}.joblib") for n in (1, 2))
    first.upsert_listings(seed_listings[:30])
    fitted = text_model(first, settings_1, now=NOW)
    assert fitted.version == 1 and text_model(second, settings_2, now=NOW).version == 1
    first.upsert_listings(seed_listings[30:])
    refitted = text_model(first, settings_1, now=NOW, force=True)
    seen = text_model(second, settings_2, now=NOW)  # the second still caches version 1
    assert (refitted.version, seen.version) == (2, 2) and seen.documents == refitted.documents == len(seed_listings)
    assert load_model(tmp_path / "2.joblib").version == 2
    assert _scores(seen, seed_listings) == _scores(refitted, seed_listings)
    first.close()
    second.close()


def test_a_stored_model_of_an_older_analyzer_is_fitted_again(store, tmp_path, seed_listings):
    store.upsert_listings(seed_listings)
    old = fit_model(seed_listings, now=NOW)
    del old.vectorizer.analyzer.stems  # as saved before `rank.stems` versioned the stemming
    assert store.save_text_model(old.fitted_at, old.documents, model_bytes(old)) == 1
    model = text_model(store, Settings(model_path=tmp_path / "m.joblib"), now=NOW)
    assert model.version == 2 and model.vectorizer.analyzer.stems == STEMS
    assert store.text_model_version() == 2
