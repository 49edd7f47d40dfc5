"""`bot digest`: make each profile's digest for its current period and deliver it, or preview it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config

if TYPE_CHECKING:
    from bot.flow.deliver import DeliveryOutcome
    from bot.flow.pipeline import Pipeline
    from bot.models import Profile
    from bot.store import DigestSummary


@click.command()
@click.option("--profile", "profile_name", default=None, metavar="NAME", help="Only this profile.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; record and send nothing.")
@click.option(
    "--preview",
    is_flag=True,
    help="Write the email digest PROFILE would get now to an HTML file and print its path; records and sends nothing.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --preview: the file to write  [default: OUTBOX/preview-NAME.html]",
)
@config_option
def digest(config: Config, profile_name: str | None, dry_run: bool, preview: bool, out_path: Path | None) -> None:
    """Make each profile's digest for its current period and deliver it.

    A digest holds the best papers the profile has not been sent yet, so running this twice sends
    nothing new the second time. Exits 1 if a delivery failed. --preview writes the HTML email
    (without unsubscribe or 👍/👎 links) to a file instead.

    \b
    Example:
        bot digest --profile decoding --dry-run
        bot digest --profile decoding --preview
    """
    from bot.flow.pipeline import Pipeline

    _refuse_mixed(profile_name, dry_run, preview, out_path)
    now = datetime.now(UTC)
    with open_store(config) as store:
        pipeline = Pipeline.from_config(config, store)
        profiles = [store.profile(profile_name)] if profile_name else store.profiles()
        if not profiles:
            raise click.ClickException('no profiles: add one with `bot profile add NAME --keywords "..."`')
        if preview:
            path = out_path or Path(config.outbox.dir) / f"preview-{profiles[0].name}.html"
            _write_preview(pipeline, profiles[0], now, path)
            return
        # Channels first: a bad setting (a weak BOT_SECRET) is refused before any digest is composed.
        channels = None if dry_run else pipeline.channels
        composed = pipeline.compose(profiles, now=now, dry_run=dry_run)
        if channels is None:
            _print_dry_run(composed, _stored(store, composed))
            return
        # Asked for by hand: a retry that waits out its delay is sent now too.
        outcomes = pipeline.deliver(profile=profile_name, include_waiting=True)
        # What the store says once this run is done: another process may hold or have sent a digest.
        stored = _stored(store, composed)
    _print_delivered(composed, stored, outcomes, channels.notes)


def _print_delivered(
    composed: list, stored: dict[str, list[DigestSummary]], outcomes: list[DeliveryOutcome], notes: tuple[str, ...]
) -> None:
    """The table, the notes, what was sent and what failed; exits 1 if a delivery failed."""
    sent = [o for o in outcomes if o.receipt]
    click.echo(_table(composed, stored, {o.digest.id for o in sent}))
    failed = [o for o in outcomes if o.error]
    for note in notes:
        click.echo(f"Note: {note}")
    if sent:
        click.echo(f"Delivered {len(sent)} digest{'s' if len(sent) != 1 else ''}:")
        for o in sent:
            click.echo(f"  {o.digest.profile.name} via {o.digest.channel} → {o.receipt}")
    for o in failed:
        click.echo(
            f"Error: digest {o.digest.id} for {o.digest.profile.name} via {o.digest.channel}: {o.error}", err=True
        )
    if failed:
        sys.exit(1)


def _refuse_mixed(profile_name: str | None, dry_run: bool, preview: bool, out_path: Path | None) -> None:
    if preview and not profile_name:
        raise Refused("--preview needs --profile NAME")
    if out_path and not preview:
        raise Refused("--out goes with --preview")
    if preview and dry_run:
        raise Refused("--preview and --dry-run do not go together: a preview sends nothing anyway")


def _stored(store: Any, composed: list) -> dict[str, list[DigestSummary]]:
    """Each profile's digests for the period just composed, by profile name."""
    stored: dict[str, list[DigestSummary]] = {c.profile.name: [] for c in composed}
    for summary in store.period_summaries({c.profile.id: c.period for c in composed}):
        stored[summary.profile].append(summary)
    return stored


def _table(composed: list, stored: dict[str, list[DigestSummary]], sent_now: set[int]) -> str:
    rows = []
    for c in composed:
        digests = stored[c.profile.name]
        status = _status(c, digests, sent_now)
        if c.items:
            best, _score, why = c.items[0]
            rows.append([c.profile.name, str(len(c.items)), status, cut(best.title, 50), cut(", ".join(why), 40)])
        else:
            rows.append([c.profile.name, str(max((d.items for d in digests), default=0)), status, "", ""])
    return table(rows, ["PROFILE", "PAPERS", "STATUS", "TOP PAPER", "WHY"])


def _status(c: Any, digests: list[DigestSummary], sent_now: set[int]) -> str:
    """Where the profile's digest for this period stands, per channel when the channels differ."""
    if not digests:
        return f"{c.profile.email} unsubscribed" if c.status == "unsubscribed" else "nothing new"
    now = datetime.now(UTC)
    states = [(d.channel, _delivery_state(d, d.id in sent_now, c.status == "created", now)) for d in digests]
    if len({state for _channel, state in states}) == 1:
        return states[0][1]
    return ", ".join(f"{channel} {state}" for channel, state in states)


def _delivery_state(d: DigestSummary, sent_now: bool, composed_now: bool, now: datetime) -> str:
    if d.state == "sent":
        if sent_now:
            return "sent" if d.attempts <= 1 else f"sent on try {d.attempts}"
        return "sent by another process" if composed_now else "already sent"
    if d.state == "failed":
        return f"failed (`bot retry {d.id}` queues it again)"
    if d.state != "pending":
        return {"empty": "nothing new"}.get(d.state, d.state)
    # Every lease this run took is given back by now: one still running belongs to another process.
    if d.lease_until is not None and d.lease_until > now:
        return f"in progress (leased until {d.lease_until:%H:%M} UTC)"
    if d.next_attempt_at is not None and d.next_attempt_at > now:
        return f"retrying (next try {d.next_attempt_at:%H:%M} UTC)"
    return "waiting for the next run"


def _write_preview(pipeline: Pipeline, profile: Profile, now: datetime, path: Path) -> None:
    """Render the email the profile would get now and write its HTML; nothing is recorded."""
    from bot.models import Digest, DigestItem
    from bot.render import render_email

    composed = pipeline.preview(profile, now=now)
    if not composed.items:
        raise click.ClickException(f"nothing new to preview for {profile.name}: run `bot fetch` first")
    items = tuple(DigestItem(listing=item, score=score, why=why) for item, score, why in composed.items)
    digest = Digest(id=0, profile=profile, channel="email", period=composed.period, items=items)
    html = render_email(
        digest, abstract_chars=pipeline.settings.abstract_chars, source_titles=pipeline.source_titles()
    ).html
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the preview to {path}: {exc.strerror}") from exc
    click.echo(str(path))


def _print_dry_run(composed: list, stored: dict[str, list[DigestSummary]]) -> None:
    for c in composed:
        if not c.items:
            click.echo(f"{c.profile.name} ({c.period}): {_status(c, stored[c.profile.name], set())}")
            continue
        click.echo(
            f"{c.profile.name} ({c.period}) would get {len(c.items)} paper(s) via {', '.join(c.profile.channels)}:"
        )
        for position, (item, score, why) in enumerate(c.items, start=1):
            click.echo(f"  {position:>2}. {score:.3f}  {cut(item.title, 70)}")
            click.echo(f"      why: {', '.join(why)}")
