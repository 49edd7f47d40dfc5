"""The terminal door: `bot fetch`, `bot digest`, `bot rank`, `bot listings`, `bot profile ...`, `bot source ...`.

Each command parses its options, calls one room, and prints. Nothing here imports scikit-learn at
start-up: only the commands that rank do, inside their functions.
"""

from __future__ import annotations

import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config

# The commands that live in modules of their own, imported only when named (or listed by --help),
# so `bot profile list` does not pay for every other command's imports.
LAZY_COMMANDS = {
    "digest": "bot.cli.digest:digest",
    "profile": "bot.cli.profile:profile",
    "retry": "bot.cli.run:retry",
    "run": "bot.cli.run:run",
    "serve": "bot.cli.serve:serve",
    "slack": "bot.cli.serve:slack",
    "source": "bot.cli.source:source",
    "status": "bot.cli.run:status",
}


class LazyGroup(click.Group):
    """click's documented lazy-loading group: the commands of LAZY_COMMANDS are imported on lookup."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, name = LAZY_COMMANDS[cmd_name].partition(":")
        command: Any = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bot")
def cli() -> None:
    """Daily digests of the new papers that match your interests.

    \b
    Quick start:
        bot profile add decoding --keywords "speculative decoding, draft model"
        bot fetch
        bot digest
    """


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
    from bot.flow.pipeline import Pipeline

    with open_store(config) as store:
        pipeline = Pipeline.from_config(config, store)
        sources, _hidden = pipeline.sources()
        if not sources:
            raise click.ClickException(
                f"no sources configured: add [[sources]] to {config.path} or run `bot source add`"
            )
        with fetch_progress([s.name for s in sources]) as progress:
            results = pipeline.fetch(sources, progress=progress)
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
        items = store.listings(limit=limit)
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
    from bot.flow.pipeline import Pipeline

    now = datetime.now(UTC)
    with open_store(config) as store:
        model = Pipeline.from_config(config, store).refit(now)
    if model is None:
        raise click.ClickException("nothing to fit: the store has no listings with words to learn (run: bot fetch)")
    terms = len(model.vectorizer.vocabulary_)
    fitted = f"Fitted on {model.documents} listings ({terms} terms) at {model.fitted_at:%Y-%m-%d %H:%M} UTC"
    # Another worker's refit that finished while this one waited is used rather than fitted twice.
    click.echo(f"{fitted}; stored as model version {model.version}, cached in {config.rank.model_path}")


@cli.command()
@click.argument("profile_name", metavar="PROFILE")
@click.argument("listing_id")
@click.argument("vote", type=click.Choice(["up", "down"]))
@config_option
def feedback(config: Config, profile_name: str, listing_id: str, vote: str) -> None:
    """Say a paper was what PROFILE wants (up) or not (down); later digests learn from it.

    LISTING_ID is an id from `bot listings`, or an arXiv id or link.

    \b
    Example:
        bot feedback decoding title:0f3c2a1b9d8e7f60 up
        bot feedback decoding https://arxiv.org/abs/2403.09612 down
    """
    from bot.keys import listing_ref

    listing_id = listing_ref(listing_id)
    with open_store(config) as store:
        store.record_feedback(
            store.profile(profile_name), listing_id, 1 if vote == "up" else -1, voter="cli", via="cli"
        )
    click.echo(
        f"Recorded 👍 for {listing_id} in {profile_name}"
        if vote == "up"
        else f"Recorded 👎 for {listing_id} in {profile_name}"
    )


def main() -> None:
    cli(prog_name="bot")
