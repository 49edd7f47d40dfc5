"""A damaged database file: every command says so in one line and exits 2, never a traceback."""

import os
import sqlite3

import pytest


def damage(path, kind: str) -> None:
    good = path.read_bytes()
    if kind == "random bytes":
        path.write_bytes(os.urandom(len(good)))
    elif kind == "text":
        path.write_text("listings, profiles and digests, as a spreadsheet\n")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 3])
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("kind", ["random bytes", "text", "truncated", "empty"])
@pytest.mark.parametrize("command", [("listings",), ("profile", "list"), ("fetch",), ("status",)])
def test_a_damaged_database_file_is_one_line_and_exit_2(workdir, bot, kind, command):
    assert bot("fetch").exit_code == 0
    db = workdir / "data" / "bot.db"
    assert not (workdir / "data" / "bot.db-wal").exists()  # the last close folded the log into the file
    damage(db, kind)
    before = db.read_bytes()
    result = bot(*command)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: data/bot.db: not a readable database (")
    assert "restore it from a backup" in result.stderr
    assert db.read_bytes() == before  # left as it was, for whoever repairs it
    if kind == "empty":
        assert "(the file is empty)" in result.stderr


def test_damage_found_after_the_store_opened_is_one_line_too(workdir, bot):
    assert bot("fetch").exit_code == 0
    db = workdir / "data" / "bot.db"
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'listings'").fetchone()
    conn.close()
    with db.open("r+b") as file:  # only the listings table is damaged: the store opens, reading it fails
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    assert bot("profile", "list").exit_code == 0
    result = bot("listings")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr == (
        "Error: data/bot.db: not a readable database (database disk image is malformed); "
        "restore it from a backup, or move it aside to start an empty store\n"
    )


def test_a_missing_database_file_is_still_a_new_store(workdir, bot):
    assert bot("profile", "list").exit_code == 0
    assert (workdir / "data" / "bot.db").stat().st_size > 0
