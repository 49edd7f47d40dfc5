"""Two processes saving the text model at once: both succeed, and the file left is a whole model."""

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bot.rank.model import load_model


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_refits_at_once_both_succeed_and_leave_a_model_that_loads(workdir, bot, database_url, monkeypatch):
    monkeypatch.setenv("BOT_DATABASE_URL", database_url)
    assert bot("fetch").exit_code == 0
    env = {**os.environ, "BOT_DATABASE_URL": database_url}
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        # Both processes wait on this lock to read the listings, so they fit and save at the same moment.
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
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'listings'::regclass"
        deadline = time.monotonic() + 60
        while conn.execute(sa.text(waiting)).scalar_one() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        conn.commit()
    engine.dispose()
    errors = [p.communicate(timeout=120)[1].decode() for p in refits]
    outcomes = [(p.returncode, err) for p, err in zip(refits, errors, strict=True)]
    assert outcomes == [(0, ""), (0, "")], [err.splitlines()[-1:] for _, err in outcomes]
    model = load_model(workdir / "data" / "text-model.joblib")
    assert model is not None and model.documents == 54
    assert os.listdir(workdir / "data") == ["text-model.joblib"]  # no temporary file left behind
