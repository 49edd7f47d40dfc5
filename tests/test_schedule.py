"""When digests are due: daily and weekly, across time zones and the DST changes of 2026."""

from datetime import UTC, datetime

import pytest

from bot.flow.periods import current_period, latest_due, next_due
from bot.models import Profile


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "day_before", "day_of", "due_before", "due_of"),
    [
        # Europe/Berlin: clocks go forward on 2026-03-29 and back on 2026-10-25.
        ("Europe/Berlin", "2026-03-28", "2026-03-29", "2026-03-28T07:00", "2026-03-29T06:00"),
        ("Europe/Berlin", "2026-10-24", "2026-10-25", "2026-10-24T06:00", "2026-10-25T07:00"),
        # America/New_York: forward on 2026-03-08, back on 2026-11-01.
        ("America/New_York", "2026-03-07", "2026-03-08", "2026-03-07T13:00", "2026-03-08T12:00"),
        ("America/New_York", "2026-10-31", "2026-11-01", "2026-10-31T12:00", "2026-11-01T13:00"),
    ],
)
def test_a_daily_digest_keeps_its_local_time_across_dst(tz, day_before, day_of, due_before, due_of):
    profile = Profile(name="p", send_at="08:00", tz=tz)
    before = next_due(profile, utc(f"{day_before}T00:00"))
    assert (before.period, before.due_at) == (day_before, utc(due_before))
    of = next_due(profile, before.due_at)
    assert (of.period, of.due_at) == (day_of, utc(due_of))
    assert latest_due(profile, of.due_at) == of
    assert latest_due(profile, of.due_at.replace(second=1)) == of


def test_a_time_that_does_not_exist_is_sent_just_after_the_jump_once():
    profile = Profile(name="p", send_at="02:30", tz="Europe/Berlin")  # 02:00 → 03:00 on 2026-03-29
    due = next_due(profile, utc("2026-03-28T12:00"))
    assert (due.period, due.due_at) == ("2026-03-29", utc("2026-03-29T01:30"))  # 03:30 CEST
    assert next_due(profile, due.due_at).period == "2026-03-30"


def test_a_time_that_happens_twice_is_sent_at_the_first():
    profile = Profile(name="p", send_at="02:30", tz="Europe/Berlin")  # 03:00 → 02:00 on 2026-10-25
    due = next_due(profile, utc("2026-10-24T12:00"))
    assert (due.period, due.due_at) == ("2026-10-25", utc("2026-10-25T00:30"))  # 02:30 CEST
    after = next_due(profile, due.due_at)
    assert after.period == "2026-10-26"  # not again at 02:30 CET the same night


def test_a_weekly_digest_goes_out_on_its_weekday_once_per_iso_week():
    profile = Profile(name="p", schedule="weekly", weekday="mon", send_at="09:00", tz="America/New_York")
    due = next_due(profile, utc("2026-11-27T12:00"))  # a Friday
    assert (due.period, due.due_at) == ("2026-W49", utc("2026-11-30T14:00"))
    assert latest_due(profile, utc("2026-11-27T12:00")).period == "2026-W48"
    # Across the fall-back weekend: Monday 2026-11-02 09:00 is EST.
    assert next_due(profile, utc("2026-10-31T00:00")).due_at == utc("2026-11-02T14:00")


def test_weekends_can_be_skipped():
    profile = Profile(name="p", send_at="08:00", tz="UTC", skip_weekends=True)
    friday = next_due(profile, utc("2026-11-27T07:00"))
    assert friday.period == "2026-11-27"
    assert next_due(profile, friday.due_at).period == "2026-11-30"  # Monday
    assert latest_due(profile, utc("2026-11-29T12:00")).period == "2026-11-27"  # on Sunday: Friday's


def test_the_period_is_the_local_date_where_the_profile_lives():
    late = utc("2026-11-27T23:30")
    assert current_period(Profile(name="p", tz="Asia/Tokyo"), late) == "2026-11-28"
    assert current_period(Profile(name="p", tz="America/Los_Angeles"), late) == "2026-11-27"
