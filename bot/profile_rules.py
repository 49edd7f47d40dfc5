"""Checking a profile before it is stored: each refusal is one line naming the field and the fix."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ProfileError
from bot.keys import listing_ref
from bot.models import Profile
from bot.rank.words import unmatchable

SCHEDULES = ("daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TOP = 50
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: What a profile's or a source's name may be: it is typed in commands and shown in tables and logs.
NAME_RULE = "use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
#: A profile's or source's title, as readers see it (the store keeps up to 200 characters).
MAX_TITLE = 200
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def split_terms(values: Iterable[str]) -> list[str]:
    """'a, b' and ['a', 'b'] both give ['a', 'b']: whitespace collapsed, duplicates (any case) dropped."""
    seen: set[str] = set()
    out = []
    for value in values:
        for part in value.split(","):
            term = " ".join(part.split())
            if term and term.casefold() not in seen:
                seen.add(term.casefold())
                out.append(term)
    return out


def valid_name(name: str) -> bool:
    """Whether `name` keeps to NAME_RULE."""
    return bool(_NAME.match(name))


def checked_title(title: str | None) -> str | None:
    """A title on one line, None for an empty one; ProfileError when it is too long to show."""
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        raise ProfileError(f"the title is {len(title)} characters long: give one of at most {MAX_TITLE}")
    return title or None


def validate_profile(profile: Profile) -> Profile:
    """The profile, normalised, or ProfileError saying what is wrong."""
    if not valid_name(profile.name):
        raise ProfileError(f"invalid profile name {profile.name!r}: {NAME_RULE}")
    profile = replace(
        profile,
        keywords=split_terms(profile.keywords),
        exclude=split_terms(profile.exclude),
        authors=split_terms(profile.authors),
        likes=list(dict.fromkeys(listing_ref(i) for i in profile.likes if i.strip())),
        dislikes=list(dict.fromkeys(listing_ref(i) for i in profile.dislikes if i.strip())),
        email=(profile.email or "").strip() or None,
        slack_channel=(profile.slack_channel or "").strip() or None,
        weekday=profile.weekday.strip().lower()[:3],
        title=checked_title(profile.title),
    )
    _check_interests(profile)
    profile = _checked_addresses(profile)
    _check_schedule(profile)
    _check_sizes(profile)
    return profile


def _check_interests(profile: Profile) -> None:
    if not (profile.keywords or profile.likes or profile.authors):
        raise ProfileError(f"profile {profile.name!r} has no interests: give --keywords, --like or --author")
    if both := {t.casefold() for t in profile.keywords} & {t.casefold() for t in profile.exclude}:
        raise ProfileError(f"{', '.join(sorted(both))!r} is both a keyword and excluded")


def _checked_addresses(profile: Profile) -> Profile:
    if profile.email is not None:
        profile = replace(profile, email=_checked_email(profile.email))
    if profile.slack_channel is not None and not re.match(r"^[#@]?[\w.-]{1,80}$", profile.slack_channel):
        raise ProfileError(
            f"invalid Slack channel {profile.slack_channel!r}: give a name like #papers or an id like C0123456789"
        )
    return profile


def _check_schedule(profile: Profile) -> None:
    try:
        ZoneInfo(profile.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"unknown time zone {profile.tz!r}: use an IANA name such as Europe/Berlin or UTC") from None
    if not _TIME.match(profile.send_at):
        raise ProfileError(f"invalid time {profile.send_at!r}: use HH:MM on a 24-hour clock, e.g. 08:00")
    if profile.schedule not in SCHEDULES:
        raise ProfileError(f"invalid schedule {profile.schedule!r}: use {' or '.join(SCHEDULES)}")
    if profile.weekday not in WEEKDAYS:
        raise ProfileError(f"invalid weekday {profile.weekday!r}: use one of {', '.join(WEEKDAYS)}")
    if profile.schedule == "weekly" and profile.skip_weekends and WEEKDAYS.index(profile.weekday) >= 5:
        raise ProfileError(f"a weekly digest on {profile.weekday} never goes out when weekends are skipped")


def _check_sizes(profile: Profile) -> None:
    if not 1 <= profile.top <= MAX_TOP:
        raise ProfileError(f"invalid --top {profile.top}: a digest holds between 1 and {MAX_TOP} papers")
    if not 0.0 <= profile.min_score < 1.0:
        raise ProfileError(f"invalid --min-score {profile.min_score}: use a number from 0 up to (not including) 1")
    if not 0.0 <= profile.trend <= 1.0:
        raise ProfileError(f"invalid --trend {profile.trend}: use a number from 0 (off) to 1")


def refuse_unmatchable(profile: Profile, before: Profile | None = None) -> None:
    """ProfileError if a keyword or excluded word of `profile` (one not already in `before`) has no
    word the ranker can match: it would silently match nothing. Only what is typed now is checked,
    so a profile stored before this check still takes votes and other changes."""
    old = before or Profile(name=profile.name)
    for kind, terms, known in (
        ("keyword", profile.keywords, old.keywords),
        ("excluded word", profile.exclude, old.exclude),
    ):
        if dead := unmatchable(t for t in terms if t not in known):
            raise ProfileError(
                f"{kind} {dead[0]!r} can never match a paper: words of one letter and common English "
                'words ("it", "the", "system") are not matched; name the topic in other words'
            )


def _checked_email(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        # No DNS lookup: the bot must work offline, and a mail server answers for the mailbox anyway.
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ProfileError(f"invalid email {address!r}: {exc}") from None
