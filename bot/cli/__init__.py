"""The terminal door: `bot fetch`, `bot digest`, `bot rank`, `bot listings`, `bot profile ...`, `bot source ...`.

Each command parses its options, calls one room, and prints. Nothing here imports scikit-learn at
start-up: only the commands that rank do, inside their functions.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot import __version__
from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.cli.profile import profile
from bot.cli.source import all_sources, source
from bot.config import Config


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bot")
def cli() -> None:
    """Daily digests of the new papers that match your interests.

    \b
    Quick start:
        bot profile add decoding --keywords "speculative decoding, draft model"
        bot fetch
        bot digest
    """


cli.add_command(profile)
cli.add_command(source)


@cli.command()
@config_option
def fetch(config: Config) -> None:
    """Read every source (config file and `bot source add`) into the store.

    On a terminal each source gets a progress bar; otherwise each start and end is one log line on
    stderr. A source that fails is reported and skipped; the others still run, and the command
    exits 1 after all of them if any failed.

    \b
    Example:
        bot fetch
    """
    from bot.cli.progress import fetch_progress
    from bot.fetch import fetch_sources

    with open_store(config) as store:
        sources, _hidden = all_sources(config, store)
        if not sources:
            raise click.ClickException(
                f"no sources configured: add [[sources]] to {config.path} or run `bot source add`"
            )
        with fetch_progress([s.name for s in sources]) as progress:
            results = fetch_sources(store, sources, progress=progress)
    rows = [[r.source, str(r.new), str(r.updated), str(r.unchanged), r.status] for r in results]
    click.echo(table(rows, ["SOURCE", "NEW", "UPDATED", "UNCHANGED", "STATUS"]))
    failed = [r for r in results if r.error]
    if failed:
        for r in failed:
            click.echo(f"Error: source {r.source} failed: {r.error}", err=True)
        sys.exit(1)


@cli.command()
@click.option(
    "--json", "as_json", is_flag=True, help="JSON lines: id, title, abstract, authors, url, upvotes, … (see README)."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many, newest first.")
@config_option
def listings(config: Config, as_json: bool, limit: int | None) -> None:
    """Print the stored listings, newest first.

    \b
    Example:
        bot listings --json --limit 5
    """
    from bot.jsonl import listing_json

    with open_store(config) as store:
        items = store.listings()[:limit]
    if as_json:
        for item in items:
            click.echo(json.dumps(listing_json(item), ensure_ascii=False))
        return
    if not items:
        click.echo("No listings yet. Run: bot fetch")
        return
    click.echo(table([[i.id, cut(i.title, 70), i.source or ""] for i in items], ["ID", "TITLE", "SOURCE"]))


@cli.command()
@click.option(
    "--listings",
    "listings_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL: id, title, abstract, [authors, categories, url, published, upvotes].",
)
@click.option(
    "--profiles",
    "profiles_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL: name and any of keywords, exclude, like, dislike, authors.",
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Results per profile.")
@config_option
def rank(config: Config, listings_path: Path, profiles_path: Path, top: int) -> None:
    """Rank listings for profiles from files; one JSON line per profile, best first.

    Output: {"profile": NAME, "results": [{"id": ..., "score": ..., "why": [...]}, ...]}

    \b
    Example:
        bot rank --listings listings.jsonl --profiles profiles.jsonl --top 20
    """
    from bot.jsonl import read_listings, read_profiles
    from bot.rank import rank as rank_listings

    items = read_listings(listings_path)
    profiles = read_profiles(profiles_path)
    names = [p.name for p in profiles]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise Refused(f"{profiles_path}: profile name(s) appear twice: {', '.join(duplicates)}")
    known = {i.id for i in items}
    for p in profiles:
        if missing := [i for i in p.likes + p.dislikes if i not in known]:
            click.echo(f"warning: profile {p.name}: ids not in {listings_path}: {', '.join(missing)}", err=True)
    for p, results in rank_listings(items, profiles, top=top):
        line = {
            "profile": p.name,
            "results": [{"id": r.listing_id, "score": round(r.score, 4), "why": list(r.why)} for r in results],
        }
        click.echo(json.dumps(line, ensure_ascii=False))


@cli.command()
@click.argument("profile_name", metavar="PROFILE")
@click.argument("listing_id")
@click.argument("vote", type=click.Choice(["up", "down"]))
@config_option
def feedback(config: Config, profile_name: str, listing_id: str, vote: str) -> None:
    """Say a paper was what PROFILE wants (up) or not (down); later digests learn from it.

    \b
    Example:
        bot feedback decoding title:0f3c2a1b9d8e7f60 up
    """
    with open_store(config) as store:
        store.record_feedback(
            store.profile(profile_name), listing_id, 1 if vote == "up" else -1, voter="cli", via="cli"
        )
    click.echo(
        f"Recorded 👍 for {listing_id} in {profile_name}"
        if vote == "up"
        else f"Recorded 👎 for {listing_id} in {profile_name}"
    )


@cli.command()
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
        composed = compose_digests(
            store,
            profiles,
            now=now,
            max_age_days=config.digest.max_age_days,
            message_domain=_message_domain(config),
            dry_run=dry_run,
        )
        if dry_run:
            _print_dry_run(composed)
            return
        channels = make_channels(config)
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


@cli.command()
@click.option("--once", is_flag=True, help="Do one tick and exit (for cron and for tests).")
@config_option
def run(config: Config, once: bool) -> None:
    """Run the bot: fetch sources when due, send each digest at its profile's local time.

    Ticks every [schedule] tick_seconds; the database says what is due, so restarts and a second
    copy never send a digest twice. SIGTERM or Ctrl-C finishes the message being sent and exits 0.
    With --once, exits 1 if a source or a delivery failed for good.

    \b
    Example:
        bot run
        bot run --once
    """
    import logging

    from bot.channels import make_channels
    from bot.scheduler import run as run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    channels = make_channels(config)
    for note in channels.notes:
        logging.getLogger("bot.run").info(note)
    with open_store(config) as store:
        code = run_scheduler(config, store, channels, once=once)
    sys.exit(code)


@cli.command()
@config_option
def status(config: Config) -> None:
    """Show when each profile's next digest goes out, the last one and its deliveries, each source's
    last fetch, and every failed delivery with its error.

    \b
    Example:
        bot status
    """
    from bot.fetch import merge_sources
    from bot.schedule import next_due

    now = datetime.now(UTC)
    with open_store(config) as store:
        profiles = store.profiles()
        summaries = store.digest_summaries()
        states = store.source_states()
        all_sources, _hidden = merge_sources(config.sources, store.stored_sources())
    latest: dict[str, list] = {}
    for s in summaries:
        if s.profile not in latest or latest[s.profile][0].period < s.period:
            latest[s.profile] = [s]
        elif latest[s.profile][0].period == s.period:
            latest[s.profile].append(s)
    rows = []
    for p in profiles:
        when = next_due(p, now)
        local = when.due_at.astimezone(ZoneInfo(p.tz))
        last = latest.get(p.name, [])
        deliveries = ", ".join(f"{s.channel} {s.state}" for s in last) or "—"
        rows.append(
            [
                p.name,
                f"{local:%a %Y-%m-%d %H:%M} {p.tz}",
                last[0].period if last else "—",
                str(last[0].items) if last else "—",
                deliveries,
            ]
        )
    click.echo(table(rows, ["PROFILE", "NEXT SEND", "LAST PERIOD", "PAPERS", "DELIVERIES"]) if rows else "No profiles.")
    click.echo()
    source_rows = []
    for configured in all_sources:
        state = states.get(configured.name)
        if state is None or state.last_fetch_at is None:
            source_rows.append([configured.name, "never", "—", "—", ""])
            continue
        source_rows.append(
            [
                configured.name,
                f"{state.last_fetch_at:%Y-%m-%d %H:%M} UTC",
                state.last_outcome or "—",
                str(state.last_new or 0),
                cut(state.last_error or "", 60),
            ]
        )
    click.echo(
        table(source_rows, ["SOURCE", "LAST FETCH", "OUTCOME", "NEW", "ERROR"]) if source_rows else "No sources."
    )
    failed = [s for s in summaries if s.state == "failed"]
    waiting = [s for s in summaries if s.state == "pending" and s.last_error]
    if failed or waiting:
        click.echo()
    for s in failed:
        click.echo(
            f"failed: delivery {s.id} ({s.profile} via {s.channel}, {s.period}) after {s.attempts} "
            f"attempt{'s' if s.attempts != 1 else ''}: {s.last_error}  → bot retry {s.id}"
        )
    for s in waiting:
        click.echo(f"retrying: delivery {s.id} ({s.profile} via {s.channel}, {s.period}), last error: {s.last_error}")


@cli.command()
@click.argument("delivery_id", type=int)
@config_option
def retry(config: Config, delivery_id: int) -> None:
    """Queue a failed delivery again (ids from `bot status`); the next tick or `bot digest` sends it.

    \b
    Example:
        bot retry 7
    """
    from bot.errors import StoreError

    with open_store(config) as store:
        try:
            store.requeue(delivery_id)
        except StoreError as exc:
            raise Refused(str(exc)) from None
    click.echo(f"Delivery {delivery_id} is queued again.")


@cli.command()
@config_option
def slack(config: Config) -> None:
    """Serve the Slack app over Socket Mode: `/papers` and the buttons under each digest.

    Needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-..., with connections:write); the bot
    dials out to Slack, so no public address is needed. Runs until interrupted.

    \b
    Example:
        SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... bot slack
    """
    import logging

    from bot.slack_app import serve_socket_mode

    # A long-running server: warnings and errors (a reconnect, a failed command) go to stderr with a time.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_socket_mode(config, on_connected=click.echo)


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


@cli.command()
@click.option("--host", default=None, help="Listen on this address  [default: [web] host]")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Listen on this port  [default: [web] port]")
@config_option
def serve(config: Config, host: str | None, port: int | None) -> None:
    """Answer the unsubscribe and 👍/👎 links in digest emails, /healthz, and Slack at /slack/events.

    Needs BOT_SECRET (the links are signed with it). [web] base_url must be the public address of
    this server, usually through a reverse proxy that terminates TLS. Stops on Ctrl-C.

    \b
    Example:
        BOT_SECRET=... bot serve --port 8080
    """
    import uvicorn

    from bot.channels import SECRET_ENV
    from bot.errors import ConfigError
    from bot.links import Links
    from bot.web import build_app

    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise ConfigError(f"{SECRET_ENV} is not set: `bot serve` checks the signed links with it")
    links = Links(secret, config.web.base_url or "http://localhost", feedback_max_age=config.web.feedback_days * 86_400)
    if not config.web.base_url:
        click.echo("Note: [web] base_url is not set, so digests carry no links for this server to answer", err=True)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from bot.slack_app import missing_secrets, slack_routes

    extra_routes = []
    if note := missing_secrets("http"):
        click.echo(f"Note: {note}; /slack/events is not served", err=True)
    else:
        extra_routes = slack_routes(config)
        click.echo("Serving the Slack app at /slack/events", err=True)
    with open_store(config) as store:
        # No access log: it would print every signed token, and a token is all it takes to use a link.
        uvicorn.run(
            build_app(store, links, extra_routes=extra_routes),
            host=host or config.web.host,
            port=config.web.port if port is None else port,
            access_log=False,
        )


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


def main() -> None:
    cli(prog_name="bot")
