import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.errors import InputError, ProfileError, StoreError
from bot.keys import listing_key
from bot.models import Listing, Profile
from bot.store import Store, schema

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


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
    assert [d.id for d in store.claim_deliveries("me", now=NOW, lease=LEASE, limit=10)] == [email_id, slack_id]
    store.record_failure(email_id, "connection refused", retry_at=NOW + timedelta(minutes=1))
    store.record_failure(slack_id, "channel_not_found", retry_at=None)
    assert store.claim_deliveries("me", now=NOW, lease=LEASE, limit=10) == []  # waiting out its delay
    (again,) = store.claim_deliveries("me", now=NOW + timedelta(minutes=2), lease=LEASE, limit=10)
    assert (again.id, again.attempts) == (email_id, 2)
    store.mark_sent(email_id, "outbox/x.eml")
    summary = {s.id: s for s in store.digest_summaries()}
    assert (summary[email_id].state, summary[email_id].attempts, summary[email_id].last_error) == ("sent", 2, None)
    assert (summary[slack_id].state, summary[slack_id].last_error) == ("failed", "channel_not_found")


def test_a_claim_is_exclusive_until_its_lease_runs_out(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    (digest_id,) = store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    assert [d.id for d in store.claim_deliveries("first", now=NOW, lease=LEASE, limit=5)] == [digest_id]
    assert store.claim_deliveries("second", now=NOW + LEASE - timedelta(seconds=1), lease=LEASE, limit=5) == []
    # The first process died: after its lease the delivery is claimable again, as a new attempt.
    (reclaimed,) = store.claim_deliveries("second", now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, limit=5)
    assert reclaimed.attempts == 2


def test_a_renewed_lease_keeps_the_claim_and_a_lost_one_says_so(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    (digest_id,) = store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    store.claim_deliveries("slow", now=NOW, lease=LEASE, limit=1)
    assert store.renew_lease(digest_id, "slow", now=NOW + timedelta(minutes=4), lease=LEASE)
    assert store.claim_deliveries("other", now=NOW + timedelta(minutes=6), lease=LEASE, limit=1) == []
    # Past the renewed lease another process takes it over; the slow one must then leave it alone.
    assert store.claim_deliveries("other", now=NOW + timedelta(minutes=10), lease=LEASE, limit=1)
    assert not store.renew_lease(digest_id, "slow", now=NOW + timedelta(minutes=10), lease=LEASE)


def test_released_deliveries_are_claimable_at_once_and_not_counted(store):
    store.upsert_listings([paper("a"), paper("b")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    q = store.add_profile(Profile(name="q", keywords=["x"]))
    ids = store.create_digests(p, "2026-11-27", [("a", 0.9, [])]) + store.create_digests(
        q, "2026-11-27", [("b", 1, [])]
    )
    store.claim_deliveries("me", now=NOW, lease=LEASE, limit=5)
    store.release(ids, "someone-else")  # only the owner can release
    assert store.claim_deliveries("other", now=NOW, lease=LEASE, limit=5) == []
    store.release(ids, "me")
    claimed = store.claim_deliveries("other", now=NOW, lease=LEASE, limit=5, after_id=ids[0])
    assert [(d.id, d.attempts) for d in claimed] == [(ids[1], 1)]


def test_period_summaries_give_the_asked_periods_with_their_lease_and_retry_times(store):
    store.upsert_listings([paper("a"), paper("b"), paper("c")])
    p = store.add_profile(Profile(name="p", keywords=["x"], email="p@example.org", slack_channel="#p"))
    q = store.add_profile(Profile(name="q", keywords=["x"]))
    email_id, slack_id = store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    store.create_digests(p, "2026-11-26", [("b", 0.9, [])])
    (q_id,) = store.create_digests(q, "2026-11-27", [("c", 0.9, [])])
    store.claim_deliveries("me", now=NOW, lease=LEASE, limit=10)
    store.record_failure(email_id, "451 later", retry_at=NOW + timedelta(minutes=1))
    found = store.period_summaries({p.id: "2026-11-27", q.id: "2026-11-28"})
    assert [(s.id, s.profile, s.channel, s.items) for s in found] == [
        (email_id, "p", "email", 1),
        (slack_id, "p", "slack", 1),
    ]
    assert (found[0].lease_until, found[0].next_attempt_at) == (None, NOW + timedelta(minutes=1))
    assert (found[1].lease_until, found[1].next_attempt_at) == (NOW + LEASE, None)
    assert [s.id for s in store.period_summaries({q.id: "2026-11-27"})] == [q_id]
    assert store.period_summaries({}) == []


def test_a_failed_delivery_can_be_requeued(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"]))
    (digest_id,) = store.create_digests(p, "2026-11-27", [("a", 0.9, [])])
    with pytest.raises(StoreError, match="is pending, not failed"):
        store.requeue(digest_id)
    store.claim_deliveries("me", now=NOW, lease=LEASE, limit=1)
    store.record_failure(digest_id, "550 no such user", retry_at=None)
    store.requeue(digest_id)
    (again,) = store.claim_deliveries("me", now=NOW, lease=LEASE, limit=1)
    assert again.attempts == 1
    with pytest.raises(StoreError, match="no delivery 999"):
        store.requeue(999)


def test_skipped_and_empty_periods_count_as_handled(store):
    store.upsert_listings([paper("a")])
    p = store.add_profile(Profile(name="p", keywords=["x"], email="p@example.org"))
    assert store.record_skipped(p, "2026-11-26", "missed by 14 h", due_at=NOW, now=NOW)
    assert store.record_skipped(p, "2026-11-26", "again", due_at=NOW, now=NOW) == []
    store.create_digests(p, "2026-11-27", [("a", 1, [])])
    assert store.create_digests(p, "2026-11-28", [("a", 1, [])], if_empty="record")
    assert {(s.period, s.state) for s in store.digest_summaries()} == {
        ("2026-11-26", "skipped"),
        ("2026-11-27", "pending"),
        ("2026-11-28", "empty"),
    }
    assert store.existing_channels(p.id, "2026-11-28") == {"email"}
    assert [d.period for d in store.pending_digests()] == ["2026-11-27"]


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
    nxt = schema.LATEST + 1
    for _ in range(2):
        with engine.begin() as conn:
            assert schema.migrate(conn, {**schema.MIGRATIONS, nxt: add_note_column}, latest=nxt) == nxt
    assert calls == [1]
    with engine.connect() as conn:
        assert "note" in {c["name"] for c in sa.inspect(conn).get_columns("profiles")}
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == nxt
    engine.dispose()


def test_a_version_1_file_is_upgraded_with_its_data(database_url):
    """A database made by the first release: every migration since runs on it and nothing is lost."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        _create_version_1(conn)
        conn.execute(
            sa.text(
                "INSERT INTO profiles (name, keywords, exclude, likes, dislikes, authors, top, min_score, schedule,"
                " send_at, tz, created_at, updated_at) VALUES ('old', '[\"x\"]', '[]', '[]', '[]', '[]', 10, 0.05,"
                " 'daily', '08:00', 'UTC', '2026-11-01 08:00:00', '2026-11-01 08:00:00')"
            )
        )
    engine.dispose()
    with Store(database_url) as store:
        assert store.version == schema.LATEST
        old = store.profile("old")
        assert (old.keywords, old.weekday, old.skip_weekends, old.send_empty) == (["x"], "mon", False, False)
        assert (old.title, old.display_title) == (None, "x")
        store.upsert_listings([paper("a")])
        assert store.create_digests(old, "2026-11-27", [("a", 1, [])], due_at=NOW)


def test_a_version_6_database_gets_titles_for_profiles_and_sources(database_url):
    """Step 7 adds the title columns to a database whose `sources` table step 4 made without one."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
        conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (6)"))
        conn.execute(sa.text("ALTER TABLE profiles DROP COLUMN title"))
        conn.execute(sa.text("ALTER TABLE sources DROP COLUMN title"))
    engine.dispose()
    with Store(database_url) as store:
        assert store.version == schema.LATEST == 7
        store.add_profile(Profile(name="p", keywords=["speculative decoding"], title="Decoding <papers>"))
        store.add_source("lg", "arxiv_rss", {"categories": ["cs.LG"]}, title="arXiv machine learning")
        assert store.profile("p").display_title == "Decoding <papers>"
        assert [s.title for s in store.stored_sources()] == ["arXiv machine learning"]


def _create_version_1(conn):
    """The schema as version 1 created it: today's tables without what was added since."""
    schema.metadata.create_all(conn)
    conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (1)"))
    strip_to_version_1(conn)


def strip_to_version_1(conn):
    """Take a database of today's schema back to version 1, keeping the data version 1 had room for."""
    conn.execute(sa.text("DROP INDEX ix_listings_doi"))
    conn.execute(sa.text("DROP INDEX ix_listings_title_key"))
    conn.execute(sa.text("DROP TABLE sources"))
    conn.execute(sa.text("DROP TABLE text_models"))
    for table, column in sorted(_ADDED_AFTER_V1):
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    conn.execute(sa.text("UPDATE schema_version SET version = 1"))


_ADDED_AFTER_V1 = {
    *[("listings", c) for c in ("doi", "title_key", "comments", "ai_summary", "github_repo", "project_page")],
    ("source_state", "validators"),
    ("profiles", "email_unsubscribed_at"),
    ("profiles", "trend"),
    ("profiles", "title"),
    ("profiles", "weekday"),
    ("profiles", "skip_weekends"),
    ("profiles", "send_empty"),
    ("digests", "due_at"),
    ("digests", "next_attempt_at"),
    ("digests", "lease_owner"),
    ("digests", "lease_until"),
}


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


V1_TITLE = "Chimera: a lossless decoding method"


def _make_v1(url: str) -> None:
    """A database as the first schema left it: no Hugging Face columns, no validators, no sources table."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _create_version_1(conn)
        conn.execute(
            sa.text(
                "INSERT INTO listings (id, title, abstract, authors, categories, first_seen, updated_at) "
                "VALUES ('arxiv:2403.09612', 'Chimera: a lossless decoding method', 'Kept.', '[]', '[]', "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
    engine.dispose()


def test_a_version_1_database_is_upgraded_to_hold_the_real_sources(database_url):
    _make_v1(database_url)
    with Store(database_url) as s:
        assert s.version == schema.LATEST
        (old,) = s.listings()
        assert (old.title, old.abstract, old.upvotes, old.comments) == (V1_TITLE, "Kept.", None, None)
        s.upsert_listings(
            [
                paper(
                    "arxiv:2403.09612", upvotes=7, comments=2, ai_summary="Short.", github_repo="https://github.com/x/y"
                )
            ]
        )
        (row,) = s.listings()
        assert (row.title, row.upvotes, row.comments, row.github_repo) == (V1_TITLE, 7, 2, "https://github.com/x/y")
        s.record_fetch("hf", outcome="ok", validators={"https://h/x": {"etag": '"1"', "last_modified": None}})
        assert s.source_states()["hf"].validators == {"https://h/x": {"etag": '"1"', "last_modified": None}}
        s.add_source("mine", "feed", {"url": "https://example.org/feed"}, every=3600)
        assert [(x.name, x.kind, x.options, x.every) for x in s.stored_sources()] == [
            ("mine", "feed", {"url": "https://example.org/feed"}, 3600)
        ]


def test_cli_sources_are_kept_and_removed_with_their_state(store):
    store.add_source("blog", "feed", {"url": "https://example.org/feed"})
    with pytest.raises(InputError, match="exists already"):
        store.add_source("blog", "feed", {"url": "https://example.org/other"})
    store.record_fetch("blog", outcome="failed", error="HTTP 500")
    store.remove_source("blog")
    assert store.stored_sources() == [] and "blog" not in store.source_states()
    with pytest.raises(InputError, match="no source named 'blog'"):
        store.remove_source("blog")


def test_a_failed_fetch_keeps_the_validators_of_the_last_good_one(store):
    store.record_fetch("hf", outcome="ok", validators={"u": {"etag": "e", "last_modified": None}})
    store.record_fetch("hf", outcome="failed", error="timed out")
    assert store.source_states()["hf"].validators == {"u": {"etag": "e", "last_modified": None}}


def test_the_merge_keeps_the_richest_hugging_face_fields(store):
    store.upsert_listings([paper("arxiv:1", upvotes=3, comments=1, ai_summary="A.", project_page="https://p")])
    counts = store.upsert_listings(
        [paper("arxiv:1", upvotes=9, comments=None, ai_summary=None, github_repo="https://g")]
    )
    assert (counts.new, counts.updated) == (0, 1)
    (row,) = store.listings()
    assert (row.upvotes, row.comments, row.ai_summary, row.github_repo, row.project_page) == (
        9,
        1,
        "A.",
        "https://g",
        "https://p",
    )


def test_the_upgrade_gives_stored_listings_their_title_key_so_a_title_only_source_finds_them(database_url):
    _make_v1(database_url)
    with Store(database_url) as s:
        blog = paper(listing_key(title=V1_TITLE.upper()), title=V1_TITLE.upper(), upvotes=3)
        counts = s.upsert_listings([blog])
        assert (counts.new, counts.updated) == (0, 1)
        (row,) = s.listings()
        assert (row.id, row.title, row.upvotes) == ("arxiv:2403.09612", V1_TITLE, 3)


def test_a_paper_known_by_its_arxiv_id_is_found_again_by_its_doi_or_its_title(store):
    title = "Chimera: A Lossless Decoding Method for Accelerating Large Language Models"
    store.upsert_listings([paper("arxiv:2402.15758", title=title, doi="10.1000/chimera", categories=("cs.CL",))])
    from_journal = paper(
        listing_key(title="Chimera (journal version)", doi="10.1000/CHIMERA"),
        title="Chimera (journal version)",
        doi="10.1000/chimera",
        upvotes=4,
    )
    from_blog = paper(listing_key(title=title.upper() + "!"), title=title.upper() + "!", authors=("Z. Zeng",))
    counts = store.upsert_listings([from_journal, from_blog])
    assert (counts.new, counts.updated) == (0, 2)
    (row,) = store.listings()
    assert (row.id, row.title, row.upvotes, row.authors, row.categories) == (
        "arxiv:2402.15758",
        title,
        4,
        ("Z. Zeng",),
        ("cs.CL",),
    )


def test_two_arxiv_papers_with_one_title_stay_two_and_short_titles_never_join(store):
    store.upsert_listings(
        [paper("arxiv:1", title="A Survey of Large Language Models"), paper("title:x", title="Attention")]
    )
    counts = store.upsert_listings(
        [
            paper("arxiv:2", title="A survey of large language models"),
            paper(listing_key(title="attention"), title="attention"),
        ]
    )
    assert (counts.new, counts.updated) == (2, 0)
