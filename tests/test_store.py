import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.errors import ProfileError, StoreError
from bot.models import Listing, Profile
from bot.store import Store, schema

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def paper(id_: str, **fields) -> Listing:
    return Listing(
        id=id_, title=fields.pop("title", f"Paper {id_}"), abstract=fields.pop("abstract", "About it."), **fields
    )


def test_upsert_counts_new_updated_and_unchanged(store):
    first = store.upsert_listings([paper("a"), paper("b")])
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    counts = store.upsert_listings([paper("a"), paper("b", abstract="A much longer abstract.")])
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 1)


def test_the_same_paper_from_two_sources_is_one_row_with_the_richest_fields(store):
    from_hf = paper("arxiv:2403.09612", abstract="Short.", upvotes=42, source="hf", authors=("A. Author",))
    from_arxiv = paper(
        "arxiv:2403.09612",
        abstract="The full abstract, longer.",
        categories=("cs.CL", "cs.LG"),
        source="arxiv",
        url="https://arxiv.org/abs/2403.09612",
    )
    store.upsert_listings([from_hf])
    store.upsert_listings([from_arxiv])
    (row,) = store.listings()
    assert row.abstract == "The full abstract, longer."
    assert row.upvotes == 42
    assert row.categories == ("cs.CL", "cs.LG")
    assert row.authors == ("A. Author",)
    assert row.source == "hf"
    assert row.url == "https://arxiv.org/abs/2403.09612"


def test_a_refetch_never_loses_a_vote_count_or_an_abstract(store):
    store.upsert_listings([paper("x", abstract="The long original abstract.", upvotes=10)])
    store.upsert_listings([paper("x", abstract="", upvotes=3)])
    (row,) = store.listings()
    assert (row.abstract, row.upvotes) == ("The long original abstract.", 10)


def test_listings_since_filters_on_first_seen(store):
    store.upsert_listings([paper("old")], now=NOW - timedelta(days=10))
    store.upsert_listings([paper("new")], now=NOW)
    assert [i.id for i in store.listings(since=NOW - timedelta(days=7))] == ["new"]
    assert store.missing_listing_ids(["old", "gone"]) == ["gone"]


def test_profile_names_are_unique_and_removal_takes_its_digests(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    with pytest.raises(ProfileError, match="already exists"):
        store.add_profile(Profile(name="p", keywords=["y"]))
    assert store.create_digests(p, "2026-11-27", [("a", 0.5, ["x"])])
    store.remove_profile("p")
    assert store.digest_summaries() == []
    with pytest.raises(ProfileError, match="no profile named 'p'"):
        store.remove_profile("p")


def test_one_digest_per_profile_channel_and_period(store):
    store.upsert_listings([paper("a"), paper("b")])
    p = store.add_profile(Profile(name="p", keywords=["x"], email="p@example.org", slack_channel="#p"))
    ids = store.create_digests(p, "2026-11-27", [("a", 0.9, ["x"]), ("b", 0.5, ["x"])], message_id="<m@h>")
    assert len(ids) == 2
    assert store.create_digests(p, "2026-11-27", [("a", 0.9, ["x"])]) == []
    digests = store.pending_digests()
    assert [(d.channel, [i.listing.id for i in d.items]) for d in digests] == [
        ("email", ["a", "b"]),
        ("slack", ["a", "b"]),
    ]
    assert digests[0].message_id == "<m@h>" and digests[1].message_id is None


def test_a_paper_is_never_put_in_a_second_digest(store):
    store.upsert_listings([paper("a"), paper("b")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    # The next period offers the same paper again plus a new one: only the new one goes in.
    ids = store.create_digests(p, "2026-11-28", [("a", 0.9, []), ("b", 0.4, [])])
    (digest,) = [d for d in store.pending_digests() if d.id in ids]
    assert [i.listing.id for i in digest.items] == ["b"]


def test_a_digest_with_nothing_left_is_not_created(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    assert store.create_digests(p, "2026-11-28", [("a", 0.9, [])]) == []
    assert [s.period for s in store.digest_summaries()] == ["2026-11-27"]


def test_delivery_outcomes_are_recorded(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"], email="p@example.org", slack_channel="#p"))
    email_id, slack_id = store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    store.record_failure(email_id, "connection refused", temporary=True)
    store.record_failure(slack_id, "channel_not_found", temporary=False)
    assert [d.id for d in store.pending_digests()] == [email_id]
    store.mark_sent(email_id, "outbox/x.eml")
    summary = {s.id: s for s in store.digest_summaries()}
    assert (summary[email_id].state, summary[email_id].attempts, summary[email_id].last_error) == ("sent", 2, None)
    assert (summary[slack_id].state, summary[slack_id].last_error) == ("failed", "channel_not_found")


def test_source_state_is_kept(store):
    store.record_fetch("hf", outcome="failed", error="HTTP 500")
    store.record_fetch("seed", outcome="ok", new=3)
    states = store.source_states()
    assert (states["hf"].last_outcome, states["hf"].last_error) == ("failed", "HTTP 500")
    assert states["seed"].last_new == 3


def test_an_existing_file_is_reopened_with_its_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with Store(url) as first:
        first.upsert_listings([paper("a")])
        first.add_profile(Profile(name="p", keywords=["x"]))
    with Store(url) as again:
        assert again.version == schema.LATEST
        assert [i.id for i in again.listings()] == ["a"]
        assert again.profile("p").keywords == ["x"]
    assert sqlite3.connect(tmp_path / "bot.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrations_upgrade_an_existing_file_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    Store(url).close()
    calls = []

    def add_note_column(conn):
        calls.append(1)
        conn.execute(sa.text("ALTER TABLE profiles ADD COLUMN note TEXT"))

    engine = sa.create_engine(url)
    following = schema.LATEST + 1
    for _ in range(2):
        with engine.begin() as conn:
            steps = {**schema.MIGRATIONS, following: add_note_column}
            assert schema.migrate(conn, steps, latest=following) == following
    assert calls == [1]
    with engine.connect() as conn:
        assert "note" in {c["name"] for c in sa.inspect(conn).get_columns("profiles")}
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == following
    engine.dispose()


def test_a_version_1_file_gains_the_profile_trend(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with Store(url) as first:
        first.add_profile(Profile(name="p", keywords=["x"]))
    # Make it a version-1 file: the schema before profiles had a trend.
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        conn.execute("ALTER TABLE profiles DROP COLUMN trend")
        conn.execute("UPDATE schema_version SET version = 1")
    with Store(url) as again:
        assert again.version == schema.LATEST
        assert again.profile("p").trend == 0.0
        again.save_profile(Profile(name="p", keywords=["x"], trend=0.5))
        assert again.profile("p").trend == 0.5


def test_a_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    Store(url).close()
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="version 99, newer than this bot"):
        Store(url)


def test_a_database_of_something_else_is_refused(tmp_path):
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match="not a bot database"):
        Store(f"sqlite:///{tmp_path / 'other.db'}")


def test_a_bad_url_is_one_clear_error():
    with pytest.raises(StoreError, match="cannot use database URL"):
        Store("nosuchdb://x")


def test_feedback_is_one_vote_per_voter_and_nets_per_listing(store):
    store.upsert_listings([paper("a"), paper("b")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    store.record_feedback(p, "a", 1, voter="slack:U1", via="slack")
    store.record_feedback(p, "a", 1, voter="slack:U2", via="slack")
    store.record_feedback(p, "b", 1, voter="cli", via="cli")
    store.record_feedback(p, "b", -1, voter="cli", via="cli")  # changed their mind
    assert store.feedback_votes(p) == {"a": 2, "b": -1}
    with pytest.raises(ProfileError, match="unknown listing id 'zzz'"):
        store.record_feedback(p, "zzz", 1, voter="cli", via="cli")
