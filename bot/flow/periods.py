"""When each profile's digest is due: the periods and their send instants, in the profile's own time zone.

Pure functions of a profile and a moment. A daily period is the local date, a weekly one the ISO week
of the chosen weekday. The send instant is the local time on that day converted to UTC once, so it
is right across daylight-saving changes: a time that does not exist that day (02:30 when clocks
jump from 02:00 to 03:00) is sent at the same distance after the jump (03:30); a time that exists
twice (when clocks go back) is sent at its first occurrence. Either way a period has one instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import Profile
from bot.profile_rules import WEEKDAYS

_SEARCH_DAYS = 8  # one week and a day always holds the previous and the next send of any schedule


@dataclass(frozen=True)
class Occurrence:
    period: str  # "2026-11-27" (daily) or "2026-W48" (weekly)
    due_at: datetime  # aware, UTC


def period_key(profile: Profile, day: date) -> str:
    if profile.schedule == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def current_period(profile: Profile, now: datetime) -> str:
    """The period `now` falls in, in the profile's time zone (what a digest made by hand is for)."""
    return period_key(profile, now.astimezone(ZoneInfo(profile.tz)).date())


def _sends_on(profile: Profile, day: date) -> bool:
    if profile.schedule == "weekly":
        return day.weekday() == WEEKDAYS.index(profile.weekday)
    return not (profile.skip_weekends and day.weekday() >= 5)


def _due_at(profile: Profile, day: date) -> datetime:
    hours, minutes = map(int, profile.send_at.split(":"))
    # fold=0: the first of two equal wall times, and for a skipped wall time the pre-jump offset
    local = datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(profile.tz))
    return local.astimezone(UTC)


def _occurrences(profile: Profile, now: datetime, direction: int) -> Occurrence:
    today = now.astimezone(ZoneInfo(profile.tz)).date()
    for offset in range(-1, _SEARCH_DAYS + 1):
        day = today + timedelta(days=direction * offset)
        if not _sends_on(profile, day):
            continue
        due = _due_at(profile, day)
        if (direction < 0 and due <= now) or (direction > 0 and due > now):
            return Occurrence(period_key(profile, day), due)
    raise AssertionError(f"no send day within {_SEARCH_DAYS} days for profile {profile.name!r}")


def latest_due(profile: Profile, now: datetime) -> Occurrence:
    """The most recent send at or before `now`."""
    return _occurrences(profile, now, -1)


def next_due(profile: Profile, now: datetime) -> Occurrence:
    """The first send after `now`."""
    return _occurrences(profile, now, +1)
