"""The fitted text model shared by every worker, by version, and the lock one worker refits under."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.store.base import StoreBase
from bot.store.schema import text_models

# The key of the PostgreSQL advisory lock one worker refits under ("bot-fit").
REFIT_LOCK = 0x626F742D666974


@dataclass(frozen=True)
class StoredModel:
    version: int
    fitted_at: datetime
    documents: int
    data: bytes  # joblib's bytes of the TextModel


class TextModelStatements(StoreBase):
    def text_model_version(self) -> int | None:
        """The version in use (the newest), or None before the first fit."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(text_models.c.version))).scalar_one()

    def text_model(self, version: int) -> StoredModel | None:
        """That version, or None if a newer one has replaced it since."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(text_models).where(text_models.c.version == version)).one_or_none()
        return None if row is None else StoredModel(row.version, row.fitted_at, row.documents, row.model)

    def save_text_model(self, fitted_at: datetime, documents: int, data: bytes) -> int:
        """Store a newly fitted model as the newest version, drop the older ones; returns its version."""
        with self.engine.begin() as conn:
            version = conn.execute(
                text_models.insert()
                .values(fitted_at=fitted_at, documents=documents, model=data)
                .returning(text_models.c.version)
            ).scalar_one()
            conn.execute(text_models.delete().where(text_models.c.version < version))
        return version

    @contextmanager
    def refit_lock(self) -> Iterator[None]:
        """Held while refitting: on PostgreSQL a session advisory lock, so workers refit one at a time
        (a worker that dies lets it go with its connection). SQLite holds no lock: its processes share
        one machine, and a second refit at once only stores a newer version that all then load."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": REFIT_LOCK})
            conn.commit()  # no transaction stays open while fitting
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": REFIT_LOCK})
                conn.commit()
