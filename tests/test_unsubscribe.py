"""What unsubscribing does in the store: a stamp on the profile, no more email, migration 2 adding it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.flow.channels import Channels
from bot.flow.compose import compose_digests
from bot.flow.deliver import deliver_pending
from bot.flow.settings import Settings
from bot.models import Listing, Profile
from bot.notify import OutboxNotifier
from bot.store import Store, schema
from tests.test_store import strip_to_version_1

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def papers() -> list[Listing]:
    return [Listing(id=f"p{i}", title=f"Quasar lattice {i}", abstract="Quasar lattices.") for i in range(3)]


def test_unsubscribing_is_stamped_once_and_only_for_the_current_address(store):
    profile = store.add_profile(Profile(name="ada", keywords=["x"], email="ada@example.org"))
    assert not store.unsubscribe_email(profile.id, "old@example.org", now=NOW)
    assert not store.profile("ada").email_unsubscribed
    assert store.unsubscribe_email(profile.id, "ada@example.org", now=NOW)
    assert not store.unsubscribe_email(profile.id, "ada@example.org")
    after = store.profile("ada")
    assert after.email_unsubscribed_at == NOW and after.email == "ada@example.org"
    assert after.channels == []
    assert store.profile_by_id(profile.id) == after and store.profile_by_id(profile.id + 100) is None


def test_an_unsubscribed_profile_gets_no_email_but_keeps_slack(store, tmp_path):
    store.upsert_listings(papers(), now=NOW)
    both = store.add_profile(Profile(name="both", keywords=["quasar"], email="b@example.org", slack_channel="#q"))
    only = store.add_profile(Profile(name="only", keywords=["quasar"], email="o@example.org"))
    store.unsubscribe_email(both.id, "b@example.org")
    store.unsubscribe_email(only.id, "o@example.org")
    composed = {c.profile.name: c.status for c in compose_digests(store, store.profiles(), Settings(), now=NOW)}
    assert composed == {"both": "created", "only": "unsubscribed"}
    assert [(s.profile, s.channel) for s in store.digest_summaries()] == [("both", "slack")]


def test_a_pending_email_digest_is_not_sent_after_an_unsubscribe(store, tmp_path):
    store.upsert_listings(papers(), now=NOW)
    profile = store.add_profile(Profile(name="ada", keywords=["quasar"], email="ada@example.org"))
    compose_digests(store, [profile], Settings(), now=NOW)
    store.unsubscribe_email(profile.id, "ada@example.org")
    outbox = OutboxNotifier(tmp_path / "outbox")
    (outcome,) = deliver_pending(store, Channels({"email": outbox}), Settings(sender="b@example.org"))
    assert outcome.error == "ada@example.org unsubscribed before this digest went out"
    assert [s.state for s in store.digest_summaries()] == ["failed"]
    assert not (tmp_path / "outbox").exists()


def test_a_version_1_database_is_upgraded_and_keeps_its_profiles(database_url):
    with Store(database_url) as store:
        store.add_profile(Profile(name="ada", keywords=["x"], email="ada@example.org"))
        with store.engine.begin() as conn:
            strip_to_version_1(conn)
    with Store(database_url) as store:
        assert store.version == schema.LATEST
        profile = store.profile("ada")
        assert profile.email == "ada@example.org" and not profile.email_unsubscribed
        assert store.unsubscribe_email(profile.id, "ada@example.org", now=NOW)
        assert store.profile("ada").email_unsubscribed_at == NOW
