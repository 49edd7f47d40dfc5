"""What every part of the store shares: the engine (SQLite pragmas included), the migration on
open, dialect-aware INSERT ... ON CONFLICT, and chunked IN (...) lookups."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.errors import StoreError, UnreadableStore
from bot.store import schema

IN_CHUNK = 500  # ids per IN (...) clause, well under SQLite's variable limit
# SQLite's verdicts on a file that is no sound database: another kind of file, a torn copy, a damaged disk.
_UNREADABLE = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def utc_now() -> datetime:
    return datetime.now(UTC)


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT that supports ON CONFLICT, in the dialect of the connection (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")  # a second process waits instead of failing
            cur.close()

        @sa.event.listens_for(engine, "handle_error")
        def _unreadable_file(context: sa.engine.ExceptionContext) -> None:
            # Here, not in each caller: damage found by any statement, at open or later, is one line.
            code = getattr(context.original_exception, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _UNREADABLE:
                raise _unreadable(engine, str(context.original_exception))

    return engine


def _unreadable(engine: Engine, reason: str) -> UnreadableStore:
    return UnreadableStore(
        f"{engine.url.database}: not a readable database ({reason}); restore it from a backup, "
        "or move it aside to start an empty store"
    )


def _create_sqlite_file(engine: Engine) -> None:
    """Make a new SQLite store whole under a name of this process's own, then link it into place.

    SQLite creates an empty file on connecting; a second process starting at that moment would take
    it for an emptied store and refuse it. Linking never replaces a file: if another process's store
    got there first, that one is used.
    """
    path = Path(engine.url.database or ":memory:")
    if engine.dialect.name != "sqlite" or path.name in (":memory:", "") or path.exists():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    fresh = _engine(f"sqlite:///{partial}")
    try:
        _migrate_under_lock(fresh)
        fresh.dispose()  # the last connection closing folds the WAL into the file
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        fresh.dispose()
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)


def _refuse_an_empty_file(engine: Engine) -> None:
    """SQLite would take an empty file for a new database: an emptied store must not pass for a fresh one."""
    path = Path(engine.url.database or ":memory:")
    if engine.dialect.name == "sqlite" and path.is_file() and path.stat().st_size == 0:
        raise _unreadable(engine, "the file is empty")


def _migrate_under_lock(engine: Engine) -> int:
    """Migrate in one transaction that holds the database's migration lock, so of several processes
    opening a new or older database at once one migrates and the others wait, then find it done."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Released with the transaction; taken before anything is read, so the reads see the winner's work.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": schema.MIGRATION_LOCK})
        elif conn.dialect.name == "sqlite":
            # The write lock from the first statement: the default deferred BEGIN lets two processes read
            # "no schema" before either writes. busy_timeout makes the second wait.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        version = schema.migrate(conn)
        conn.commit()
    return version


class StoreBase:
    """The connection to the database; the statements live in the subclasses, one per concern."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        _create_sqlite_file(self.engine)
        _refuse_an_empty_file(self.engine)
        try:
            self.version = _migrate_under_lock(self.engine)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open database {url}: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise if the database does not answer (for health checks)."""
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _select_in(
        conn: Connection,
        table: sa.Table,
        column: sa.Column[Any],
        values: Iterable[str],
        columns: Sequence[Any] | None = None,
    ) -> list[Any]:
        values = list(values)
        rows: list[Any] = []
        for start in range(0, len(values), IN_CHUNK):
            query = sa.select(*(columns or [table])).where(column.in_(values[start : start + IN_CHUNK]))
            rows.extend(conn.execute(query).all())
        return rows
