"""`bot digest`: make each profile's digest for its current period and deliver it, or preview it."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config


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
    from bot.channels import make_channels
    from bot.deliver import deliver_pending, retry_policy
    from bot.digest import compose_digests

    if preview and not profile_name:
        raise Refused("--preview needs --profile NAME")
    if out_path and not preview:
        raise Refused("--out goes with --preview")
    if preview and dry_run:
        raise Refused("--preview and --dry-run do not go together: a preview sends nothing anyway")
    now = datetime.now(UTC)
    with open_store(config) as store:
        profiles = [store.profile(profile_name)] if profile_name else store.profiles()
        if not profiles:
            raise click.ClickException('no profiles: add one with `bot profile add NAME --keywords "..."`')
        if preview:
            _write_preview(config, store, profiles[0], now, out_path)
            return
        # Channels first: a bad setting (a weak BOT_SECRET) is refused before any digest is composed.
        channels = None if dry_run else make_channels(config)
        composed = compose_digests(
            store,
            profiles,
            now=now,
            max_age_days=config.digest.max_age_days,
            message_domain=_message_domain(config),
            dry_run=dry_run,
            **config.rank.model_options(),
        )
        if channels is None:
            _print_dry_run(composed)
            return
        outcomes = deliver_pending(
            store,
            channels.notifiers,
            sender=config.smtp.sender,
            abstract_chars=config.digest.abstract_chars,
            profile=profile_name,
            now=now,
            lease=timedelta(seconds=config.delivery.lease_seconds),
            batch=config.delivery.batch_size,
            retry=retry_policy(config.delivery),
            include_waiting=True,  # asked for by hand: do not make a waiting retry wait longer
            links=channels.links,
            unsubscribe_mailto=channels.unsubscribe_mailto,
        )
    rows = []
    for c in composed:
        if c.items:
            best, _score, why = c.items[0]
            rows.append([c.profile.name, str(len(c.items)), cut(best.title, 50), cut(", ".join(why), 40)])
        else:
            rows.append([c.profile.name, "0", f"({_status_note(c)})", ""])
    click.echo(table(rows, ["PROFILE", "PAPERS", "TOP PAPER", "WHY"]))
    sent = [o for o in outcomes if o.receipt]
    failed = [o for o in outcomes if o.error]
    for note in channels.notes:
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


def _message_domain(config: Config) -> str:
    return parseaddr(config.smtp.sender)[1].rpartition("@")[2] or "localhost"


def _status_note(c: Any) -> str:
    if c.status == "already composed":
        return f"already sent for {c.period}"
    if c.status == "unsubscribed":
        return f"{c.profile.email} unsubscribed"
    return "nothing new"


def _write_preview(config: Config, store: Any, profile: Any, now: datetime, out_path: Path | None) -> None:
    """Rank as a dry run, render the email the profile would get, write its HTML; nothing is recorded."""
    from bot.digest import compose_digests, period_for
    from bot.models import Digest, DigestItem
    from bot.render import render_email

    composed = compose_digests(
        store,
        [replace(profile, email_unsubscribed_at=None)],
        now=now,
        max_age_days=config.digest.max_age_days,
        dry_run=True,
        ignore_composed=True,
        **config.rank.model_options(),
    )[0]
    if not composed.items:
        raise click.ClickException(f"nothing new to preview for {profile.name}: run `bot fetch` first")
    items = tuple(DigestItem(listing=item, score=score, why=why) for item, score, why in composed.items)
    digest = Digest(id=0, profile=profile, channel="email", period=period_for(profile, now), items=items)
    html = render_email(digest, abstract_chars=config.digest.abstract_chars).html
    path = out_path or Path(config.outbox.dir) / f"preview-{profile.name}.html"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the preview to {path}: {exc.strerror}") from exc
    click.echo(str(path))


def _print_dry_run(composed: list) -> None:
    for c in composed:
        if not c.items:
            click.echo(f"{c.profile.name} ({c.period}): {_status_note(c)}")
            continue
        click.echo(
            f"{c.profile.name} ({c.period}) would get {len(c.items)} paper(s) via {', '.join(c.profile.channels)}:"
        )
        for position, (item, score, why) in enumerate(c.items, start=1):
            click.echo(f"  {position:>2}. {score:.3f}  {cut(item.title, 70)}")
            click.echo(f"      why: {', '.join(why)}")
