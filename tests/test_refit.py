"""Two processes refitting the text model at once: one fits, the other uses its version, and the
file each caches is a whole model."""

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bot.rank.model import load_model
from bot.store import Store


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_refits_at_once_store_one_version_and_both_use_it(workdir, bot, database_url, monkeypatch):
    monkeypatch.setenv("BOT_DATABASE_URL", database_url)
    assert bot("fetch").exit_code == 0
    env = {**os.environ, "BOT_DATABASE_URL": database_url}
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        # Both processes wait on this lock to read the listings (or on the first's refit lock), so they
        # start refitting at the same moment.
        conn.execute(sa.text("LOCK TABLE listings IN ACCESS EXCLUSIVE MODE"))
        refits = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "refit"],
                cwd=workdir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        waiting = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
        deadline = time.monotonic() + 60
        while conn.execute(sa.text(waiting)).scalar_one() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        conn.commit()
    engine.dispose()
    outputs = [[part.decode() for part in p.communicate(timeout=120)] for p in refits]
    outcomes = [(p.returncode, err) for p, (_, err) in zip(refits, outputs, strict=True)]
    assert outcomes == [(0, ""), (0, "")], [err.splitlines()[-1:] for _, err in outcomes]
    with Store(database_url) as store:
        assert store.text_model_version() == 1  # fitted and stored once: a second fit would be version 2
    assert all("stored as model version 1," in out for out, _ in outputs), outputs
    model = load_model(workdir / "data" / "text-model.joblib")
    assert model is not None and model.documents == 54 and model.version == 1
    assert os.listdir(workdir / "data") == ["text-model.joblib"]  # no temporary file left behind
