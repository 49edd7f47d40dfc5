"""Several workers on one database: the schema is migrated once, under a lock, however many start at once."""

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bot.store import schema

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
