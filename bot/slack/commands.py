"""What `/papers ...` does, apart from Slack: parse the text, change the channel's profile, say what changed.

Takes the command text and the channel it came from, reads and writes profiles and feedback through
the pipeline's store (`preview` is the pipeline's own preview, the one `bot digest --preview` shows),
validates with `bot.profile_rules.validate_profile`, and hands back a `Reply` (text, optional
blocks, public or only for the person who asked). Never raises for bad input: unknown or malformed
commands get the usage. `bot/slack/app.py` wires these to slack_bolt.

A channel's profile is named from the channel id (`slack-c0123456789`), so the same channel always
finds the same profile; a profile made with `bot profile add --slack-channel` for this channel (by
id, or by `#name`) is found too and extended rather than duplicated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.errors import ProfileError
from bot.feedback import split_votes
from bot.keys import arxiv_ref
from bot.models import Profile
from bot.profile_rules import SCHEDULES, refuse_unmatchable, split_terms, validate_profile
from bot.render.slack import escape_mrkdwn, preview_blocks
from bot.store import Store
from bot.strings import cut

if TYPE_CHECKING:
    from bot.flow.pipeline import Pipeline

PREVIEW_SIZE = 5

USAGE = """*`/papers` — new papers for this channel, ranked by its interests*
`/papers subscribe KEYWORDS` — start (or add keywords), e.g. `/papers subscribe speculative decoding, draft model`
`/papers show` — what this channel gets, and when
`/papers like ARXIV_ID_OR_URL` — a paper like the ones you want, e.g. `/papers like 2403.09612`
`/papers exclude WORD` — sink papers that mention it
`/papers schedule daily|weekly HH:MM [TIME_ZONE]` — e.g. `/papers schedule daily 08:30 Europe/Berlin`
`/papers preview` — the top 5 right now, shown only to you
`/papers unsubscribe` — stop the digests here
`/papers help` — this text
Under each paper, 👍 / 👎 / *More like this* teach the ranking what this channel wants."""

COMMANDS = ("subscribe", "unsubscribe", "show", "like", "exclude", "schedule", "preview", "help")


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    public: bool = False  # visible to the whole channel, not only to the person who asked

    def payload(self) -> dict[str, Any]:
        """The body for `respond()` / a response_url."""
        body: dict[str, Any] = {"text": self.text, "response_type": "in_channel" if self.public else "ephemeral"}
        if self.blocks:
            body["blocks"] = self.blocks
        return body


@dataclass(frozen=True)
class Where:
    """Where the command came from: the channel (id and name) and who typed it."""

    channel_id: str
    channel_name: str = ""
    user_id: str = ""


def usage(problem: str | None = None) -> Reply:
    return Reply(f"{problem}\n\n{USAGE}" if problem else USAGE)


def parse(text: str) -> tuple[str, str] | Reply:
    """(subcommand, rest) or the usage reply; `/papers` alone is `help`."""
    words = (text or "").strip().split(None, 1)
    if not words:
        return "help", ""
    name = words[0].casefold()
    if name not in COMMANDS:
        return usage(f"I don't know `{escape_mrkdwn(cut(words[0], 40))}`.")
    return name, words[1].strip() if len(words) > 1 else ""


def immediate(text: str) -> Reply | None:
    """The reply that needs no database (help, unknown input), or None when the command has work to do."""
    parsed = parse(text)
    if isinstance(parsed, Reply):
        return parsed
    return usage() if parsed[0] == "help" else None


def profile_name(channel_id: str) -> str:
    """The profile a channel's `/papers subscribe` creates: stable, valid, derived from the id."""
    return "slack-" + re.sub(r"[^a-z0-9_.-]", "", channel_id.casefold())[:58]


def channel_profile(store: Store, where: Where) -> Profile | None:
    """This channel's profile: the one named after it, else one whose Slack channel is this channel."""
    try:
        return store.profile(profile_name(where.channel_id))
    except ProfileError:
        pass
    names = {where.channel_id.casefold()}
    if where.channel_name:
        names |= {where.channel_name.casefold(), "#" + where.channel_name.casefold()}
    return next((p for p in store.profiles() if (p.slack_channel or "").casefold() in names), None)


def run(pipeline: Pipeline, text: str, where: Where, *, now: datetime) -> Reply:
    """Carry out one `/papers` command; every refusal is a short reply, never an exception."""
    parsed = parse(text)
    if isinstance(parsed, Reply):
        return parsed
    name, rest = parsed
    try:
        return _HANDLERS[name](pipeline, rest, where, now)
    except ProfileError as exc:
        return Reply(f"Not changed: {escape_mrkdwn(str(exc))}")


def _subscribe(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    keywords = split_terms([rest])
    if not keywords:
        return usage("Tell me what to look for: `/papers subscribe speculative decoding, draft model`")
    current = channel_profile(store, where)
    if current is None:
        profile = Profile(
            name=profile_name(where.channel_id),
            keywords=keywords,
            slack_channel=where.channel_id,
            top=pipeline.settings.top,
            min_score=pipeline.settings.min_score,
        )
        opening = "Subscribed"
    else:
        profile = replace(current, keywords=current.keywords + keywords)
        opening = "Keywords added"
    refuse_unmatchable(profile, current)
    saved = store.save_profile(validate_profile(profile))
    return Reply(f"{opening}. {_describe(saved)}\nSee the top papers right now with `/papers preview`.", public=True)


def _unsubscribe(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    current = channel_profile(store, where)
    if current is None:
        return Reply("This channel has no subscription. Start one with `/papers subscribe KEYWORDS`.")
    if current.email:  # a profile that also mails someone keeps doing so; only Slack stops
        store.save_profile(replace(current, slack_channel=None))
    else:
        store.remove_profile(current.name)
    return Reply(
        f"Unsubscribed: no more digests here (profile `{current.name}`, keywords: {_terms(current.keywords)}).",
        public=True,
    )


def _show(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    current = channel_profile(store, where)
    if current is None:
        return Reply("This channel has no subscription. Start one with `/papers subscribe KEYWORDS`.")
    lines = [_describe(current)]
    if current.exclude:
        lines.append(f"Excluded: {_terms(current.exclude)}")
    if current.likes:
        lines.append(f"Example papers: {escape_mrkdwn(', '.join(current.likes))}")
    votes = store.feedback_votes(current)
    if votes:
        up, down = (len(ids) for ids in split_votes(votes))
        lines.append(f"Feedback: 👍 on {up} paper{'s' if up != 1 else ''}, 👎 on {down}")
    lines.append(f"Profile `{current.name}`; change it with `/papers help`.")
    return Reply("\n".join(lines))


def _like(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    found = arxiv_ref(rest)
    if found is None:
        return usage(
            "Give one arXiv id or link: `/papers like 2403.09612` or `/papers like https://arxiv.org/abs/2403.09612`"
        )
    current = _required(store, where)
    if isinstance(current, Reply):
        return current
    key = f"arxiv:{found}"
    store.save_profile(validate_profile(replace(current, likes=[*current.likes, key])))
    known = not store.missing_listing_ids([key])
    later = "" if known else " I haven't seen it in a source yet; it will shape the ranking once it is fetched."
    return Reply(f"Noted: digests here will favour papers like arXiv {found}.{later}", public=True)


def _exclude(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    words = split_terms([rest])
    if not words:
        return usage("Give a word or phrase to exclude: `/papers exclude survey`")
    current = _required(store, where)
    if isinstance(current, Reply):
        return current
    changed = replace(current, exclude=current.exclude + words)
    refuse_unmatchable(changed, current)
    store.save_profile(validate_profile(changed))
    them = "it" if len(words) == 1 else "them"
    return Reply(f"Excluded {_terms(words)}: papers that mention {them} sink.", public=True)


def _schedule(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    store = pipeline.store
    parts = rest.split()
    if len(parts) not in (2, 3) or parts[0].casefold() not in SCHEDULES:
        return usage("Say how often and when: `/papers schedule daily 08:30 Europe/Berlin`")
    current = _required(store, where)
    if isinstance(current, Reply):
        return current
    tz = parts[2] if len(parts) == 3 else current.tz
    saved = store.save_profile(
        validate_profile(replace(current, schedule=parts[0].casefold(), send_at=parts[1], tz=tz))
    )
    return Reply(f"Schedule changed. {_describe(saved)}", public=True)


def _preview(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    current = _required(pipeline.store, where)
    if isinstance(current, Reply):
        return current
    # The very ranking `bot digest --preview` shows: the saved model, feedback, papers already sent skipped.
    composed = pipeline.preview(current, now=now, top=PREVIEW_SIZE)
    if not composed.items:
        days = pipeline.settings.max_age_days
        return Reply(
            f"Nothing among the {composed.candidates} papers of the last {days} days matches "
            f"{_terms(current.keywords)} yet. Try broader keywords with `/papers subscribe`."
        )
    items = list(composed.items)
    text = f"Top {len(items)} for this channel right now (only you can see this)"
    return Reply(text, blocks=preview_blocks(current.name, text, items, pipeline.source_titles()))


def _help(pipeline: Pipeline, rest: str, where: Where, now: datetime) -> Reply:
    return usage()


_HANDLERS = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "show": _show,
    "like": _like,
    "exclude": _exclude,
    "schedule": _schedule,
    "preview": _preview,
    "help": _help,
}


def _required(store: Store, where: Where) -> Profile | Reply:
    current = channel_profile(store, where)
    if current is None:
        return Reply("Subscribe this channel first: `/papers subscribe KEYWORDS`.")
    return current


def _describe(profile: Profile) -> str:
    when = "every day" if profile.schedule == "daily" else "once a week"
    interests = _terms(profile.keywords) or "its example papers"
    when += f" at {profile.send_at} ({profile.tz})"
    return f"This channel gets up to {profile.top} new papers matching {interests}, {when}."


def _terms(terms: list[str]) -> str:
    return ", ".join(f"*{escape_mrkdwn(t)}*" for t in terms)
