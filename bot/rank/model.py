"""The text model: a TF-IDF vectorizer fitted on a bounded window of recent listings, saved to disk.

Takes listings (the newest `window` of the store) and hands on a `TextModel` that turns any listing
into a vector without refitting, so a day of new listings is only transformed. The model is fitted
again when it is older than its refresh age; memory stays bounded by the window and by
`MAX_FEATURES`, however large the store grows (refitting over a whole corpus is what ran
arxiv-sanity out of memory).
"""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer

from bot.models import Listing
from bot.rank.stems import STEMS
from bot.rank.vectors import Analyzer, document, make_vectorizer

# A saved model is fitted on many listings: a phrase seen in only one of them explains nothing yet
# and would only grow the vocabulary, and the vocabulary is capped so the model's size is bounded.
SAVED_MIN_DF = 2
MAX_FEATURES = 400_000


@dataclass(frozen=True)
class TextModel:
    vectorizer: TfidfVectorizer
    fitted_at: datetime
    documents: int  # how many listings it was fitted on
    version: int | None = None  # its number in the store's text_models; None before it is stored

    def is_stale(self, now: datetime, max_age: timedelta) -> bool:
        return now - self.fitted_at >= max_age


def fit_model(listings: Sequence[Listing], *, now: datetime) -> TextModel:
    """Fit on these listings (the caller bounds them); words seen once are kept only in small corpora."""
    many = len(listings) >= 1000
    vectorizer = make_vectorizer(min_df=SAVED_MIN_DF if many else 1, max_features=MAX_FEATURES)
    vectorizer.fit(document(item) for item in listings)
    return TextModel(vectorizer, now, len(listings))


def fit_if_any(listings: Sequence[Listing], *, now: datetime) -> TextModel | None:
    """`fit_model`, or None when no word survives stop-word removal and min_df (or there is no listing)."""
    try:
        return fit_model(listings, now=now)
    except ValueError:
        return None


def save_model(model: TextModel, path: Path) -> None:
    """Write the model beside `path` under a name of this call's own, then move it into place.

    Readers never see half a file, and two processes refitting at once (two `bot refit`, or a
    refit beside a digest) never write or move each other's file: the last move wins, and either
    model is as good as the other.
    """
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            joblib.dump(model, file)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def load_model(path: Path) -> TextModel | None:
    """The saved model, or None if there is none or it cannot be read (it is then simply fitted again)."""
    import joblib

    if not path.exists():
        return None
    try:
        model = joblib.load(path)
    except Exception:  # a file from another scikit-learn or a torn write: refit rather than fail the digest
        return None
    return model if _usable(model) else None


def model_bytes(model: TextModel) -> bytes:
    """The model as joblib writes it, to be stored in the database."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def model_from_bytes(data: bytes, version: int) -> TextModel | None:
    """The stored model of that version, or None if it cannot be used (it is then fitted again)."""
    import joblib

    try:
        model = joblib.load(io.BytesIO(data))
    except Exception:  # stored by another scikit-learn: refit rather than fail the digest
        return None
    return dataclasses.replace(model, version=version) if _usable(model) else None


def _usable(model: object) -> bool:
    """Whether a loaded model reads listings as this bot does."""
    if not isinstance(model, TextModel) or not isinstance(model.vectorizer.analyzer, Analyzer):
        return False  # saved before words were stemmed: its vocabulary does not match ours
    if getattr(model.vectorizer.analyzer, "stems", 1) != STEMS:
        return False  # its words were stemmed otherwise (`rank.stems`)
    # Saved when it handed on normalised TF-IDF: `vectors.weigh` needs its counts.
    return model.vectorizer.norm is None


def current_model(
    path: Path,
    recent: Callable[[int], Sequence[Listing]],
    *,
    window: int,
    max_age: timedelta,
    now: datetime,
    force: bool = False,
) -> TextModel | None:
    """The saved model if it is fresh, else one fitted on `recent(window)` and saved. None if nothing to fit."""
    model = None if force else load_model(path)
    if model is not None and not model.is_stale(now, max_age):
        return model
    listings = recent(window)
    if not listings:
        return model
    model = fit_if_any(listings, now=now)
    if model is not None:
        save_model(model, path)
    return model
