"""Sources added from the command line, and each source's last fetch and conditional-GET validators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.errors import InputError
from bot.store.base import StoreBase, dialect_insert, utc_now
from bot.store.schema import source_state, sources


@dataclass(frozen=True)
class SourceState:
    name: str
    last_fetch_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    last_new: int | None
    validators: dict[str, dict[str, str | None]] | None = None


@dataclass(frozen=True)
class StoredSource:
    """A source added with `bot source add`: its kind's options and how often to fetch it."""

    name: str
    kind: str
    options: dict[str, Any]
    every: int | None
    created_at: datetime
    title: str | None = None


class SourceStatements(StoreBase):
    def record_fetch(
        self,
        name: str,
        *,
        outcome: str,
        error: str | None = None,
        new: int = 0,
        validators: dict[str, dict[str, str | None]] | None = None,
        now: datetime | None = None,
    ) -> None:
        """One fetch's outcome (ok, unchanged, failed); validators, when given, replace the kept ones."""
        values: dict[str, Any] = {
            "last_fetch_at": now or utc_now(),
            "last_outcome": outcome,
            "last_error": error,
            "last_new": new,
        }
        if validators is not None:  # a failed fetch keeps what the last good one learnt
            values["validators"] = validators
        with self.engine.begin() as conn:
            stmt = dialect_insert(conn, source_state).values(name=name, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            return {r.name: SourceState(**r._mapping) for r in conn.execute(sa.select(source_state))}

    def add_source(
        self,
        name: str,
        kind: str,
        options: dict[str, Any],
        *,
        every: int | None = None,
        title: str | None = None,
        now: datetime | None = None,
    ) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sources.insert().values(
                        name=name, kind=kind, options=options, every=every, title=title, created_at=now or utc_now()
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError(f"a source named {name!r} exists already (see `bot source list`)") from exc

    def stored_sources(self) -> list[StoredSource]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources).order_by(sources.c.name)).all()
        return [StoredSource(**r._mapping) for r in rows]

    def remove_source(self, name: str) -> None:
        """Forget a CLI-added source and its fetch state; its listings stay."""
        with self.engine.begin() as conn:
            if conn.execute(sources.delete().where(sources.c.name == name)).rowcount == 0:
                raise InputError(f"no source named {name!r} was added with `bot source add` (see `bot source list`)")
            conn.execute(source_state.delete().where(source_state.c.name == name))
