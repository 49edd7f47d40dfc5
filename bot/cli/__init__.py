"""The terminal door: `bot fetch`, `bot digest`, `bot rank`, `bot listings`, `bot profile ...`.

Each command parses its options, calls one room, and prints. Nothing here imports scikit-learn at
start-up: only the commands that rank do, inside their functions.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import click

from bot import __version__
from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.cli.profile import profile
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


@cli.command()
@config_option
def fetch(config: Config) -> None:
    """Read every configured source into the store.

    A source that fails is reported and skipped; the others still run. Exits 1 if any failed.

    \b
    Example:
        bot fetch
    """
    from bot.fetch import fetch_sources

    if not config.sources:
        raise click.ClickException(f"no sources configured: add [[sources]] to {config.path}")
    with open_store(config) as store:
        results = fetch_sources(store, config.sources)
    rows = [[r.source, str(r.new), str(r.updated), str(r.unchanged), r.error or "ok"] for r in results]
    click.echo(table(rows, ["SOURCE", "NEW", "UPDATED", "UNCHANGED", "STATUS"]))
    failed = [r for r in results if r.error]
    if failed:
        for r in failed:
            click.echo(f"Error: source {r.source} failed: {r.error}", err=True)
        sys.exit(1)


@cli.command()
@click.option(
    "--json", "as_json", is_flag=True, help="JSON lines: id, title, abstract, authors, url, source, published, upvotes."
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
    help="JSONL: name and any of keywords, exclude, like, dislike, authors, trend.",
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
@config_option
def refit(config: Config) -> None:
    """Fit the ranking's vectorizer again on the newest listings and save it.

    `bot digest` refits by itself when the saved vectorizer is older than [rank] refresh_days; run
    this from cron or after a large import to refit now. Listings are only transformed in between.

    \b
    Example:
        bot refit
    """
    from bot.rank.model import current_model

    now = datetime.now(UTC)
    path = Path(config.rank.model_path)
    with open_store(config) as store:
        model = current_model(
            path,
            lambda n: store.listings(limit=n),
            window=config.rank.window,
            max_age=timedelta(days=config.rank.refresh_days),
            now=now,
            force=True,
        )
    if model is None:
        raise click.ClickException("nothing to fit: the store has no listings with words to learn (run: bot fetch)")
    terms = len(model.vectorizer.vocabulary_)
    click.echo(f"Fitted on {model.documents} listings ({terms} terms) at {now:%Y-%m-%d %H:%M} UTC; saved to {path}")


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
@config_option
def digest(config: Config, profile_name: str | None, dry_run: bool) -> None:
    """Make each profile's digest for its current period and deliver it.

    A digest holds the best papers the profile has not been sent yet, so running this twice sends
    nothing new the second time. Exits 1 if a delivery failed.

    \b
    Example:
        bot digest --profile decoding --dry-run
    """
    from bot.channels import make_channels
    from bot.deliver import deliver_pending
    from bot.digest import compose_digests

    now = datetime.now(UTC)
    with open_store(config) as store:
        profiles = [store.profile(profile_name)] if profile_name else store.profiles()
        if not profiles:
            raise click.ClickException('no profiles: add one with `bot profile add NAME --keywords "..."`')
        composed = compose_digests(
            store,
            profiles,
            now=now,
            max_age_days=config.digest.max_age_days,
            message_domain=parseaddr(config.email.sender)[1].rpartition("@")[2] or "localhost",
            dry_run=dry_run,
            model_path=Path(config.rank.model_path),
            window=config.rank.window,
            refresh=timedelta(days=config.rank.refresh_days),
        )
        if dry_run:
            _print_dry_run(composed)
            return
        channels = make_channels(config)
        outcomes = deliver_pending(
            store,
            channels.notifiers,
            sender=config.email.sender,
            abstract_chars=config.digest.abstract_chars,
            profile=profile_name,
            now=now,
        )
    rows = []
    for c in composed:
        if c.items:
            best, _score, why = c.items[0]
            rows.append([c.profile.name, str(len(c.items)), cut(best.title, 50), cut(", ".join(why), 40)])
        else:
            note = f"already sent for {c.period}" if c.status == "already composed" else "nothing new"
            rows.append([c.profile.name, "0", f"({note})", ""])
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


def _print_dry_run(composed: list) -> None:
    for c in composed:
        if not c.items:
            note = f"already sent for {c.period}" if c.status == "already composed" else "nothing new"
            click.echo(f"{c.profile.name} ({c.period}): {note}")
            continue
        click.echo(
            f"{c.profile.name} ({c.period}) would get {len(c.items)} paper(s) via {', '.join(c.profile.channels)}:"
        )
        for position, (item, score, why) in enumerate(c.items, start=1):
            click.echo(f"  {position:>2}. {score:.3f}  {cut(item.title, 70)}")
            click.echo(f"      why: {', '.join(why)}")


def main() -> None:
    cli(prog_name="bot")
