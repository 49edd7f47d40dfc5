"""`bot profile add|edit|list|show|remove|import`: interest profiles at the terminal."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config
from bot.errors import ProfileError
from bot.feedback import split_votes
from bot.models import Profile
from bot.profile_rules import SCHEDULES, WEEKDAYS, refuse_unmatchable, validate_profile

if TYPE_CHECKING:
    from bot.store import Store


def _profile_options(*, defaults: bool) -> Any:
    """The options of `profile add` and `profile edit`; only add names defaults, since edit keeps
    the stored value of every option not given."""

    def default(text: str) -> str:
        return f"  [default: {text}]" if defaults else ""

    options = [
        click.option(
            "--title", default=None, help='What readers see, e.g. "Decoding papers"' + default("from the keywords")
        ),
        click.option(
            "--keywords",
            "-k",
            multiple=True,
            help='Keywords and phrases, comma-separated: "speculative decoding, draft model".',
        ),
        click.option("--exclude", "-x", multiple=True, help="A word or phrase that sinks a paper (repeatable)."),
        click.option(
            "--like",
            "likes",
            multiple=True,
            metavar="LISTING_ID",
            help="A paper like the ones you want (repeatable): an id from `bot listings`, an arXiv id or link.",
        ),
        click.option(
            "--dislike",
            "dislikes",
            multiple=True,
            metavar="LISTING_ID",
            help="A paper unlike the ones you want (repeatable).",
        ),
        click.option("--author", "authors", multiple=True, metavar="NAME", help="A favourite author (repeatable)."),
        click.option("--email", default=None, help="Where email digests go."),
        click.option(
            "--slack-channel", default=None, metavar="CHANNEL", help="Slack channel for digests, e.g. #papers."
        ),
        click.option("--top", type=int, default=None, help="Papers per digest" + default("from config, 10")),
        click.option(
            "--min-score",
            type=float,
            default=None,
            help="Lowest score worth sending, 0–1" + default("from config, 0.05"),
        ),
        click.option("--schedule", type=click.Choice(SCHEDULES), default=None, help="How often" + default("daily")),
        click.option("--at", "send_at", default=None, metavar="HH:MM", help="Local send time" + default("08:00")),
        click.option("--tz", default=None, help="IANA time zone, e.g. Europe/Berlin" + default("UTC")),
        click.option(
            "--weekday", type=click.Choice(WEEKDAYS), default=None, help="Day of a weekly digest" + default("mon")
        ),
        click.option(
            "--skip-weekends/--no-skip-weekends", default=None, help="No daily digest on Saturday and Sunday."
        ),
        click.option("--send-empty/--no-send-empty", default=None, help="Send a digest even when nothing new matched."),
        click.option(
            "--trend",
            type=float,
            default=None,
            metavar="WEIGHT",
            help="0–1: how much upvotes (where a source has them) lift papers in your area" + default("0"),
        ),
    ]

    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_LIST_FIELDS = ("keywords", "exclude", "likes", "dislikes", "authors")


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options typed on the command line: an empty tuple or None is one left out."""
    return {key: value for key, value in options.items() if (value if key in _LIST_FIELDS else value is not None)}


def _apply(profile: Profile, given: dict[str, Any]) -> Profile:
    """The profile with every option that was given replacing the stored value."""
    changes = {key: list(value) if key in _LIST_FIELDS else value for key, value in _given(given).items()}
    if "email" in changes:  # an address given again is a new subscription
        changes["email_unsubscribed_at"] = None
    return replace(profile, **changes)


def _check_examples(store: Store, profile: Profile) -> None:
    missing = store.missing_listing_ids(profile.likes + profile.dislikes)
    if missing:
        raise ProfileError(f"unknown listing id(s) {', '.join(missing)}: see `bot listings` for the ids")


@click.group()
def profile() -> None:
    """Interest profiles: who gets which papers, where and when."""


@profile.command("add")
@click.argument("name")
@_profile_options(defaults=True)
@config_option
def add(name: str, config: Config, **given: Any) -> None:
    """Create a profile.

    \b
    Example:
        bot profile add decoding --keywords "speculative decoding, draft model" \\
            --exclude survey --email me@example.org --at 07:30 --tz Europe/Berlin
    """
    base = Profile(name=name, top=config.digest.top, min_score=config.digest.min_score)
    new = validate_profile(_apply(base, given))
    refuse_unmatchable(new)
    with open_store(config) as store:
        _check_examples(store, new)
        store.add_profile(new)
    click.echo(f"Added profile {new.name}: {_summary(new)}")


@profile.command("edit")
@click.argument("name")
@_profile_options(defaults=False)
@config_option
def edit(name: str, config: Config, **given: Any) -> None:
    """Change a profile: each option given replaces the stored value.

    Pass an empty string to clear a list or an address (--exclude "" or --email "").

    \b
    Example:
        bot profile edit decoding --keywords "speculative decoding, lookahead decoding" --top 5
    """
    if not _given(given):
        raise Refused("nothing to change: give at least one option (see `bot profile edit --help`)")
    with open_store(config) as store:
        before = store.profile(name)
        changed = validate_profile(_apply(before, given))
        refuse_unmatchable(changed, before)
        _check_examples(store, changed)
        store.save_profile(changed)
    click.echo(f"Updated profile {changed.name}: {_summary(changed)}")


@profile.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def list_(config: Config, as_json: bool) -> None:
    """List profiles.

    \b
    Example:
        bot profile list
    """
    with open_store(config) as store:
        profiles = store.profiles()
    if as_json:
        for p in profiles:
            click.echo(json.dumps(_as_dict(p)))
        return
    if not profiles:
        click.echo('No profiles yet. Add one with: bot profile add NAME --keywords "..."')
        return
    rows = [
        [
            p.name,
            cut(", ".join(p.keywords) or "—", 40),
            _destinations(p),
            f"{_period(p)} {p.send_at} {p.tz}",
            str(p.top),
        ]
        for p in profiles
    ]
    click.echo(table(rows, ["NAME", "KEYWORDS", "TO", "SCHEDULE", "TOP"]))


@profile.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="As a JSON object.")
@config_option
def show(name: str, config: Config, as_json: bool) -> None:
    """Show one profile in full.

    \b
    Example:
        bot profile show decoding
    """
    with open_store(config) as store:
        p = store.profile(name)
        votes = store.feedback_votes(p)
    # Votes from Slack buttons, email links and `bot feedback` are kept apart from --like/--dislike:
    # shown beside them.
    data = {}
    for key, value in _as_dict(p).items():
        data[key] = value
        if key == "dislikes":
            data["voted_up"], data["voted_down"] = split_votes(votes)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    width = max(map(len, data)) + 2  # the longest label, its colon and a space
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key + ':':<{width}}{shown if shown not in (None, '') else '—'}")


@profile.command("remove")
@click.argument("name")
@config_option
def remove(name: str, config: Config) -> None:
    """Delete a profile, with its digests and its record of what was sent.

    \b
    Example:
        bot profile remove decoding
    """
    with open_store(config) as store:
        store.remove_profile(name)
    click.echo(f"Removed profile {name}")


_IMPORT_KEYS = {f.name for f in fields(Profile)} - {"id", "email_unsubscribed_at"}


@profile.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
def import_(path: Path, config: Config) -> None:
    """Create or update the profiles in a TOML file of [[profiles]] tables (all or none).

    \b
    Example:
        bot profile import config/demo-profiles.toml
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("profiles")
    if not isinstance(entries, list) or not entries:
        raise ProfileError(f"{path}: expected one or more [[profiles]] tables")
    checked = []
    for number, entry in enumerate(entries, start=1):
        unknown = set(entry) - _IMPORT_KEYS
        if unknown:
            raise ProfileError(f"{path}: profile {number}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            base = Profile(**{"top": config.digest.top, "min_score": config.digest.min_score, **_typed(entry)})
            checked.append(validate_profile(base))
            refuse_unmatchable(checked[-1])
        except ProfileError as exc:
            raise ProfileError(f"{path}: profile {number}: {exc}") from None
    with open_store(config) as store:
        for p in checked:
            _check_examples(store, p)
        known = {p.name: p for p in store.profiles()}
        for p in checked:
            # Importing the same file again must not resubscribe an address that unsubscribed.
            old = known.get(p.name)
            if old is not None and old.email == p.email:
                p = replace(p, email_unsubscribed_at=old.email_unsubscribed_at)
            store.save_profile(p)
    click.echo(
        f"Imported {len(checked)} profile{'s' if len(checked) != 1 else ''}: {', '.join(p.name for p in checked)}"
    )


def _typed(entry: dict[str, Any]) -> dict[str, Any]:
    """Check each value's type against the field's default; a list field also takes one string."""
    defaults = Profile(name="")
    out = {}
    for key, value in entry.items():
        if key in _LIST_FIELDS:
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ProfileError(f"{key} must be a list of strings")
        elif key == "created_at":
            raise ProfileError("created_at is set by the bot")
        elif key in ("min_score", "trend") and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif key in ("email", "slack_channel", "title"):
            if not isinstance(value, str):
                raise ProfileError(f"{key} must be a string")
        elif type(value) is not type(getattr(defaults, key)):
            kind = {int: "whole number", float: "number", str: "string"}[type(getattr(defaults, key))]
            raise ProfileError(f"{key} must be a {kind}, not {value!r}")
        out[key] = value
    return out


def _as_dict(p: Profile) -> dict[str, Any]:
    data = asdict(p)
    data.pop("id")
    created = data.pop("created_at")
    data["created_at"] = created.isoformat(timespec="seconds") if created else None
    unsubscribed = data.pop("email_unsubscribed_at")
    if unsubscribed is not None:
        data["email_unsubscribed_at"] = unsubscribed.isoformat()
    return data


def _summary(p: Profile) -> str:
    interests = []
    if p.keywords:
        interests.append("keywords " + ", ".join(p.keywords))
    if p.likes:
        interests.append(f"{len(p.likes)} example paper{'s' if len(p.likes) != 1 else ''}")
    if p.authors:
        interests.append("authors " + ", ".join(p.authors))
    if p.trend:
        interests.append(f"trend {p.trend:g}")
    return f"{'; '.join(interests)}; top {p.top} {_period(p)} at {p.send_at} {p.tz} to {_destinations(p)}"


def _period(p: Profile) -> str:
    """Daily, or weekly with its day: without the day a weekly profile's send time is half said."""
    return f"weekly {p.weekday}" if p.schedule == "weekly" else p.schedule


def _destinations(p: Profile) -> str:
    to = ", ".join(p.channels) or "nowhere"
    return to + " (email unsubscribed)" if p.email_unsubscribed else to
